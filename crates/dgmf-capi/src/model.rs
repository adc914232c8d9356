//! `dgmf_model`: loading a model and querying what it expects.

use std::ffi::{c_char, c_void, CString};

use super::{
    c_path, c_slice, c_slice_mut, dgmf_options, dgmf_status, free, guard, invalid, non_null,
    non_null_mut, publish, put, CResult, Failure,
};
use dgmf::contract::{Fidelity, Variable};
use dgmf::model::Model;
use dgmf::runtime::SessionOptions;

/// A loaded score model. Thread safety: one handle may be used by many threads at once for every
/// function that takes `const dgmf_model *` (each predicting thread gets its own pooled session).
pub struct dgmf_model {
    pub(crate) model: Model,
    param_names: Vec<CString>,
    coord_names: Vec<CString>,
    labels: Vec<CString>,
    provider: CString,
    name: CString,
    precision: CString,
}

/// How the model takes its fidelity.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum dgmf_fidelity_kind {
    /// K discrete levels; pass the 0-based level index as the fidelity value.
    DGMF_FIDELITY_DISCRETE = 0,
    /// A continuous value in [lo, hi] (e.g. a mesh size).
    DGMF_FIDELITY_CONTINUOUS = 1,
}

/// A model string for C: the host may print it, so controls are escaped (`dgmf::error::printable`; that
/// covers NUL too, which a C string could not hold).
fn cstring(s: &str) -> CString {
    CString::new(dgmf::error::printable(s).into_owned()).unwrap_or_default()
}

fn wrap(model: Model) -> dgmf_model {
    let c = model.contract();
    let names = |v: &[Variable]| v.iter().map(|p| cstring(&p.name)).collect();
    let labels = match &c.fidelity {
        Fidelity::Discrete {
            labels: Some(l), ..
        } => l.iter().map(|s| cstring(s)).collect(),
        _ => Vec::new(),
    };
    dgmf_model {
        param_names: names(&c.params),
        coord_names: names(&c.coords),
        labels,
        provider: cstring(model.provider()),
        name: cstring(c.name.as_deref().unwrap_or("")),
        precision: cstring(model.precision()),
        model,
    }
}

fn session_options(opts: *const dgmf_options) -> SessionOptions {
    // SAFETY: NULL or a live handle from dgmf_options_create (header contract).
    unsafe { opts.as_ref() }
        .map(|o| o.inner.clone())
        .unwrap_or_default()
}

fn store(out: &mut *mut dgmf_model, model: CResult<Model>) -> CResult {
    let model = model?;
    *out = publish(wrap(model));
    Ok(())
}

/// Loads a model file. `options` may be NULL (defaults). On failure `*out` is set to NULL.
#[no_mangle]
pub extern "C" fn dgmf_model_load(
    path: *const c_char,
    options: *const dgmf_options,
    out: *mut *mut dgmf_model,
) -> dgmf_status {
    guard(|| {
        let out = non_null_mut(out, "out")?;
        *out = std::ptr::null_mut();
        let path = c_path(path, "path")?;
        store(
            out,
            Model::load(path, &session_options(options)).map_err(Failure::from),
        )
    })
}

/// Loads a model from `len` bytes of an ONNX file in memory (copied; the buffer may be freed after).
#[no_mangle]
pub extern "C" fn dgmf_model_load_from_memory(
    data: *const c_void,
    len: usize,
    options: *const dgmf_options,
    out: *mut *mut dgmf_model,
) -> dgmf_status {
    guard(|| {
        let out = non_null_mut(out, "out")?;
        *out = std::ptr::null_mut();
        if len == 0 {
            return Err(invalid("`len` is 0: an empty buffer is not an ONNX model"));
        }
        // Checked before the buffer is touched: a wrong length must not make us read past it.
        if len as u64 > dgmf::input_file::MAX_MODEL_BYTES {
            return Err(Failure(
                dgmf_status::DGMF_ERR_MODEL_LOAD,
                format!(
                    "`len` is {len} bytes, more than an ONNX protobuf file can hold (2 GiB − 1)"
                ),
            ));
        }
        let bytes = c_slice(data.cast::<u8>(), len, "data")?;
        store(
            out,
            Model::from_bytes(bytes, &session_options(options)).map_err(Failure::from),
        )
    })
}

/// Frees a model; NULL is a no-op. No other thread may be using it.
#[no_mangle]
pub extern "C" fn dgmf_model_destroy(model: *mut dgmf_model) {
    free(model)
}

pub(crate) fn get<'a>(model: *const dgmf_model) -> CResult<&'a dgmf_model> {
    non_null(model, "model").map_err(|_| {
        Failure(
            dgmf_status::DGMF_ERR_NULL_ARGUMENT,
            "`model` is NULL (did dgmf_model_load fail? its dgmf_last_error() says why)".into(),
        )
    })
}

/// Rank of one sample (number of per-sample dims, ≥ 1).
#[no_mangle]
pub extern "C" fn dgmf_model_rank(model: *const dgmf_model, rank: *mut usize) -> dgmf_status {
    guard(|| {
        *non_null_mut(rank, "rank")? = get(model)?.model.contract().shape.len();
        Ok(())
    })
}

/// Per-sample dims, row-major (e.g. {1, 32, 32}), into `dims[0..len)`; `len` must be ≥ the rank.
#[no_mangle]
pub extern "C" fn dgmf_model_shape(
    model: *const dgmf_model,
    dims: *mut usize,
    len: usize,
) -> dgmf_status {
    guard(|| {
        let shape = &get(model)?.model.contract().shape;
        if len < shape.len() {
            return Err(Failure(
                dgmf_status::DGMF_ERR_BUFFER_TOO_SMALL,
                format!(
                    "`dims` holds {len} entries; the model's rank is {}",
                    shape.len()
                ),
            ));
        }
        c_slice_mut(dims, len, "dims")?[..shape.len()].copy_from_slice(shape);
        Ok(())
    })
}

/// Values per sample (the product of the dims): the length of one mean or std field.
#[no_mangle]
pub extern "C" fn dgmf_model_sample_len(model: *const dgmf_model, len: *mut usize) -> dgmf_status {
    guard(|| {
        *non_null_mut(len, "len")? = get(model)?.model.contract().sample_len();
        Ok(())
    })
}

/// Networks in the model: K ≥ 2 for a deep ensemble (`dgmf.members`; sample j of every query is drawn by
/// member j mod K, one network evaluation per sample and step as for one network), 1 for a single network.
#[no_mangle]
pub extern "C" fn dgmf_model_members(model: *const dgmf_model, members: *mut usize) -> dgmf_status {
    guard(|| {
        *non_null_mut(members, "members")? = get(model)?.model.contract().members;
        Ok(())
    })
}

/// Number of PDE parameters P.
#[no_mangle]
pub extern "C" fn dgmf_model_num_params(
    model: *const dgmf_model,
    count: *mut usize,
) -> dgmf_status {
    guard(|| {
        *non_null_mut(count, "count")? = get(model)?.model.contract().params.len();
        Ok(())
    })
}

fn variable<'a>(
    vars: &'a [Variable],
    names: &'a [CString],
    i: usize,
    what: &str,
) -> CResult<(&'a Variable, &'a CString)> {
    match (vars.get(i), names.get(i)) {
        (Some(v), Some(n)) => Ok((v, n)),
        _ => Err(invalid(format!(
            "{what} index {i} is out of range: the model has {}",
            vars.len()
        ))),
    }
}

/// Parameter `index`: its name (owned by the model, valid until it is destroyed; `name` may be NULL)
/// and its valid range in physical units (`min`/`max` may be NULL).
#[no_mangle]
pub extern "C" fn dgmf_model_param(
    model: *const dgmf_model,
    index: usize,
    name: *mut *const c_char,
    min: *mut f64,
    max: *mut f64,
) -> dgmf_status {
    guard(|| {
        let m = get(model)?;
        let (v, n) = variable(
            &m.model.contract().params,
            &m.param_names,
            index,
            "parameter",
        )?;
        write_variable(v, n, name, min, max);
        Ok(())
    })
}

/// Number of coordinates Q (0 for models without a coords input).
#[no_mangle]
pub extern "C" fn dgmf_model_num_coords(
    model: *const dgmf_model,
    count: *mut usize,
) -> dgmf_status {
    guard(|| {
        *non_null_mut(count, "count")? = get(model)?.model.contract().coords.len();
        Ok(())
    })
}

/// Coordinate `index`: name and range, as for `dgmf_model_param`.
#[no_mangle]
pub extern "C" fn dgmf_model_coord(
    model: *const dgmf_model,
    index: usize,
    name: *mut *const c_char,
    min: *mut f64,
    max: *mut f64,
) -> dgmf_status {
    guard(|| {
        let m = get(model)?;
        let (v, n) = variable(
            &m.model.contract().coords,
            &m.coord_names,
            index,
            "coordinate",
        )?;
        write_variable(v, n, name, min, max);
        Ok(())
    })
}

fn write_variable(
    v: &Variable,
    n: &CString,
    name: *mut *const c_char,
    min: *mut f64,
    max: *mut f64,
) {
    // SAFETY (all three): NULL or writable per the header contract.
    if let Some(name) = unsafe { name.as_mut() } {
        *name = n.as_ptr();
    }
    if let Some(min) = unsafe { min.as_mut() } {
        *min = v.min;
    }
    if let Some(max) = unsafe { max.as_mut() } {
        *max = v.max;
    }
}

/// The fidelity: its kind; for discrete models the number of levels (`lo` = 0, `hi` = levels − 1), for
/// continuous ones `levels` = 0 and the range [lo, hi]. Any output pointer may be NULL.
#[no_mangle]
pub extern "C" fn dgmf_model_fidelity(
    model: *const dgmf_model,
    kind: *mut dgmf_fidelity_kind,
    levels: *mut usize,
    lo: *mut f64,
    hi: *mut f64,
) -> dgmf_status {
    guard(|| {
        let (k, n, a, b) = match &get(model)?.model.contract().fidelity {
            Fidelity::Discrete { levels, .. } => (
                dgmf_fidelity_kind::DGMF_FIDELITY_DISCRETE,
                *levels,
                0.0,
                (*levels - 1) as f64,
            ),
            Fidelity::Continuous { lo, hi } => {
                (dgmf_fidelity_kind::DGMF_FIDELITY_CONTINUOUS, 0, *lo, *hi)
            }
        };
        put(kind, k);
        put(levels, n);
        put(lo, a);
        put(hi, b);
        Ok(())
    })
}

/// Label of discrete fidelity level `level` (e.g. "32x32"), or "" when the model declares none. Owned by
/// the model.
#[no_mangle]
pub extern "C" fn dgmf_model_fidelity_label(
    model: *const dgmf_model,
    level: usize,
    label: *mut *const c_char,
) -> dgmf_status {
    guard(|| {
        let m = get(model)?;
        let out = non_null_mut(label, "label")?;
        let levels = match m.model.contract().fidelity {
            Fidelity::Discrete { levels, .. } => levels,
            Fidelity::Continuous { .. } => {
                return Err(invalid(
                    "the model's fidelity is continuous: it has no levels",
                ))
            }
        };
        if level >= levels {
            return Err(invalid(format!(
                "level {level} is out of range: the model has {levels} levels"
            )));
        }
        *out = m.labels.get(level).map_or(c"".as_ptr(), |l| l.as_ptr());
        Ok(())
    })
}

/// The noise range [sigma_min, sigma_max] of the model's VE SDE (either pointer may be NULL).
#[no_mangle]
pub extern "C" fn dgmf_model_sigma_range(
    model: *const dgmf_model,
    sigma_min: *mut f64,
    sigma_max: *mut f64,
) -> dgmf_status {
    guard(|| {
        let c = get(model)?.model.contract();
        put(sigma_min, c.sigma_min);
        put(sigma_max, c.sigma_max);
        Ok(())
    })
}

/// The model's `dgmf.name` ("" if unset). Owned by the model.
#[no_mangle]
pub extern "C" fn dgmf_model_name(
    model: *const dgmf_model,
    name: *mut *const c_char,
) -> dgmf_status {
    guard(|| {
        *non_null_mut(name, "name")? = get(model)?.name.as_ptr();
        Ok(())
    })
}

/// The execution provider in use: "cpu", "cuda", "tensorrt", or "cpu (fallback: ...)". Owned by the model.
#[no_mangle]
pub extern "C" fn dgmf_model_provider(
    model: *const dgmf_model,
    provider: *mut *const c_char,
) -> dgmf_status {
    guard(|| {
        *non_null_mut(provider, "provider")? = get(model)?.provider.as_ptr();
        Ok(())
    })
}

/// The arithmetic the network was exported for: "fp32", "fp16" (float16 inputs and weights) or "int8"
/// (integer-quantized convolutions, float elsewhere). Owned by the model.
#[no_mangle]
pub extern "C" fn dgmf_model_precision(
    model: *const dgmf_model,
    precision: *mut *const c_char,
) -> dgmf_status {
    guard(|| {
        *non_null_mut(precision, "precision")? = get(model)?.precision.as_ptr();
        Ok(())
    })
}
