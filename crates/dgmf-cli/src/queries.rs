//! Query files (`--params-file`, `--coords-file`) and numbers on the command line: only regular files, rows
//! bounded by the memory limit before they are read, CSV streamed line by line, every value finite.

use std::path::Path;

use dgmf::Error;
use dgmf_cli::npy;

use crate::invalid;

/// One field of a number list: a finite number. `Err` says what is wrong with it.
pub(crate) fn number(field: &str) -> Result<f64, String> {
    let t = field.trim();
    if t.is_empty() {
        return Err("an empty value".into());
    }
    match t.parse::<f64>() {
        Ok(v) if v.is_finite() => Ok(v),
        Ok(_) => Err(format!(
            "`{t}` is not a finite number (NaN and infinity are not accepted)"
        )),
        Err(_) => Err(format!("`{t}` is not a number")),
    }
}

/// A comma-separated list of finite numbers from the option `--{what}`.
pub(crate) fn numbers(what: &str, text: &str) -> Result<Vec<f64>, Error> {
    text.split(',')
        .map(|t| {
            number(t).map_err(|why| {
                invalid(format!(
                    "--{what}: {why} (in `{text}`); give comma-separated numbers"
                ))
            })
        })
        .collect()
}

/// Bytes one query row of `width` values takes in memory (the values plus the `Vec` holding them).
pub(crate) fn row_bytes(width: usize) -> u64 {
    (width as u64)
        .saturating_mul(8)
        .saturating_add(std::mem::size_of::<Vec<f64>>() as u64)
}

/// Longest CSV line read: generous for any row of numbers, bounded so one line cannot take the memory.
pub(crate) fn max_line_bytes(width: usize) -> usize {
    (1usize << 20).max(width.saturating_mul(128))
}

/// Whether a CSV field can be a column name: not empty and not starting like a number (so a typo such as
/// `0.2x` or `nan` is never mistaken for a name).
pub(crate) fn is_name(field: &str) -> bool {
    match field.chars().next() {
        None => false,
        Some(c) => {
            !(c.is_ascii_digit() || matches!(c, '+' | '-' | '.')) && field.parse::<f64>().is_err()
        }
    }
}

/// Memory for the query rows read from files: they must fit in the request's memory limit together.
pub(crate) struct Budget {
    pub(crate) limit: u64,
    pub(crate) used: u64,
    /// Bytes each query's results will take in the prediction (dgmf::predict::query_bytes): a file of
    /// query rows is bounded by what its rows and their results need together, as it is read.
    pub(crate) per_query: u64,
}

impl Budget {
    pub(crate) fn left(&self) -> u64 {
        self.limit.saturating_sub(self.used)
    }
    /// The error for a file whose rows would take `need` (a phrase with the number of bytes).
    pub(crate) fn exceeded(&self, flag: &str, path: &Path, need: &str) -> Error {
        invalid(format!(
            "{flag} {}: {need}, more than the memory limit (--memory-limit {} MiB) leaves for the queries: \
             split the queries into smaller runs or raise --memory-limit",
            path.display(),
            self.limit >> 20
        ))
    }
}

/// Reads a query file (`flag` names it in messages: "--params-file"): a `.npy` array [n, width] (or [width]
/// for one row), or CSV text with `width` comma-separated numbers per line. Only regular files are read,
/// and the rows must fit in what is left of `budget` (checked from the file's size before reading).
/// `queries` says whether each row is a query of its own (the parameter file: its results count against
/// the budget too) or belongs to one already counted (the coordinate file).
pub(crate) fn read_queries(
    path: &Path,
    flag: &str,
    width: usize,
    noun: &str,
    budget: &mut Budget,
    queries: bool,
) -> Result<Vec<Vec<f64>>, Error> {
    let bad = |why: String| invalid(format!("{flag} {}: {why}", path.display()));
    if width == 0 {
        return Err(bad(format!("the model takes no {noun}; leave {flag} out")));
    }
    let per_row = row_bytes(width).saturating_add(if queries { budget.per_query } else { 0 });
    let rows: Vec<Vec<f64>> = if path.extension().is_some_and(|e| e == "npy") {
        // Refused from its size before it is read: the file holds at least this many rows (8-byte values
        // after a header of at most 64 KiB), each with its results; then from its shape, exactly.
        let file_bytes = std::fs::metadata(path).map_or(0, |m| m.len());
        let at_least = file_bytes.saturating_sub(65_546) / (8 * width as u64).max(1);
        if file_bytes > budget.left() || at_least.saturating_mul(per_row) > budget.left() {
            let what = format!(
                "it holds {file_bytes} bytes, at least {at_least} rows that with their results need \
                 {} bytes",
                at_least.saturating_mul(per_row)
            );
            return Err(budget.exceeded(flag, path, &what));
        }
        let a = npy::read(path, flag, budget.left())?;
        let shape = a.shape().to_vec();
        let n = match shape.as_slice() {
            [n, cols] if *cols == width => *n,
            [cols] if *cols == width => 1,
            _ => {
                return Err(bad(format!(
                "array of shape {shape:?}; expected [n_queries, {width}] ({width} {noun} per row)"
            )))
            }
        };
        // The flat values, then the same values as rows.
        let need = (a.len() as u64)
            .saturating_mul(8)
            .saturating_add((n as u64).saturating_mul(per_row));
        if need > budget.left() {
            let what = format!("its {n} rows of {width} values need {need} bytes in memory");
            return Err(budget.exceeded(flag, path, &what));
        }
        let v = a.into_raw_vec_and_offset().0;
        let rows: Vec<Vec<f64>> = v.chunks_exact(width).map(<[f64]>::to_vec).collect();
        for (i, row) in rows.iter().enumerate() {
            if let Some(j) = row.iter().position(|x| !x.is_finite()) {
                return Err(bad(format!(
                    "row {i}, column {j} is {}: NaN and infinity are not accepted",
                    row[j]
                )));
            }
        }
        rows
    } else {
        read_csv(path, flag, width, noun, budget, per_row)?
    };
    if rows.is_empty() {
        return Err(bad("no queries in the file".into()));
    }
    budget.used = budget
        .used
        .saturating_add((rows.len() as u64).saturating_mul(per_row));
    Ok(rows)
}

/// CSV query rows, read line by line. A leading UTF-8 BOM is skipped; blank lines and `#` comments are
/// skipped; the first other line is a header when every field is a name ([`is_name`]); every other line
/// must hold exactly `width` finite numbers, or the file is refused with the line number and the field.
pub(crate) fn read_csv(
    path: &Path,
    flag: &str,
    width: usize,
    noun: &str,
    budget: &Budget,
    per_row: u64,
) -> Result<Vec<Vec<f64>>, Error> {
    use std::io::{BufRead, Read};
    let bad = |why: String| invalid(format!("{flag} {}: {why}", path.display()));
    let left = budget.left();
    let (file, len) = dgmf::input_file::open_regular(path, flag, dgmf::ErrorKind::Io)?;
    if len > left {
        return Err(budget.exceeded(flag, path, &format!("it holds {len} bytes")));
    }
    // `take`: a file that grows while it is read stops at the budget instead of being read without end.
    let mut reader = std::io::BufReader::new(file.take(left.saturating_add(1)));
    let max_line = max_line_bytes(width);
    let (mut rows, mut used, mut read) = (Vec::new(), 0u64, 0u64);
    let mut seen_first = false;
    let mut line = Vec::new();
    for line_no in 1.. {
        line.clear();
        let n = (&mut reader)
            .take(max_line as u64 + 1)
            .read_until(b'\n', &mut line)
            .map_err(|e| bad(format!("line {line_no}: {e}")))?;
        if n == 0 {
            break;
        }
        read += n as u64;
        if read > left {
            return Err(budget.exceeded(flag, path, "it grew while being read"));
        }
        if line.len() > max_line {
            return Err(bad(format!(
                "line {line_no} is longer than {max_line} bytes: not a row of {width} numbers"
            )));
        }
        let text = std::str::from_utf8(&line)
            .map_err(|_| bad(format!("line {line_no} is not UTF-8 text")))?;
        let text = if line_no == 1 {
            text.strip_prefix('\u{feff}').unwrap_or(text)
        } else {
            text
        };
        let text = text.trim();
        if text.is_empty() || text.starts_with('#') {
            continue;
        }
        let first = !seen_first;
        seen_first = true;
        let Some(row) =
            csv_row(text, first, width, noun).map_err(|why| bad(format!("line {line_no}{why}")))?
        else {
            continue; // the header line
        };
        used = used.saturating_add(per_row);
        if used > left {
            let what = format!(
                "its first {} rows need {used} bytes with their results",
                rows.len() + 1
            );
            return Err(budget.exceeded(flag, path, &what));
        }
        rows.push(row);
    }
    Ok(rows)
}

/// One non-empty CSV line as a row of `width` numbers, or `None` for a header line of names (accepted only
/// as the `first` line). The error text continues "line N".
fn csv_row(text: &str, first: bool, width: usize, noun: &str) -> Result<Option<Vec<f64>>, String> {
    let fields: Vec<&str> = text.split(',').map(str::trim).collect();
    if first && fields.iter().all(|f| is_name(f)) {
        if fields.len() != width {
            let n = fields.len();
            return Err(format!(
                ": the header names {n} columns, expected {width} ({noun})"
            ));
        }
        return Ok(None);
    }
    let hint = if first {
        " (a header line holds only names, none starting like a number)"
    } else {
        ""
    };
    let row = fields
        .iter()
        .enumerate()
        .map(|(j, f)| {
            number(f).map_err(|why| {
                let field = j + 1;
                format!(", field {field}: {why}; each row must be {width} comma-separated numbers{hint}")
            })
        })
        .collect::<Result<Vec<f64>, String>>()?;
    if row.len() != width {
        return Err(format!(": {} values, expected {width} ({noun})", row.len()));
    }
    Ok(Some(row))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_numbers_in_csv_fields() {
        for f in ["a", "param_1", "\"b\"", "x0"] {
            assert!(is_name(f), "{f}");
        }
        for f in [
            "",
            "0.1",
            "0.2x",
            "-a",
            "+1",
            ".5",
            "nan",
            "NaN",
            "inf",
            "-Infinity",
            "1e5",
        ] {
            assert!(!is_name(f), "{f}");
        }
        assert_eq!(number(" 0.25 "), Ok(0.25));
        assert!(number("nan").unwrap_err().contains("not a finite number"));
        assert!(number("1e400").unwrap_err().contains("not a finite number"));
        assert!(number("").unwrap_err().contains("empty"));
    }
}
