//! `dgmf_predict*`: run a prediction into caller buffers.

use super::model::get;
use super::{
    c_slice, c_slice_mut, dgmf_config, dgmf_model, dgmf_status, guard, invalid, non_null, CResult,
    Failure,
};
use dgmf::contract::Fidelity;
use dgmf::predict::{FidelityValue, Progress, Query, Request};
use dgmf::Model;

pub(crate) fn fidelity_value(fidelity: &Fidelity, v: f64, at: usize) -> CResult<FidelityValue> {
    match fidelity {
        Fidelity::Continuous { .. } => Ok(FidelityValue::Value(v)),
        Fidelity::Discrete { .. } if v.is_finite() && v >= 0.0 && v.fract() == 0.0 => {
            Ok(FidelityValue::Level(v as usize))
        }
        Fidelity::Discrete { levels, .. } => Err(invalid(format!(
            "query {at}: fidelity {v} is not a level index; this model has {levels} discrete levels 0..={}",
            levels - 1
        ))),
    }
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
            if cfg.request.n_samples < 2 {
                return Err(invalid(
                    "a std field needs at least 2 samples (dgmf_config_set_samples)",
                ));
            }
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
    if n == 0 {
        return Err(invalid("n = 0: nothing to predict"));
    }
    let (p, q, len) = (c.params.len(), c.coords.len(), c.sample_len());
    let too_many = || {
        invalid(format!(
            "n = {n} queries would take more than the memory limit of {} bytes \
             (dgmf_config_set_memory_limit): predict them in smaller batches",
            cfg.request.memory_limit
        ))
    };
    // The queries are copied into the request: bound them by the memory limit before allocating.
    let per_query = std::mem::size_of::<Query>() + 8 * (p + q);
    if n.checked_mul(per_query)
        .map_or(true, |b| b > cfg.request.memory_limit)
        || n.checked_mul(len).is_none()
    {
        return Err(too_many());
    }
    let params = c_slice(params, n.checked_mul(p).ok_or_else(too_many)?, "params")?;
    let fidelity = c_slice(fidelity, n, "fidelity")?;
    let coords = c_slice(coords, n.checked_mul(q).ok_or_else(too_many)?, "coords")?;
    let queries = (0..n)
        .map(|i| {
            Ok(Query {
                params: params[i * p..(i + 1) * p].to_vec(),
                fidelity: fidelity_value(&c.fidelity, fidelity[i], i)?,
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
