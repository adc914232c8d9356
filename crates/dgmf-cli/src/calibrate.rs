//! `dgmf calibrate`: run the model on held-out cases, compare its ensemble std with the actual error, fit
//! `dgmf.std_scale` (dgmf_cli::calibration says how and why) and write it into a copy of the model.

use std::path::Path;

use dgmf::contract::Contract;
use dgmf::ndarray::ArrayD;
use dgmf::{Error, Model, Query, Request};
use dgmf_cli::coverage::{conformal_scale, report, Points, Report, TWO_SIGMA};
use dgmf_cli::npy;

use crate::args::CalibrateArgs;
use crate::terminal::{json_text, Out};
use crate::{invalid, session_options};

/// Samples per case unless `--samples` says otherwise (for a deep ensemble, rounded up to a multiple of
/// its member count).
const DEFAULT_SAMPLES: usize = 16;

/// The held-out cases: one query per row, the reference solutions, and each row's case.
struct Cases {
    queries: Vec<Query>,
    reference: Vec<f64>,
    case: Vec<usize>,
}

pub(crate) fn calibrate(a: &CalibrateArgs) -> Result<(), Error> {
    check_args(a)?;
    let model = Model::load(&a.model, &session_options(&a.rt)?)?;
    let c = model.contract();
    let samples = a.samples.unwrap_or(c.balanced_samples(DEFAULT_SAMPLES));
    let cases = read_cases(&a.data, c, a.limit)?;
    let sampler = crate::sampler_config(&a.sampling, c)?;
    let mut req = Request::new(cases.queries.clone(), sampler);
    req.n_samples = samples;
    req.seed = a.seed;
    // Checked before the warning, which is for a calibration that runs.
    req.validate(c)?;
    crate::warn_uneven_members(c, samples, "the fitted scale and the coverage are");
    let pred = model.predict(&req, None)?;
    let std = pred
        .std
        .as_ref()
        .ok_or_else(|| invalid("no std: --samples must be 2 or more".into()))?;
    // Per point: the std as the model reports it (its current calibration, if any), and as sampled.
    let n = c.sample_len();
    let reported: Vec<f64> = std.iter().map(|&s| s as f64).collect();
    let raw: Vec<f64> = reported
        .iter()
        .enumerate()
        .map(|(i, s)| s / c.std_scale_for(cases.queries[i / n].fidelity.level()) as f64)
        .collect();
    let mean: Vec<f64> = pred.mean.iter().map(|&v| v as f64).collect();
    let case: Vec<usize> = cases
        .case
        .iter()
        .flat_map(|&c| std::iter::repeat(c).take(n))
        .collect();
    let points = |std| Points {
        mean: &mean,
        std,
        reference: &cases.reference,
        case: &case,
    };
    let before = report(&points(&reported), 1.0);
    let sampled = report(&points(&raw), 1.0);
    let k = conformal_scale(&points(&raw), TWO_SIGMA).ok_or_else(|| {
        invalid(format!(
            "--data {}: cannot fit a std scale: no point has a non-zero std and a non-zero error",
            a.data.display()
        ))
    })?;
    // The value written, rounded to float32 as the engine reads it; it must also keep every std finite.
    let k = k as f32;
    let largest = raw.iter().fold(0f64, |m, &s| m.max(s));
    if !(k.is_finite() && k > 0.0 && (k as f64 * largest) < f32::MAX as f64) {
        return Err(invalid(format!(
            "--data {}: the fitted std scale is {k:e}, which no model can hold (it must be a positive float32 \
             that keeps the largest std, {largest:e}, finite): the reference solutions' errors are too \
             large for float32 — check u.npy's units against the model's (dgmf info)",
            a.data.display()
        )));
    }
    let after = report(&points(&raw), k as f64);
    let fit = Fit {
        current: &c.std_scale,
        sampled,
        before,
        k,
        after,
    };
    // Everything is built and checked before anything is written, and success is printed only after.
    let model_bytes = match &a.out {
        Some(_) => Some(recalibrated(a, &model, k, &req)?),
        None => None,
    };
    if let Some(path) = &a.report_json {
        let json = fit_json(a, &cases, &req, &fit);
        npy::write_atomically(path, |w| w.write_all(json_text(&json).as_bytes()))?;
    }
    if let (Some(out), Some(bytes)) = (&a.out, &model_bytes) {
        npy::write_atomically(out, |w| w.write_all(bytes))?;
    }
    print_report(a, &cases, &req, &fit)?;
    Ok(())
}

/// The model file with `dgmf.std_scale = k` and the sampler it was fitted with, checked to load with the
/// same contract apart from those two entries (a file that no longer loads is never written).
fn recalibrated(a: &CalibrateArgs, model: &Model, k: f32, req: &Request) -> Result<Vec<u8>, Error> {
    use dgmf::input_file::{read_bounded, MAX_MODEL_BYTES};
    let kind = dgmf::ErrorKind::ModelLoad;
    let bytes = read_bounded(&a.model, MAX_MODEL_BYTES, "model file", kind)?;
    let edited = dgmf::onnx_header::set_metadata(&bytes, "dgmf.std_scale", &k.to_string())?;
    // The scale holds for the sampler it was fitted with: the model recommends that sampler, so
    // a caller who names none gets the std the scale was fitted for.
    let edited = dgmf::onnx_header::set_metadata(&edited, "dgmf.sampler", &req.sampler.spec())?;
    let check = Model::from_bytes(&edited, model.options()).map_err(|e| {
        Error::new(
            dgmf::ErrorKind::Internal,
            format!(
                "the recalibrated model does not load ({e}); nothing was written — please report"
            ),
        )
    })?;
    let (mut want, mut got) = (model.contract().clone(), check.contract().clone());
    (want.std_scale, want.sampler) = (vec![k], Some(req.sampler));
    (got.std_scale, got.sampler) = (vec![k], Some(req.sampler));
    if want != got || check.contract().std_scale != [k] {
        return Err(Error::new(
            dgmf::ErrorKind::Internal,
            "the recalibrated model's contract differs from the original's beyond dgmf.std_scale and \
             dgmf.sampler; nothing was written — please report",
        ));
    }
    Ok(edited)
}

/// What `calibrate` measured and fitted.
struct Fit<'a> {
    /// The model's `dgmf.std_scale` (empty: none).
    current: &'a [f32],
    /// The std as sampled (scale 1), and as the model reports it (its current scale).
    sampled: Report,
    before: Report,
    k: f32,
    after: Report,
}

/// Everything checkable before the model loads.
fn check_args(a: &CalibrateArgs) -> Result<(), Error> {
    if let Some(samples) = a.samples {
        Request::check_std_samples(samples).map_err(|e| e.context("--samples"))?;
    }
    // predict's output rules: writable directory (tried now, not after the prediction), a regular file or
    // nothing yet (never a device or FIFO), no two outputs one file, no output over an input — except
    // --out over the model, which is rewritten atomically.
    let mut outs: Vec<(&str, &Path)> = Vec::new();
    if let Some(out) = &a.out {
        outs.push(("--out", out.as_path()));
    }
    if let Some(json) = &a.report_json {
        outs.push(("--report-json", json.as_path()));
    }
    crate::outputs::check_output_paths(
        &outs,
        &[
            ("the model", a.model.as_path()),
            ("--data", a.data.as_path()),
        ],
        &["--out"],
    )
}

fn fit_json(a: &CalibrateArgs, cases: &Cases, req: &Request, fit: &Fit<'_>) -> serde_json::Value {
    serde_json::json!({
        "model": a.model.display().to_string(),
        "data": a.data.display().to_string(),
        "rows": cases.queries.len(),
        "cases": cases.case.iter().max().map_or(0, |c| c + 1),
        "samples": req.n_samples,
        "sampler": req.sampler.kind.to_string(),
        "steps": req.sampler.steps,
        "method": "split-conformal quantile of |error|/std at 95.45 %, halved",
        "current_scale": fit.current,
        "sampled": report_json(&fit.sampled),
        "before": report_json(&fit.before),
        "fitted_scale": fit.k,
        "after": report_json(&fit.after),
    })
}

fn report_json(r: &Report) -> serde_json::Value {
    serde_json::json!({
        "points": r.points,
        "exact_points": r.exact_points,
        "exact_max_error": r.exact_max_error,
        "coverage_1sigma": r.coverage_1,
        "coverage_2sigma": r.coverage_2,
        "spread_skill": r.spread_skill,
        "spearman_per_case": r.spearman,
        "mean_rel_l2": r.mean_rel_l2,
        "worst_rel_l2": r.worst_rel_l2,
    })
}

fn print_report(
    a: &CalibrateArgs,
    cases: &Cases,
    req: &Request,
    fit: &Fit<'_>,
) -> Result<(), Error> {
    let mut out = Out::new();
    let n_cases = cases.case.iter().max().map_or(0, |c| c + 1);
    let (before, after) = (&fit.before, &fit.after);
    say!(
        out,
        "data        {} ({} rows, {n_cases} cases, {} samples each)",
        a.data.display(),
        cases.queries.len(),
        req.n_samples
    );
    say!(
        out,
        "error       mean relative L2 {:.4} over the cases",
        before.mean_rel_l2
    );
    if before.exact_points > 0 {
        say!(
            out,
            "exact       {} points with std 0 (imposed by the model), largest |error| {:.3e}",
            before.exact_points,
            before.exact_max_error
        );
    }
    say!(
        out,
        "            scale    ±1σ cover  ±2σ cover  RMS(std)/RMS(err)  Spearman(case std, case err)"
    );
    let current = match fit.current {
        [] => "none".to_string(),
        s => crate::show::join(s),
    };
    for (name, s, r) in [
        ("current", current, before),
        ("fitted", fit.k.to_string(), after),
    ] {
        say!(
            out,
            "{name:<11} {s:<8} {:>8.1} % {:>8.1} %  {:>17.3}  {:>12.3}",
            100.0 * r.coverage_1,
            100.0 * r.coverage_2,
            r.spread_skill,
            r.spearman
        );
    }
    match &a.out {
        Some(p) => say!(
            out,
            "wrote       {} with dgmf.std_scale = {} and dgmf.sampler = `{}` (the sampler it holds for)",
            p.display(),
            fit.k,
            req.sampler.spec()
        ),
        None => say!(
            out,
            "fitted      dgmf.std_scale = {} (give --out FILE to write it)",
            fit.k
        ),
    }
    Ok(())
}

/// Reads the cases of `dir` (see `--data`), each array checked against the model's contract.
fn read_cases(dir: &Path, c: &Contract, limit: Option<usize>) -> Result<Cases, Error> {
    let meta = std::fs::metadata(dir).map_err(|e| {
        Error::new(
            dgmf::ErrorKind::Io,
            format!("--data {}: {e}", dir.display()),
        )
    })?;
    if !meta.is_dir() {
        return Err(invalid(format!(
            "--data {}: not a directory; give the directory that holds params.npy, fidelity.npy and \
             u.npy",
            dir.display()
        )));
    }
    let max = dgmf::predict::DEFAULT_MEMORY_LIMIT as u64;
    let read = |name: &str| npy::read(&dir.join(name), "the --data file", max);
    let bad = |why: String| invalid(format!("--data {}: {why}", dir.display()));
    let params = read("params.npy")?;
    let fidelity = read("fidelity.npy")?;
    let u = read("u.npy")?;
    let rows = fidelity.len();
    let n = rows.min(limit.unwrap_or(usize::MAX));
    if n == 0 {
        return Err(bad(
            "no rows to calibrate on (empty arrays, or --limit 0)".into()
        ));
    }
    let expect = |a: &ArrayD<f64>, name: &str, tail: &[usize]| -> Result<(), Error> {
        if a.shape().first() == Some(&rows) && a.shape()[1..] == *tail {
            Ok(())
        } else {
            let want: Vec<usize> = std::iter::once(rows).chain(tail.iter().copied()).collect();
            Err(bad(format!(
                "{name} has shape {:?}; expected {want:?} (as many rows as fidelity.npy)",
                a.shape()
            )))
        }
    };
    expect(&fidelity, "fidelity.npy", &[])?;
    expect(&params, "params.npy", &[c.params.len()])?;
    expect(&u, "u.npy", &c.shape)?;
    let coords = if c.coords.is_empty() {
        None
    } else {
        let k = read("coords.npy")?;
        expect(&k, "coords.npy", &[c.coords.len()])?;
        Some(k)
    };
    let case_file = dir.join("case.npy");
    let case: Vec<usize> = if case_file.exists() {
        let ids = read("case.npy")?;
        expect(&ids, "case.npy", &[])?;
        dense_ids(ids.iter().take(n).copied()).map_err(bad)?
    } else {
        (0..n).collect()
    };
    let row = |a: &ArrayD<f64>, i: usize| {
        a.index_axis(dgmf::ndarray::Axis(0), i)
            .iter()
            .copied()
            .collect::<Vec<f64>>()
    };
    let mut queries = Vec::with_capacity(n);
    for i in 0..n {
        let fidelity = c.fidelity_value(fidelity[[i]]).map_err(|e| {
            e.context(format_args!(
                "--data {}: fidelity.npy row {i}",
                dir.display()
            ))
        })?;
        queries.push(Query {
            params: row(&params, i),
            fidelity,
            coords: coords.as_ref().map(|k| row(k, i)).unwrap_or_default(),
        });
    }
    let reference: Vec<f64> = u.iter().take(n * c.sample_len()).copied().collect();
    if let Some(i) = reference
        .iter()
        .position(|v| !v.is_finite() || v.abs() > f32::MAX as f64)
    {
        return Err(bad(format!(
            "u.npy row {} holds {:e}: the reference solutions must be finite float32 values",
            i / c.sample_len(),
            reference[i]
        )));
    }
    Ok(Cases {
        queries,
        reference,
        case,
    })
}

/// Case ids (any integers) as dense 0-based indices in order of first appearance.
fn dense_ids(ids: impl Iterator<Item = f64>) -> Result<Vec<usize>, String> {
    let mut seen = std::collections::HashMap::new();
    ids.enumerate()
        .map(|(i, v)| {
            // Beyond 2^53 neighbouring float64 values are whole yet would be cast to one id.
            if v.fract() != 0.0 || !v.is_finite() || v.abs() > 9_007_199_254_740_992.0 {
                return Err(format!(
                    "case.npy row {i} is {v:e}; case ids are whole numbers of magnitude at most 2^53"
                ));
            }
            let next = seen.len();
            Ok(*seen.entry(v as i64).or_insert(next))
        })
        .collect()
}
