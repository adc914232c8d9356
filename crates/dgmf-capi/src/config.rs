//! `dgmf_config`: the sampler and the ensemble settings of a prediction.

use std::ffi::{c_char, c_void};

use super::{
    c_str, dgmf_model, dgmf_status, free, guard, invalid, non_null, non_null_mut, publish,
};
use dgmf::samplers::{SamplerConfig, SamplerKind, Schedule};
use dgmf::Request;

/// Progress callback: called after every network evaluation with the evaluations done and the total of
/// the call. Return 0 to continue, non-zero to cancel (the predict call then returns DGMF_ERR_CANCELLED).
/// It runs on the thread that called predict.
pub type dgmf_progress_fn =
    Option<extern "C" fn(done: usize, total: usize, user_data: *mut c_void) -> i32>;

/// Prediction settings. Not shared between threads while being modified; a const config may be used by
/// many predicting threads at once (the progress callback is then called from each of them).
pub struct dgmf_config {
    /// The engine's request with no queries: every setting, validated by the engine.
    pub(crate) request: Request,
    pub(crate) progress: dgmf_progress_fn,
    pub(crate) user_data: *mut c_void,
}

/// Creates a configuration for sampler `sampler` with that sampler's defaults (levels and schedule as
/// listed below; pc: snr 0.16, 1 corrector step; edm churns at every level: S_churn 40, S_min 0, S_max
/// FLT_MAX, S_noise 1); final denoising on; 1 sample, seed 0, at most DGMF_DEFAULT_MAX_BATCH rows per
/// network call, no extrapolation, DGMF_DEFAULT_MEMORY_LIMIT bytes of results, no progress callback. The
/// samplers (`dgmf samplers` prints the same list):
///
/// <sampler list: written here from dgmf::samplers::SAMPLERS by scripts/gen-header.sh>
///
/// Note that a sampler named here gets its own defaults ("ancestral" by name is score_sde's 1000 levels,
/// 1000 network evaluations); set the levels with dgmf_config_set_steps.
///
/// `sampler` NULL gives the library's default (the list's last line), for models that recommend no
/// sampler. Prefer dgmf_config_create_for_model, which takes the model's own recommendation (the shipped
/// models: few-step ancestral sampling, within 10 % of the 2000-evaluation "pc" at a fraction of the
/// cost; docs/nfe_sweep.md). "pc" is the score_sde reference; "heun"/"dpmpp-2m" are deterministic ODE
/// solvers (smooth in the parameters, but they stall at an error floor set by the learned score).
#[no_mangle]
pub extern "C" fn dgmf_config_create(
    sampler: *const c_char,
    out: *mut *mut dgmf_config,
) -> dgmf_status {
    create(out, || {
        Ok(if sampler.is_null() {
            SamplerConfig::default()
        } else {
            SamplerConfig::new(SamplerKind::parse(c_str(sampler, "sampler")?)?)
        })
    })
}

/// A new configuration with `sampler()`'s sampler in `*out` (NULL on failure); the other settings are the
/// request defaults.
fn create(
    out: *mut *mut dgmf_config,
    sampler: impl FnOnce() -> Result<SamplerConfig, super::Failure>,
) -> dgmf_status {
    guard(|| {
        let out = non_null_mut(out, "out")?;
        *out = std::ptr::null_mut();
        *out = publish(dgmf_config {
            request: Request::new(Vec::new(), sampler()?),
            progress: None,
            user_data: std::ptr::null_mut(),
        });
        Ok(())
    })
}

/// Creates a configuration with `model`'s recommended sampler: the one its `dgmf.sampler` names (the
/// sampler its std calibration was fitted with; the shipped models recommend few-step ancestral
/// sampling), else the library default as with `dgmf_config_create(NULL, ...)`. Every other setting as in
/// `dgmf_config_create`. The configuration does not keep the model.
#[no_mangle]
pub extern "C" fn dgmf_config_create_for_model(
    model: *const dgmf_model,
    out: *mut *mut dgmf_config,
) -> dgmf_status {
    create(out, || {
        Ok(super::model::get(model)?.model.recommended_sampler())
    })
}

/// Frees a configuration; NULL is a no-op.
#[no_mangle]
pub extern "C" fn dgmf_config_destroy(config: *mut dgmf_config) {
    free(config)
}

/// Applies `f` to a copy of the settings and keeps it only if the engine accepts the result
/// (`Request::validate_settings`): a refused setting leaves the configuration as it was.
fn set(
    config: *mut dgmf_config,
    f: impl FnOnce(&mut Request) -> Result<(), super::Failure>,
) -> dgmf_status {
    guard(|| {
        let c = non_null_mut(config, "config")?;
        let mut next = c.request.clone();
        f(&mut next)?;
        next.validate_settings()?;
        c.request = next;
        Ok(())
    })
}

/// Number of noise levels N of the schedule, 2 ≤ N ≤ DGMF_MAX_STEPS (consistency: 1 ≤ N). NFE: see
/// docs/samplers.md.
#[no_mangle]
pub extern "C" fn dgmf_config_set_steps(config: *mut dgmf_config, steps: usize) -> dgmf_status {
    set(config, |r| {
        r.sampler.steps = steps;
        Ok(())
    })
}

/// Schedule: "geometric" or "karras" (rho 7).
#[no_mangle]
pub extern "C" fn dgmf_config_set_schedule(
    config: *mut dgmf_config,
    schedule: *const c_char,
) -> dgmf_status {
    set(config, |r| {
        r.sampler.schedule = Schedule::parse(c_str(schedule, "schedule")?)?;
        Ok(())
    })
}

/// Langevin corrector settings (pc samplers): signal-to-noise ratio (> 0) and steps per level
/// (≤ DGMF_MAX_CORRECTOR_STEPS).
#[no_mangle]
pub extern "C" fn dgmf_config_set_corrector(
    config: *mut dgmf_config,
    snr: f32,
    steps: usize,
) -> dgmf_status {
    set(config, |r| {
        r.sampler.snr = snr;
        r.sampler.corrector_steps = steps;
        Ok(())
    })
}

/// EDM churn (edm sampler): S_churn, S_min, S_max, S_noise, all finite and ≥ 0.
#[no_mangle]
pub extern "C" fn dgmf_config_set_churn(
    config: *mut dgmf_config,
    s_churn: f32,
    s_min: f32,
    s_max: f32,
    s_noise: f32,
) -> dgmf_status {
    set(config, |r| {
        r.sampler.churn = dgmf::samplers::Churn {
            s_churn,
            s_min,
            s_max,
            s_noise,
        };
        Ok(())
    })
}

/// The schedule's last noise level, in the model's sigma units (consistency sampler): a positive number
/// inside the model's [sigma_min, sigma_max] (checked when a prediction starts); by default the model's
/// sigma_min.
#[no_mangle]
pub extern "C" fn dgmf_config_set_sigma_last(config: *mut dgmf_config, sigma: f32) -> dgmf_status {
    set(config, |r| {
        r.sampler.sigma_last = Some(sigma);
        Ok(())
    })
}

/// Final denoising step to sigma = 0 (non-zero: on, the default).
#[no_mangle]
pub extern "C" fn dgmf_config_set_denoise(config: *mut dgmf_config, denoise: i32) -> dgmf_status {
    set(config, |r| {
        r.sampler.denoise = denoise != 0;
        Ok(())
    })
}

/// Ensemble size per query (≥ 1; ≥ 2 for a std field).
#[no_mangle]
pub extern "C" fn dgmf_config_set_samples(config: *mut dgmf_config, samples: usize) -> dgmf_status {
    set(config, |r| {
        r.n_samples = samples;
        Ok(())
    })
}

/// Seed of the noise streams: with S samples per query, sample j of query i draws from stream
/// (seed, i·S + j), so results are reproducible and independent of threads and splits; of the batch size
/// only with max_batch 1, since ONNX Runtime rounds a row with the number of rows sharing the call.
#[no_mangle]
pub extern "C" fn dgmf_config_set_seed(config: *mut dgmf_config, seed: u64) -> dgmf_status {
    set(config, |r| {
        r.seed = seed;
        Ok(())
    })
}

/// Numbers the queries of the next predictions from `first_query` (default 0): query i of a call then
/// draws the noise of query first_query + i, streams (seed, (first_query + i)·S + j). When a sweep is
/// split across calls or MPI ranks, set it to each part's offset in the whole sweep: every query then
/// gets bit for bit the samples it gets in one call over the whole sweep (with max_batch 1: ONNX Runtime
/// rounds a row with the number of rows sharing its call, and the parts' calls hold other rows).
#[no_mangle]
pub extern "C" fn dgmf_config_set_first_query(
    config: *mut dgmf_config,
    first_query: u64,
) -> dgmf_status {
    set(config, |r| {
        r.first_query = first_query;
        Ok(())
    })
}

/// Most rows (query × sample pairs) per network call (≥ 1).
#[no_mangle]
pub extern "C" fn dgmf_config_set_max_batch(
    config: *mut dgmf_config,
    max_batch: usize,
) -> dgmf_status {
    set(config, |r| {
        r.max_batch = max_batch;
        Ok(())
    })
}

/// Non-zero: accept parameters, fidelity values and coordinates outside the model's declared ranges.
#[no_mangle]
pub extern "C" fn dgmf_config_set_extrapolation(
    config: *mut dgmf_config,
    allow: i32,
) -> dgmf_status {
    set(config, |r| {
        r.allow_extrapolation = allow != 0;
        Ok(())
    })
}

/// Most bytes a prediction's buffers may take (default 4 GiB); a call that would need more fails with
/// DGMF_ERR_INVALID_ARGUMENT before allocating anything.
#[no_mangle]
pub extern "C" fn dgmf_config_set_memory_limit(
    config: *mut dgmf_config,
    bytes: usize,
) -> dgmf_status {
    set(config, |r| {
        r.memory_limit = bytes;
        Ok(())
    })
}

/// Time limit of a prediction in seconds (0: none, the default). A prediction still running when it passes
/// stops with DGMF_ERR_CANCELLED — also in the middle of a network evaluation, so a model that never
/// finishes cannot hold the caller. Other values outside 1e-9 ..= 3.15e10 s (a nanosecond to a thousand
/// years; NaN, negative, infinite, denormal) are DGMF_ERR_INVALID_ARGUMENT.
#[no_mangle]
pub extern "C" fn dgmf_config_set_time_limit(
    config: *mut dgmf_config,
    seconds: f64,
) -> dgmf_status {
    set(config, |r| {
        // Converting the C value is this layer's job; the engine checks the Duration.
        r.time_limit = match seconds {
            0.0 => None,
            s => Some(
                dgmf::predict::time_limit(s).map_err(|e| invalid(format!("{e}, or 0 for none")))?,
            ),
        };
        Ok(())
    })
}

/// Progress callback (NULL: none) and the pointer passed back to it.
#[no_mangle]
pub extern "C" fn dgmf_config_set_progress(
    config: *mut dgmf_config,
    callback: dgmf_progress_fn,
    user_data: *mut c_void,
) -> dgmf_status {
    guard(|| {
        let c = non_null_mut(config, "config")?;
        c.progress = callback;
        c.user_data = user_data;
        Ok(())
    })
}

/// Network evaluations per sample this configuration costs.
#[no_mangle]
pub extern "C" fn dgmf_config_nfe(config: *const dgmf_config, nfe: *mut usize) -> dgmf_status {
    guard(|| {
        *non_null_mut(nfe, "nfe")? = non_null(config, "config")?.request.sampler.nfe();
        Ok(())
    })
}
