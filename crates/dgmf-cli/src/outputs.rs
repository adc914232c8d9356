//! Output files: checked before the prediction runs (writable directory, not a device, no two flags naming
//! one file), then each written whole or not at all (`npy::write_atomically`).

use std::path::{Path, PathBuf};

use dgmf::{Error, Prediction, Request};
use dgmf_cli::npy;

use crate::terminal::json_text;
use crate::{invalid, PredictArgs};

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
    if let Some(p) = a.params_file.as_deref() {
        inputs.push(("--params-file", p));
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
    req: &Request,
    pred: &Prediction,
    walls: &[f64],
) -> Result<Vec<String>, Error> {
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
        let fields = [("mean", Some(&pred.mean)), ("std", pred.std.as_ref())];
        for (what, field) in fields {
            if let Some(field) = field {
                let path = png_path(prefix, what);
                dgmf_cli::picture::write_png(&path, field)?;
                written.push(format!("{what:<10} -> {}", path.display()));
            }
        }
    }
    Ok(written)
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
    });
    json_text(&value) + "\n"
}
