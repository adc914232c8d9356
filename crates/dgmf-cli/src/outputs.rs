//! Output files: checked before the prediction runs (writable directory, not a device, no two flags naming
//! one file), then each written whole or not at all (`npy::write_atomically`).

use std::path::{Path, PathBuf};

use dgmf::contract::{Contract, Fidelity};
use dgmf::{Error, FidelityValue, Prediction, Request};
use dgmf_cli::npy;
use dgmf_cli::picture::{Beside, Figure};

use crate::reference::Compared;

use crate::terminal::json_text;
use crate::{invalid, Job, PredictArgs};

/// The output files a request names, with their flags (`--png PREFIX` names PREFIX_mean.png, and
/// PREFIX_std.png when there is a std field).
pub(crate) fn outputs(a: &PredictArgs) -> Vec<(&'static str, PathBuf)> {
    let mut list: Vec<(&'static str, PathBuf)> = [
        ("--out", &a.out),
        ("--std", &a.std),
        ("--all-samples", &a.all_samples),
        ("--report-json", &a.report_json),
    ]
    .into_iter()
    .filter_map(|(flag, p)| p.clone().map(|p| (flag, p)))
    .collect();
    if let Some(prefix) = &a.png {
        list.push(("--png", png_path(prefix, "mean")));
        if a.samples > 1 {
            list.push(("--png", png_path(prefix, "std")));
        }
    }
    list
}

/// PREFIX_what.png.
fn png_path(prefix: &Path, what: &str) -> PathBuf {
    let mut name = prefix.as_os_str().to_owned();
    name.push(format!("_{what}.png"));
    PathBuf::from(name)
}

/// Checks, before the model is loaded and the (possibly long) prediction runs, that every output can be
/// written: its directory exists and accepts a new file (tried, so a read-only file system or missing
/// permission shows now, for root too), the path is not a directory or a device, and no two flags name
/// the same file (compared as canonical directory + file name, so `./a.npy` and `a.npy` are one file).
pub(crate) fn check_outputs(a: &PredictArgs) -> Result<(), Error> {
    let list = outputs(a);
    let outs: Vec<(&str, &Path)> = list.iter().map(|(f, p)| (*f, p.as_path())).collect();
    let mut inputs = vec![("the model", a.model.as_path())];
    for (flag, p) in [
        ("--params-file", &a.params_file),
        ("--coords-file", &a.coords_file),
        ("--reference", &a.reference),
    ] {
        if let Some(p) = p.as_deref() {
            inputs.push((flag, p));
        }
    }
    check_output_paths(&outs, &inputs, &[])
}

/// The output rules every command shares (`predict`, `calibrate`): each output in `outputs` (flag, path)
/// can be written, names a regular file or nothing yet, no two name the same file, and none names one of
/// `inputs` (what the command reads: writing over it first would destroy it), except the flags in
/// `may_replace`: outputs written atomically from bytes read before, so the original stays whole on any
/// failure (`dgmf calibrate --out MODEL` recalibrates in place).
pub(crate) fn check_output_paths(
    outputs: &[(&str, &Path)],
    inputs: &[(&str, &Path)],
    may_replace: &[&str],
) -> Result<(), Error> {
    let mut seen: Vec<(&str, &Path, PathBuf)> = Vec::new();
    for &(flag, path) in outputs {
        let bad = |why: String| {
            Error::new(
                dgmf::ErrorKind::Io,
                format!("{flag} {}: {why}", path.display()),
            )
        };
        if path.file_name().is_none() || path.as_os_str().as_encoded_bytes().ends_with(b"/") {
            return Err(bad(
                "not a file name: give a path that ends in a file name, such as out.npy".into(),
            ));
        }
        // What the write replaces: the path, or the file a symbolic link there leads to.
        let resolved = npy::output_target(path)
            .map_err(|e| Error::new(dgmf::ErrorKind::Io, format!("{flag} {}", e.message())))?;
        let name = resolved.file_name().unwrap_or(path.as_os_str());
        let dir = npy::parent_dir(&resolved);
        let cannot = |why: String| {
            bad(format!(
                "cannot write into the directory {}: {why}; create it or choose another path",
                dir.display()
            ))
        };
        let meta = std::fs::metadata(dir).map_err(|e| cannot(e.to_string()))?;
        if !meta.is_dir() {
            return Err(cannot("it is not a directory".into()));
        }
        let canonical = std::fs::canonicalize(dir).map_err(|e| cannot(e.to_string()))?;
        let target = canonical.join(name);
        if let Ok(m) = std::fs::symlink_metadata(&target) {
            if m.is_dir() {
                return Err(bad(
                    "it is a directory: give a file path, such as DIR/out.npy".into(),
                ));
            }
            if !m.is_file() {
                return Err(bad(
                    "it is not a regular file (a device, FIFO or socket): outputs are written to a \
                     temporary file that then replaces the target, so name a regular file"
                        .into(),
                ));
            }
        }
        // The same kind of file as the real write creates; removed again at once.
        tempfile::Builder::new()
            .prefix(".dgmf-")
            .suffix(".tmp")
            .tempfile_in(&canonical)
            .map_err(|e| cannot(e.to_string()))?;
        if let Some((other, other_path, _)) = seen.iter().find(|(_, _, t)| *t == target) {
            return Err(invalid(format!(
                "{other} {} and {flag} {} name the same file: give each output its own path",
                other_path.display(),
                path.display()
            )));
        }
        for &(what, input) in inputs {
            let same = std::fs::canonicalize(input)
                .is_ok_and(|i| i == target || std::fs::canonicalize(&target).is_ok_and(|t| t == i));
            if same && !may_replace.contains(&flag) {
                return Err(invalid(format!(
                    "{flag} {} is {what} ({}): writing there would destroy it; give another path",
                    path.display(),
                    input.display()
                )));
            }
        }
        seen.push((flag, path, target));
    }
    Ok(())
}

/// Writes the output files that were asked for; returns the report lines naming them.
pub(crate) fn write_outputs(
    a: &PredictArgs,
    c: &Contract,
    job: &Job,
    pred: &Prediction,
    walls: &[f64],
    reference: Option<&Compared>,
) -> Result<Vec<String>, Error> {
    let (req, sweep) = (&job.request, job.sweep.as_ref());
    let n_q = pred.mean.shape()[0];
    let mut written = Vec::new();
    if let Some(path) = &a.report_json {
        let json = report_json(req, pred, n_q, walls);
        npy::write_atomically(path, |w| w.write_all(json.as_bytes()))?;
    }
    if let Some(path) = &a.out {
        npy::write_array(path, &pred.mean)?;
        written.push(format!(
            "mean       -> {} {:?}",
            path.display(),
            pred.mean.shape()
        ));
    }
    if let Some(path) = &a.std {
        let std = pred.std.as_ref().ok_or_else(|| {
            Error::new(
                dgmf::ErrorKind::Internal,
                "the prediction has no std field although --samples is 2 or more",
            )
        })?;
        npy::write_array(path, std)?;
        written.push(format!(
            "std        -> {} {:?}",
            path.display(),
            std.shape()
        ));
    }
    if let Some(path) = &a.all_samples {
        let all = pred.samples.as_ref().ok_or_else(|| {
            Error::new(
                dgmf::ErrorKind::Internal,
                "the prediction kept no samples although --all-samples was given",
            )
        })?;
        npy::write_array(path, all)?;
        written.push(format!(
            "samples    -> {} {:?}",
            path.display(),
            all.shape()
        ));
    }
    if let Some(prefix) = &a.png {
        // The std picture shows |mean − reference| beside the std, the mean picture the reference and each
        // query's error in its caption.
        let error = reference
            .filter(|_| pred.std.is_some())
            .map(|r| crate::reference::abs_error(&pred.mean, &r.field));
        let fields = [
            (
                "mean",
                Some(&pred.mean),
                reference.map(|r| &r.field),
                "reference",
                reference.map(|r| &r.errors[..]),
            ),
            (
                "std",
                pred.std.as_ref(),
                error.as_ref(),
                "|mean - reference|",
                None,
            ),
        ];
        for (what, field, beside, label, errors) in fields {
            if let Some(field) = field {
                let path = png_path(prefix, what);
                let text = FigureText::new(a, c, req, sweep, pred, what, errors);
                let fig = Figure {
                    title: text.title,
                    sample_shape: &c.shape,
                    captions: text.captions,
                    rows_caption: text.rows_caption,
                    quantity: what.into(),
                    beside: beside.map(|b| Beside {
                        field: b,
                        labels: [what.into(), label.into()],
                    }),
                };
                dgmf_cli::picture::write_png(&path, field, &fig)?;
                written.push(format!("{what:<10} -> {}", path.display()));
            }
        }
    }
    Ok(written)
}

/// `x` in at most 4 significant digits, for captions (the .npy outputs and the query files keep them all).
fn short(x: f64) -> String {
    if x == 0.0 {
        "0".into()
    } else if (1e-3..1e5).contains(&x.abs()) {
        let digits = (3 - x.abs().log10().floor() as i32).max(0) as usize;
        let s = format!("{x:.digits$}");
        if s.contains('.') {
            s.trim_end_matches('0').trim_end_matches('.').to_string()
        } else {
            s
        }
    } else {
        format!("{x:.3e}")
    }
}

/// The words of a picture: its title, a caption per query, and the caption of a stacked 1-D picture.
struct FigureText {
    title: Vec<String>,
    captions: Vec<String>,
    rows_caption: String,
}

impl FigureText {
    fn new(
        a: &PredictArgs,
        c: &Contract,
        req: &Request,
        sweep: Option<&(Vec<f64>, Vec<f64>)>,
        pred: &Prediction,
        what: &str,
        errors: Option<&[Option<f64>]>,
    ) -> FigureText {
        let model = a.model.file_name().map_or_else(
            || a.model.display().to_string(),
            |n| n.to_string_lossy().into_owned(),
        );
        let field = match (what, req.n_samples) {
            ("std", n) => format!("std of {n} samples (the model's calibration applied)"),
            (_, 1) => format!("one sample (seed {})", req.seed),
            (_, n) => format!("mean of {n} samples"),
        };
        let fidelity = match (req.queries.first().map(|q| q.fidelity), &c.fidelity) {
            (Some(FidelityValue::Level(l)), Fidelity::Discrete { labels, .. }) => {
                match labels.as_ref().and_then(|v| v.get(l)) {
                    Some(label) => format!("fidelity {l} ({label})"),
                    None => format!("fidelity {l}"),
                }
            }
            (Some(FidelityValue::Value(v)), _) => format!("fidelity {v}"),
            _ => String::new(),
        };
        let title = vec![
            format!("{model}: {field}"),
            format!(
                "{fidelity}, sampler {} ({} NFE per sample)",
                req.sampler.spec(),
                pred.nfe
            ),
        ];
        let named = |vars: &[dgmf::contract::Variable], values: &[f64]| {
            vars.iter()
                .zip(values)
                .map(|(v, x)| format!("{}={}", v.name, short(*x)))
                .collect::<Vec<_>>()
                .join(" ")
        };
        let n = pred.mean.shape()[0];
        let captions: Vec<String> = (0..n)
            .map(|q| {
                let text = match sweep {
                    Some((params, values)) => format!(
                        "{} {}",
                        named(&c.params, params),
                        named(&c.coords, &values[q..=q])
                    ),
                    None => {
                        let query = &req.queries[q];
                        format!(
                            "{} {}",
                            named(&c.params, &query.params),
                            named(&c.coords, &query.coords)
                        )
                    }
                };
                match errors.and_then(|e| e[q]) {
                    Some(e) => format!("{} rel.L2={:.2}%", text.trim(), 100.0 * e),
                    None => text.trim().to_string(),
                }
            })
            .collect();
        let rows_caption = match sweep {
            Some((params, values)) => format!(
                "{}; rows: {} = {} (bottom) to {} (top)",
                named(&c.params, params),
                c.coords.first().map_or("coordinate", |v| v.name.as_str()),
                short(values.first().copied().unwrap_or(0.0)),
                short(values.last().copied().unwrap_or(0.0))
            ),
            None if n == 1 => captions[0].clone(),
            None => format!("rows: queries 0 (bottom) to {} (top)", n - 1),
        };
        FigureText {
            title,
            captions,
            rows_caption,
        }
    }
}

pub(crate) fn report_json(
    req: &Request,
    p: &Prediction,
    n_queries: usize,
    walls: &[f64],
) -> String {
    let ms = |d: std::time::Duration| d.as_secs_f64() * 1e3;
    let value = serde_json::json!({
        "sampler": req.sampler.kind.name(),
        "steps": req.sampler.steps,
        "queries": n_queries,
        "samples": req.n_samples,
        "nfe": p.nfe,
        "network_calls": p.network_calls,
        "wall_ms": ms(p.wall),
        "ort_ms": ms(p.network_time),
        "wall_ms_runs": walls,
        "std_rms": p.std_rms(),
    });
    json_text(&value) + "\n"
}

#[cfg(test)]
mod tests {
    #[test]
    fn captions_show_four_significant_digits() {
        let cases = [
            (0.43528046, "0.4353"),
            (0.1, "0.1"),
            (2.0, "2"),
            (-31.41592, "-31.42"),
            (12345.6, "12346"),
            (0.0, "0"),
            (1.5e-7, "1.500e-7"),
            (3e9, "3.000e9"),
        ];
        for (x, want) in cases {
            assert_eq!(super::short(x), want, "{x}");
        }
    }
}
