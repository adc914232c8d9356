//! Model contract v1: what a dgmf score model must declare (ONNX metadata) and expose (inputs/outputs).
//! Parsing is pure — it takes the metadata map and the graph's input/output descriptions — so every rule
//! is testable without ONNX Runtime. See docs/model-contract.md.

use std::collections::BTreeMap;

use crate::error::{Error, Result};

/// The contract version this engine implements.
pub const CONTRACT_VERSION: u32 = 1;

/// Most values in one sample (the product of `dgmf.shape`): 2^31 − 1, an 8 GiB float32 field. Sizes derived
/// from it (batches, buffers) are computed with checked arithmetic.
pub const MAX_SAMPLE_LEN: usize = i32::MAX as usize;
/// Most dims in `dgmf.shape`.
pub const MAX_RANK: usize = 16;
/// Most parameters, coordinates or discrete fidelity levels a model may declare.
pub const MAX_WIDTH: usize = 1 << 16;

/// What the network's single output means; the engine converts each to a score ∇z log p.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutputKind {
    /// The score itself.
    Score,
    /// Noise prediction ε: score = −ε/σ.
    Eps,
    /// Denoiser D(z, σ): score = (D − z)/σ².
    X0,
}

impl OutputKind {
    pub fn as_str(self) -> &'static str {
        match self {
            OutputKind::Score => "score",
            OutputKind::Eps => "eps",
            OutputKind::X0 => "x0",
        }
    }
}

/// How the fidelity input is encoded.
#[derive(Debug, Clone, PartialEq)]
pub enum Fidelity {
    /// K discrete levels, fed as a one-hot `[batch, K]`; optional labels such as `8x8`.
    Discrete {
        levels: usize,
        labels: Option<Vec<String>>,
    },
    /// A continuous value in [lo, hi] (e.g. a mesh size), fed as `[batch, 1]`.
    Continuous { lo: f64, hi: f64 },
}

impl Fidelity {
    /// Width of the `fidelity` input.
    pub fn width(&self) -> usize {
        match self {
            Fidelity::Discrete { levels, .. } => *levels,
            Fidelity::Continuous { .. } => 1,
        }
    }
}

/// A named scalar input (PDE parameter or coordinate) with its valid range.
#[derive(Debug, Clone, PartialEq)]
pub struct Variable {
    pub name: String,
    pub min: f64,
    pub max: f64,
}

/// Element type of a graph input or output.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ElemType {
    F32,
    F16,
}

/// One graph input or output as the runtime describes it: dims are −1 where dynamic.
#[derive(Debug, Clone, PartialEq)]
pub struct TensorSpec {
    pub name: String,
    /// `Err` with the type's name when the element type is neither float32 nor float16.
    pub elem: std::result::Result<ElemType, String>,
    /// `None` for a non-tensor value.
    pub dims: Option<Vec<i64>>,
}

/// Element types of the roles the engine feeds, in a fixed order.
#[derive(Debug, Clone, PartialEq)]
pub struct IoTypes {
    pub z: ElemType,
    pub sigma: ElemType,
    pub params: ElemType,
    pub fidelity: ElemType,
    pub coords: Option<ElemType>,
    pub output: ElemType,
}

/// A validated contract v1 model description.
#[derive(Debug, Clone, PartialEq)]
pub struct Contract {
    pub sigma_min: f64,
    pub sigma_max: f64,
    pub output: OutputKind,
    /// Per-sample dims, e.g. `[1, 32, 32]`.
    pub shape: Vec<usize>,
    pub params: Vec<Variable>,
    pub fidelity: Fidelity,
    pub coords: Vec<Variable>,
    /// Physical u = shift + scale·z; one entry, or one per channel (`shape[0]`).
    pub data_shift: Vec<f32>,
    pub data_scale: Vec<f32>,
    pub name: Option<String>,
    pub description: Option<String>,
    pub io: IoTypes,
}

/// The model's `dgmf.*` metadata as text. Entries of other tools are ignored; a `dgmf.*` entry that is not
/// UTF-8, or appears twice, is a contract error (silently dropping it would run the model with defaults).
pub fn metadata_map(entries: &[(Vec<u8>, Vec<u8>)]) -> Result<BTreeMap<String, String>> {
    let mut map = BTreeMap::new();
    for (key, value) in entries {
        if !key.starts_with(b"dgmf.") {
            continue;
        }
        let shown = String::from_utf8_lossy(key);
        let key = std::str::from_utf8(key)
            .map_err(|_| Error::contract(format!("metadata key `{shown}` is not valid UTF-8")))?;
        let value = std::str::from_utf8(value).map_err(|_| {
            Error::contract(format!(
                "metadata `{key}` is not valid UTF-8 text (`{}`); re-export the model with a text value",
                String::from_utf8_lossy(value)
            ))
        })?;
        if map.insert(key.to_string(), value.to_string()).is_some() {
            return Err(Error::contract(format!(
                "metadata key `{key}` appears more than once; a model must set each key once"
            )));
        }
    }
    Ok(map)
}

impl Contract {
    /// Number of elements of one sample.
    pub fn sample_len(&self) -> usize {
        self.shape.iter().product()
    }

    /// Elements per channel, for per-channel shift/scale.
    pub fn channel_len(&self) -> usize {
        self.shape[1..].iter().product()
    }

    /// Validates metadata and graph signature together; errors name the key or input at fault.
    pub fn from_parts(
        meta: &BTreeMap<String, String>,
        inputs: &[TensorSpec],
        outputs: &[TensorSpec],
    ) -> Result<Self> {
        let version = required(meta, "dgmf.contract")?;
        if version.trim() != CONTRACT_VERSION.to_string() {
            return Err(Error::contract(format!(
                "dgmf.contract is `{version}`, but this libdgmf implements contract version {CONTRACT_VERSION}: \
                 re-export the model for contract {CONTRACT_VERSION} or upgrade libdgmf"
            )));
        }
        let sde = required(meta, "dgmf.sde")?;
        if sde.trim() != "ve" {
            return Err(Error::contract(format!(
                "dgmf.sde is `{sde}`, but only the variance-exploding SDE (`ve`) is supported"
            )));
        }
        let sigma_min = number(meta, "dgmf.sigma_min")?;
        let sigma_max = number(meta, "dgmf.sigma_max")?;
        if !(sigma_min > 0.0 && sigma_min < sigma_max) {
            return Err(Error::contract(format!(
                "invalid noise range: dgmf.sigma_min = {sigma_min}, dgmf.sigma_max = {sigma_max}; need 0 < sigma_min < sigma_max"
            )));
        }
        // The samplers work in float32 with σ²: both squares must be finite, normal float32 numbers.
        if sigma_min * sigma_min < f32::MIN_POSITIVE as f64
            || sigma_max * sigma_max > f32::MAX as f64
        {
            return Err(Error::contract(format!(
                "noise range dgmf.sigma_min = {sigma_min}, dgmf.sigma_max = {sigma_max} is outside what float32 \
                 arithmetic can hold: need 1.1e-19 ≤ sigma_min and sigma_max ≤ 1.8e19 (σ² finite and normal)"
            )));
        }
        let output = match required(meta, "dgmf.output")?.trim() {
            "score" => OutputKind::Score,
            "eps" => OutputKind::Eps,
            "x0" => OutputKind::X0,
            other => {
                return Err(Error::contract(format!(
                    "dgmf.output is `{other}`; expected one of `score`, `eps`, `x0`"
                )))
            }
        };
        let shape = parse_shape(required(meta, "dgmf.shape")?)?;
        let params = variables(meta, "dgmf.param_names", "dgmf.param_min", "dgmf.param_max")?;
        if params.is_empty() {
            return Err(Error::contract(
                "dgmf.param_names is empty: a model needs at least one PDE parameter",
            ));
        }
        let fidelity = parse_fidelity(meta)?;
        let coords = if meta.contains_key("dgmf.coord_names") {
            variables(meta, "dgmf.coord_names", "dgmf.coord_min", "dgmf.coord_max")?
        } else {
            for key in ["dgmf.coord_min", "dgmf.coord_max"] {
                if meta.contains_key(key) {
                    return Err(Error::contract(format!(
                        "{key} is set but dgmf.coord_names is missing"
                    )));
                }
            }
            Vec::new()
        };
        let channels = shape[0];
        let data_shift = affine(meta, "dgmf.data_shift", channels, 0.0)?;
        let data_scale = affine(meta, "dgmf.data_scale", channels, 1.0)?;
        if let Some(i) = data_scale.iter().position(|&s| s == 0.0) {
            return Err(Error::contract(format!(
                "dgmf.data_scale entry {i} is zero; scales must be non-zero"
            )));
        }
        let io = check_signature(
            inputs,
            outputs,
            &shape,
            params.len(),
            &fidelity,
            coords.len(),
        )?;
        Ok(Contract {
            sigma_min,
            sigma_max,
            output,
            shape,
            params,
            fidelity,
            coords,
            data_shift,
            data_scale,
            name: meta.get("dgmf.name").cloned(),
            description: meta.get("dgmf.description").cloned(),
            io,
        })
    }
}

fn required<'m>(meta: &'m BTreeMap<String, String>, key: &str) -> Result<&'m str> {
    meta.get(key).map(String::as_str).ok_or_else(|| {
        Error::contract(format!(
            "metadata key `{key}` is missing: every dgmf model must set it (see docs/model-contract.md)"
        ))
    })
}

fn parse_number(key: &str, text: &str) -> Result<f64> {
    match text.trim().parse::<f64>() {
        Ok(v) if v.is_finite() => Ok(v),
        _ => Err(Error::contract(format!(
            "{key}: `{text}` is not a finite decimal number"
        ))),
    }
}

fn number(meta: &BTreeMap<String, String>, key: &str) -> Result<f64> {
    parse_number(key, required(meta, key)?)
}

fn list(text: &str) -> Vec<&str> {
    text.split(',').map(str::trim).collect()
}

fn numbers(meta: &BTreeMap<String, String>, key: &str) -> Result<Vec<f64>> {
    list(required(meta, key)?)
        .into_iter()
        .map(|t| parse_number(key, t))
        .collect()
}

fn parse_shape(text: &str) -> Result<Vec<usize>> {
    let dims: Option<Vec<usize>> = list(text)
        .iter()
        .map(|d| d.parse::<usize>().ok().filter(|&d| d > 0))
        .collect();
    let dims = match dims {
        Some(d) if !d.is_empty() => d,
        _ => {
            return Err(Error::contract(format!(
                "dgmf.shape is `{text}`; expected a comma list of positive per-sample dims such as `1,32,32`"
            )))
        }
    };
    if dims.len() > MAX_RANK {
        return Err(Error::contract(format!(
            "dgmf.shape has {} dims; at most {MAX_RANK} are supported",
            dims.len()
        )));
    }
    let len = dims.iter().try_fold(1usize, |acc, &d| acc.checked_mul(d));
    match len {
        Some(n) if n <= MAX_SAMPLE_LEN => Ok(dims),
        _ => Err(Error::contract(format!(
            "dgmf.shape is `{text}`: one sample would hold more than {MAX_SAMPLE_LEN} values (2^31 − 1)"
        ))),
    }
}

/// A number the network receives as float32: finite in float32, not only in float64.
fn check_f32(key: &str, v: f64) -> Result<()> {
    if v.abs() > f32::MAX as f64 {
        return Err(Error::contract(format!(
            "{key} = {v:e} is outside the float32 range (±3.4e38) the network computes in"
        )));
    }
    Ok(())
}

fn variables(
    meta: &BTreeMap<String, String>,
    names_key: &str,
    min_key: &str,
    max_key: &str,
) -> Result<Vec<Variable>> {
    let names = required(meta, names_key)?;
    let names: Vec<&str> = if names.trim().is_empty() {
        Vec::new()
    } else {
        list(names)
    };
    let mins = numbers(meta, min_key)?;
    let maxs = numbers(meta, max_key)?;
    if names.len() > MAX_WIDTH {
        return Err(Error::contract(format!(
            "{names_key} has {} entries; at most {MAX_WIDTH} are supported",
            names.len()
        )));
    }
    if mins.len() != names.len() || maxs.len() != names.len() {
        return Err(Error::contract(format!(
            "{names_key} has {} entries but {min_key} has {} and {max_key} has {}; the three lists must have equal length",
            names.len(),
            mins.len(),
            maxs.len()
        )));
    }
    names
        .iter()
        .zip(mins.iter().zip(&maxs))
        .map(|(name, (&min, &max))| {
            if name.is_empty() {
                return Err(Error::contract(format!(
                    "{names_key} contains an empty name"
                )));
            }
            check_f32(min_key, min)?;
            check_f32(max_key, max)?;
            if min > max {
                return Err(Error::contract(format!(
                    "`{name}`: {min_key} = {min} exceeds {max_key} = {max}"
                )));
            }
            Ok(Variable {
                name: name.to_string(),
                min,
                max,
            })
        })
        .collect()
}

fn parse_fidelity(meta: &BTreeMap<String, String>) -> Result<Fidelity> {
    let text = required(meta, "dgmf.fidelity")?.trim();
    let bad = || {
        Error::contract(format!(
            "dgmf.fidelity is `{text}`; expected `discrete:K` (1 ≤ K ≤ {MAX_WIDTH} levels) or `continuous:LO:HI` (LO < HI)"
        ))
    };
    let parts: Vec<&str> = text.split(':').collect();
    match parts.as_slice() {
        ["discrete", k] => {
            let levels = k
                .trim()
                .parse::<usize>()
                .ok()
                .filter(|&k| (1..=MAX_WIDTH).contains(&k))
                .ok_or_else(bad)?;
            let labels = match meta.get("dgmf.fidelity_labels") {
                None => None,
                Some(l) => {
                    let labels: Vec<String> = list(l).into_iter().map(String::from).collect();
                    if labels.len() != levels {
                        return Err(Error::contract(format!(
                            "dgmf.fidelity_labels has {} labels but dgmf.fidelity declares {levels} levels",
                            labels.len()
                        )));
                    }
                    Some(labels)
                }
            };
            Ok(Fidelity::Discrete { levels, labels })
        }
        ["continuous", lo, hi] => {
            let lo = parse_number("dgmf.fidelity", lo)?;
            let hi = parse_number("dgmf.fidelity", hi)?;
            check_f32("dgmf.fidelity", lo)?;
            check_f32("dgmf.fidelity", hi)?;
            if lo >= hi {
                return Err(bad());
            }
            Ok(Fidelity::Continuous { lo, hi })
        }
        _ => Err(bad()),
    }
}

fn affine(
    meta: &BTreeMap<String, String>,
    key: &str,
    channels: usize,
    default: f32,
) -> Result<Vec<f32>> {
    if !meta.contains_key(key) {
        return Ok(vec![default]);
    }
    let values = numbers(meta, key)?;
    if values.len() != 1 && values.len() != channels {
        return Err(Error::contract(format!(
            "{key} has {} entries; expected 1 or one per channel ({channels}, the first entry of dgmf.shape)",
            values.len()
        )));
    }
    for &v in &values {
        check_f32(key, v)?;
        if key == "dgmf.data_scale" && (v as f32) == 0.0 {
            return Err(Error::contract(format!(
                "dgmf.data_scale entry {v} is zero in float32; scales must be non-zero"
            )));
        }
    }
    Ok(values.into_iter().map(|v| v as f32).collect())
}

mod signature;
use signature::check_signature;

#[cfg(test)]
mod tests;
