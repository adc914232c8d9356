//! `dgmf_predict*`: run a prediction into caller buffers.

use super::model::get;
use super::{
    c_slice, c_slice_mut, dgmf_config, dgmf_model, dgmf_status, guard, invalid, non_null, CResult,
    Failure,
};
use dgmf::predict::{FidelityValue, Progress, Query, Request};
use dgmf::Model;

/// Query `at`'s fidelity as the model takes it (the engine's rule).
pub(crate) fn fidelity_value(m: &Model, v: f64, at: usize) -> CResult<FidelityValue> {
    Ok(m.contract()
        .fidelity_value(v)
        .map_err(|e| e.context(format_args!("query {at}")))?)
}

pub(crate) fn check_len(name: &str, got: usize, need: usize) -> CResult {
    if got < need {
        return Err(Failure(
            dgmf_status::DGMF_ERR_BUFFER_TOO_SMALL,
            format!(
                "`{name}` holds {got} floats but the result needs {need} (n_queries × sample_len)"
            ),
        ));
    }
    Ok(())
}

/// One number per query for a fallback policy ("trust the surrogate, or run the solver"): `rms[i]` = the
/// root mean square over query i's field of `std` (n fields of sample_len floats, as dgmf_predict_batch or
/// dgmf_moments_finish wrote them: calibrated when the model carries `dgmf.std_scale`), in the field's
/// physical units. Compare it with a threshold chosen on held-out cases (docs/uncertainty.md;
/// bench/fallback_risk.py picks one with a guarantee on the rate of misses). Divided by the RMS of the
/// query's mean it is a relative uncertainty: docs/uncertainty.md says on which models each ranks better.
#[no_mangle]
pub extern "C" fn dgmf_std_rms(
    model: *const dgmf_model,
    n: usize,
    std: *const f32,
    std_len: usize,
    rms: *mut f64,
    rms_len: usize,
) -> dgmf_status {
    guard(|| {
        let len = get(model)?.model.contract().sample_len();
        let need = n.checked_mul(len).ok_or_else(|| {
            invalid(format!(
                "n = {n} queries of {len} values overflow the address space"
            ))
        })?;
        if std_len < need {
            return Err(Failure(
                dgmf_status::DGMF_ERR_BUFFER_TOO_SMALL,
                format!(
                    "`std` holds {std_len} floats but {n} queries need {need} (n × sample_len)"
                ),
            ));
        }
        if rms_len < n {
            return Err(Failure(
                dgmf_status::DGMF_ERR_BUFFER_TOO_SMALL,
                format!("`rms` holds {rms_len} doubles but there are {n} queries"),
            ));
        }
        let std = c_slice(std, need, "std")?;
        let out = c_slice_mut(rms, rms_len, "rms")?;
        out[..n].copy_from_slice(&dgmf::predict::field_rms(std, len));
        Ok(())
    })
}

/// Predicts `n` queries. Layout (row-major): `params` n×P, `fidelity` n (level index as a whole number for
/// discrete models, the value for continuous ones), `coords` n×Q (NULL when Q = 0); `mean` receives n fields
/// of sample_len floats each (`mean_len` ≥ n·sample_len); `std` likewise, or NULL (needs ≥ 2 samples),
/// multiplied by the model's calibration `dgmf.std_scale` when it has one. Physical units. Thread-safe on a
/// shared model and config.
#[no_mangle]
#[allow(clippy::too_many_arguments)]
pub extern "C" fn dgmf_predict_batch(
    model: *const dgmf_model,
    config: *const dgmf_config,
    n: usize,
    params: *const f64,
    fidelity: *const f64,
    coords: *const f64,
    mean: *mut f32,
    mean_len: usize,
    std: *mut f32,
    std_len: usize,
) -> dgmf_status {
    guard(|| {
        let m = &get(model)?.model;
        let cfg = non_null(config, "config")?;
        let req = request(m, cfg, n, params, fidelity, coords)?;
        let need = n * m.contract().sample_len(); // `request` bounded it
        check_len("mean", mean_len, need)?;
        let mean = c_slice_mut(mean, mean_len, "mean")?;
        let std = if std.is_null() {
            None
        } else {
            Request::check_std_samples(cfg.request.n_samples)?;
            check_len("std", std_len, need)?;
            Some(c_slice_mut(std, std_len, "std")?)
        };
        let pred = with_progress(cfg, |progress| m.predict(&req, progress))?;
        copy_out(&mut mean[..need], &pred.mean)?;
        if let (Some(out), Some(s)) = (std, pred.std.as_ref()) {
            copy_out(&mut out[..need], s)?;
        }
        Ok(())
    })
}

/// Copies a result array (standard layout, as the engine builds every result) into the caller's buffer.
/// A plain slice copy: ndarray's element iterator compiled to code that tests fields of its unused
/// strided-iteration state, which valgrind reported as a jump on uninitialised values in every call.
pub(crate) fn copy_out(out: &mut [f32], a: &dgmf::ndarray::ArrayD<f32>) -> CResult {
    let values = a.as_slice().ok_or_else(|| {
        Failure(
            dgmf_status::DGMF_ERR_INTERNAL,
            "internal error in libdgmf (please report): a result array is not in standard layout"
                .into(),
        )
    })?;
    if values.len() != out.len() {
        return Err(Failure(
            dgmf_status::DGMF_ERR_INTERNAL,
            format!(
                "internal error in libdgmf (please report): a result of {} values for a buffer of {}",
                values.len(),
                out.len()
            ),
        ));
    }
    out.copy_from_slice(values);
    Ok(())
}

/// The config's request for `n` queries from C arrays (layout as in `dgmf_predict_batch`), bounded by the
/// config's memory limit before anything is allocated; `n × sample_len` is then known not to overflow.
pub(crate) fn request(
    m: &Model,
    cfg: &dgmf_config,
    n: usize,
    params: *const f64,
    fidelity: *const f64,
    coords: *const f64,
) -> CResult<Request> {
    let c = m.contract();
    dgmf::predict::check_query_count(c, n, cfg.request.memory_limit)?;
    let (p, q) = (c.params.len(), c.coords.len());
    let too_many = || invalid(format!("n = {n} queries: too many for this model"));
    let params = c_slice(params, n.checked_mul(p).ok_or_else(too_many)?, "params")?;
    let fidelity = c_slice(fidelity, n, "fidelity")?;
    let coords = c_slice(coords, n.checked_mul(q).ok_or_else(too_many)?, "coords")?;
    let queries = (0..n)
        .map(|i| {
            Ok(Query {
                params: params[i * p..(i + 1) * p].to_vec(),
                fidelity: fidelity_value(m, fidelity[i], i)?,
                coords: coords[i * q..(i + 1) * q].to_vec(),
            })
        })
        .collect::<CResult<Vec<_>>>()?;
    Ok(Request {
        queries,
        ..cfg.request.clone()
    })
}

/// Runs `body` with the config's progress callback (if any) as the engine's progress hook.
pub(crate) fn with_progress<T>(
    cfg: &dgmf_config,
    body: impl FnOnce(Option<&mut dyn FnMut(Progress) -> bool>) -> dgmf::Result<T>,
) -> CResult<T> {
    let mut callback = cfg
        .progress
        .map(|f| move |p: Progress| f(p.done, p.total, cfg.user_data) == 0);
    let progress = callback
        .as_mut()
        .map(|f| f as &mut dyn FnMut(Progress) -> bool);
    Ok(body(progress)?)
}

/// Predicts one query: `params` P values, `fidelity` as in `dgmf_predict_batch`, `coords` Q values (NULL
/// when Q = 0); `mean`/`std` of `sample_len` floats (`std` may be NULL).
#[no_mangle]
#[allow(clippy::too_many_arguments)]
pub extern "C" fn dgmf_predict(
    model: *const dgmf_model,
    config: *const dgmf_config,
    params: *const f64,
    fidelity: f64,
    coords: *const f64,
    mean: *mut f32,
    mean_len: usize,
    std: *mut f32,
    std_len: usize,
) -> dgmf_status {
    dgmf_predict_batch(
        model, config, 1, params, &fidelity, coords, mean, mean_len, std, std_len,
    )
}
