//! Minimal NumPy `.npy` I/O (format 1.0/2.0): writes float32 C-order arrays, reads float32/float64
//! C-order arrays. Enough for the CLI's query files and outputs, without pulling in ndarray.

use std::io::Write;
use std::path::Path;

use crate::error::{Error, ErrorKind, Result};

fn io_err(path: &Path, e: impl std::fmt::Display) -> Error {
    Error::new(ErrorKind::Io, format!("{}: {e}", path.display()))
}

/// Writes `data` with `shape` as a little-endian float32 C-order `.npy` file.
pub fn write_f32(path: &Path, shape: &[usize], data: &[f32]) -> Result<()> {
    if shape.iter().product::<usize>() != data.len() {
        return Err(Error::internal(format!(
            "npy: shape {shape:?} does not hold {} values",
            data.len()
        )));
    }
    let dims: Vec<String> = shape.iter().map(|d| d.to_string()).collect();
    let tuple = if dims.len() == 1 {
        format!("({},)", dims[0])
    } else {
        format!("({})", dims.join(", "))
    };
    let mut header = format!("{{'descr': '<f4', 'fortran_order': False, 'shape': {tuple}, }}");
    // Pad so that magic (6) + version (2) + length (2) + header + '\n' is a multiple of 64.
    let pad = 64 - (10 + header.len() + 1) % 64;
    header.push_str(&" ".repeat(pad % 64));
    header.push('\n');
    let mut out = Vec::with_capacity(10 + header.len() + 4 * data.len());
    out.extend_from_slice(b"\x93NUMPY\x01\x00");
    out.extend_from_slice(&(header.len() as u16).to_le_bytes());
    out.extend_from_slice(header.as_bytes());
    for v in data {
        out.extend_from_slice(&v.to_le_bytes());
    }
    std::fs::File::create(path)
        .and_then(|mut f| f.write_all(&out))
        .map_err(|e| io_err(path, e))
}

/// Reads a float32, float64, int32 or int64 C-order `.npy` file; returns (shape, values as f64).
pub fn read_f64(path: &Path) -> Result<(Vec<usize>, Vec<f64>)> {
    let bytes = std::fs::read(path).map_err(|e| io_err(path, e))?;
    let bad = |why: &str| io_err(path, format!("not a readable .npy file: {why}"));
    if bytes.len() < 10 || &bytes[..6] != b"\x93NUMPY" {
        return Err(bad("missing the \\x93NUMPY magic"));
    }
    let (len, start) = match bytes[6] {
        1 => (u16::from_le_bytes([bytes[8], bytes[9]]) as usize, 10),
        2 | 3 if bytes.len() >= 12 => (
            u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]) as usize,
            12,
        ),
        v => return Err(bad(&format!("unsupported format version {v}"))),
    };
    let header = bytes
        .get(start..start + len)
        .ok_or_else(|| bad("truncated header"))?;
    let header = std::str::from_utf8(header).map_err(|_| bad("header is not text"))?;
    let field = |key: &str| -> Option<&str> {
        let at = header.find(&format!("'{key}'"))? + key.len() + 2;
        Some(header[at..].trim_start_matches([':', ' ']))
    };
    let descr = field("descr").ok_or_else(|| bad("no descr"))?;
    let kind = ["'<f8'", "'<f4'", "'<i8'", "'<i4'"]
        .iter()
        .position(|d| descr.starts_with(d))
        .ok_or_else(|| {
            bad("only little-endian float32/float64 ('<f4', '<f8') and int32/int64 ('<i4', '<i8') arrays are supported")
        })?;
    let width = [8, 4, 8, 4][kind];
    if field("fortran_order").is_some_and(|v| v.starts_with("True")) {
        return Err(bad(
            "Fortran-order arrays are not supported; save with np.ascontiguousarray",
        ));
    }
    let shape_text = field("shape").ok_or_else(|| bad("no shape"))?;
    let inner = shape_text
        .trim_start_matches('(')
        .split(')')
        .next()
        .unwrap_or("");
    let shape: Vec<usize> = inner
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| s.parse::<usize>().map_err(|_| bad("malformed shape")))
        .collect::<Result<_>>()?;
    let body = &bytes[start + len..];
    let count: usize = shape.iter().product();
    if body.len() != count * width {
        return Err(bad(&format!(
            "shape {shape:?} needs {} data bytes, file has {}",
            count * width,
            body.len()
        )));
    }
    let values = match kind {
        0 => body
            .chunks_exact(8)
            .map(|b| f64::from_le_bytes(b.try_into().expect("8 bytes")))
            .collect(),
        1 => body
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes(b.try_into().expect("4 bytes")) as f64)
            .collect(),
        2 => body
            .chunks_exact(8)
            .map(|b| i64::from_le_bytes(b.try_into().expect("8 bytes")) as f64)
            .collect(),
        _ => body
            .chunks_exact(4)
            .map(|b| i32::from_le_bytes(b.try_into().expect("4 bytes")) as f64)
            .collect(),
    };
    Ok((shape, values))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_float32() {
        let dir = std::env::temp_dir().join(format!("dgmf-npy-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        for shape in [vec![5], vec![2, 3], vec![1, 2, 2, 1]] {
            let data: Vec<f32> = (0..shape.iter().product::<usize>())
                .map(|i| i as f32 * 0.5 - 1.0)
                .collect();
            let p = dir.join("a.npy");
            write_f32(&p, &shape, &data).unwrap();
            let raw = std::fs::read(&p).unwrap();
            assert_eq!(
                (raw.len() - 4 * data.len()) % 64,
                0,
                "header aligned to 64 bytes"
            );
            let (s, v) = read_f64(&p).unwrap();
            assert_eq!(s, shape);
            assert_eq!(v, data.iter().map(|&x| x as f64).collect::<Vec<_>>());
        }
        std::fs::write(dir.join("bad.npy"), b"hello").unwrap();
        assert!(read_f64(&dir.join("bad.npy"))
            .unwrap_err()
            .message()
            .contains("magic"));
        std::fs::remove_dir_all(&dir).ok();
    }

    #[test]
    fn reads_integer_arrays() {
        let dir = std::env::temp_dir().join(format!("dgmf-npy-int-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let header = |descr: &str| {
            let mut h = format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': (3,), }}");
            while (10 + h.len() + 1) % 64 != 0 {
                h.push(' ');
            }
            h.push('\n');
            let mut out = b"\x93NUMPY\x01\x00".to_vec();
            out.extend((h.len() as u16).to_le_bytes());
            out.extend(h.as_bytes());
            out
        };
        let mut i8s = header("<i8");
        for v in [2i64, -7, 0] {
            i8s.extend(v.to_le_bytes());
        }
        let mut i4s = header("<i4");
        for v in [1i32, 5, -3] {
            i4s.extend(v.to_le_bytes());
        }
        for (bytes, want) in [(i8s, [2.0, -7.0, 0.0]), (i4s, [1.0, 5.0, -3.0])] {
            let p = dir.join("i.npy");
            std::fs::write(&p, bytes).unwrap();
            assert_eq!(read_f64(&p).unwrap(), (vec![3], want.to_vec()));
        }
        let mut u1 = header("|u1");
        u1.extend([1u8, 2, 3]);
        std::fs::write(dir.join("u.npy"), u1).unwrap();
        assert!(read_f64(&dir.join("u.npy"))
            .unwrap_err()
            .message()
            .contains("int32/int64"));
        std::fs::remove_dir_all(&dir).ok();
    }
}
