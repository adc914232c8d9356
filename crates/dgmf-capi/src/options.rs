//! `dgmf_options`: how models are loaded (ONNX Runtime library, execution provider, threads).

use std::ffi::c_char;

use super::{c_str, dgmf_status, free, guard, invalid, non_null_mut, publish};
use dgmf::runtime::{OptLevel, Provider, SessionOptions};

/// Load options for `dgmf_model_load*`. Create with `dgmf_options_create`, free with `dgmf_options_destroy`.
pub struct dgmf_options {
    pub(crate) inner: SessionOptions,
}

/// Creates load options with the defaults: ONNX Runtime found by the documented search, CPU provider,
/// ONNX Runtime's default thread count, all graph optimizations, one session per CPU at most.
#[no_mangle]
pub extern "C" fn dgmf_options_create(out: *mut *mut dgmf_options) -> dgmf_status {
    guard(|| {
        let out = non_null_mut(out, "out")?;
        *out = publish(dgmf_options {
            inner: SessionOptions::default(),
        });
        Ok(())
    })
}

/// Frees options; NULL is a no-op.
#[no_mangle]
pub extern "C" fn dgmf_options_destroy(options: *mut dgmf_options) {
    free(options)
}

/// Path of the ONNX Runtime shared library to load (NULL: search). Only the first model loaded in a
/// process decides; a different path later is DGMF_ERR_INVALID_ARGUMENT at load time.
#[no_mangle]
pub extern "C" fn dgmf_options_set_ort_library(
    options: *mut dgmf_options,
    path: *const c_char,
) -> dgmf_status {
    guard(|| {
        let o = non_null_mut(options, "options")?;
        o.inner.ort_lib = if path.is_null() {
            None
        } else {
            Some(super::c_path(path, "path")?)
        };
        Ok(())
    })
}

/// Execution provider: "cpu", "cuda", "cuda:N", "tensorrt", "tensorrt:N". With `allow_fallback` non-zero a
/// provider that cannot be registered falls back to the CPU instead of failing the load.
#[no_mangle]
pub extern "C" fn dgmf_options_set_provider(
    options: *mut dgmf_options,
    provider: *const c_char,
    allow_fallback: i32,
) -> dgmf_status {
    guard(|| {
        let o = non_null_mut(options, "options")?;
        o.inner.provider = Provider::parse(c_str(provider, "provider")?)?;
        o.inner.allow_fallback = allow_fallback != 0;
        Ok(())
    })
}

/// TensorRT settings (after `dgmf_options_set_provider(.., "tensorrt", ..)`): fp16 engines, and an engine
/// cache directory (NULL: none).
#[no_mangle]
pub extern "C" fn dgmf_options_set_tensorrt(
    options: *mut dgmf_options,
    fp16: i32,
    engine_cache_dir: *const c_char,
) -> dgmf_status {
    guard(|| {
        let o = non_null_mut(options, "options")?;
        let cache = if engine_cache_dir.is_null() {
            None
        } else {
            Some(super::c_path(engine_cache_dir, "engine_cache_dir")?)
        };
        match &mut o.inner.provider {
            Provider::TensorRt {
                fp16: f,
                engine_cache,
                ..
            } => {
                *f = fp16 != 0;
                *engine_cache = cache;
                Ok(())
            }
            other => Err(invalid(format!(
                "dgmf_options_set_tensorrt: the provider is `{}`; set it to \"tensorrt\" first",
                other.name()
            ))),
        }
    })
}

/// ONNX Runtime intra-op threads per session (0: ONNX Runtime's default, one per physical core; at most
/// DGMF_MAX_THREADS, else DGMF_ERR_INVALID_ARGUMENT). On a GPU provider libdgmf also draws a large
/// batch's noise on as many threads (0: one per CPU), started for the fill only, with the same results
/// for every count; on the cpu provider it draws it on the calling thread.
#[no_mangle]
pub extern "C" fn dgmf_options_set_threads(
    options: *mut dgmf_options,
    intra_threads: usize,
) -> dgmf_status {
    guard(|| {
        let o = non_null_mut(options, "options")?;
        let mut next = o.inner.clone();
        next.intra_threads = intra_threads;
        next.validate()?;
        o.inner = next;
        Ok(())
    })
}

/// Most ONNX Runtime sessions a model keeps (one per thread predicting at the same time; 0: one per CPU;
/// at most DGMF_MAX_THREADS, else DGMF_ERR_INVALID_ARGUMENT).
#[no_mangle]
pub extern "C" fn dgmf_options_set_max_sessions(
    options: *mut dgmf_options,
    max_sessions: usize,
) -> dgmf_status {
    guard(|| {
        let o = non_null_mut(options, "options")?;
        let mut next = o.inner.clone();
        next.max_sessions = max_sessions;
        next.validate()?;
        o.inner = next;
        Ok(())
    })
}

/// Graph optimization level: 0 disable, 1 basic, 2 extended, 3 all (default).
#[no_mangle]
pub extern "C" fn dgmf_options_set_optimization(
    options: *mut dgmf_options,
    level: i32,
) -> dgmf_status {
    guard(|| {
        let o = non_null_mut(options, "options")?;
        o.inner.opt_level = match level {
            0 => OptLevel::Disable,
            1 => OptLevel::Basic,
            2 => OptLevel::Extended,
            3 => OptLevel::All,
            _ => {
                return Err(invalid(format!(
                    "optimization level {level}; expected 0, 1, 2 or 3"
                )))
            }
        };
        Ok(())
    })
}
