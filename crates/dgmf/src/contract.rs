//! Model contract v1: what a dgmf score model must declare (ONNX metadata) and expose (inputs/outputs).
//! Parsing is pure — it takes the metadata map and the graph's input/output descriptions — so every rule
//! is testable without ONNX Runtime. See docs/model-contract.md.

use std::collections::BTreeMap;

use crate::error::{Error, Result};
use crate::samplers::SamplerConfig;

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
    /// The rank (0 or 1) of a deep ensemble's scalar int64 `member` input; `None` without one.
    pub member: Option<usize>,
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
    /// `dgmf.std_scale`: the calibration factor of the ensemble std, one value or one per discrete level
    /// (empty: none, the std as sampled). See [`Contract::std_scale_for`].
    pub std_scale: Vec<f32>,
    /// `dgmf.sampler`: the sampler the model recommends (its spec, [`SamplerConfig::from_spec`]) — the
    /// one its `dgmf.std_scale` was fitted with, which `dgmf calibrate` writes. `None`: the library
    /// default ([`Contract::recommended_sampler`]).
    pub sampler: Option<SamplerConfig>,
    /// `dgmf.members`: the networks of a deep ensemble (1: a single network). Sample j of every query is
    /// drawn by member j mod K, which the graph selects through its scalar int64 input `member`.
    pub members: usize,
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

/// Every `dgmf.*` key contract v1 defines (docs/model-contract.md).
pub const KEYS: &[&str] = &[
    "dgmf.contract",
    "dgmf.sde",
    "dgmf.sigma_min",
    "dgmf.sigma_max",
    "dgmf.output",
    "dgmf.shape",
    "dgmf.param_names",
    "dgmf.param_min",
    "dgmf.param_max",
    "dgmf.fidelity",
    "dgmf.fidelity_labels",
    "dgmf.coord_names",
    "dgmf.coord_min",
    "dgmf.coord_max",
    "dgmf.data_shift",
    "dgmf.data_scale",
    "dgmf.std_scale",
    "dgmf.sampler",
    "dgmf.members",
    "dgmf.name",
    "dgmf.description",
];

/// `dgmf.*` is this library's namespace: a key it does not define is a typo (`dgmf.std_scal` would
/// otherwise run the model uncalibrated without a word) or from a contract this version does not implement.
fn check_known_keys(meta: &BTreeMap<String, String>) -> Result<()> {
    match meta.keys().find(|k| !KEYS.contains(&k.as_str())) {
        None => Ok(()),
        Some(key) => Err(Error::contract(format!(
            "metadata key `{}` is not a key of contract {CONTRACT_VERSION} (a typo?); the dgmf.* keys are {}; \
             rename or remove it (docs/model-contract.md)",
            crate::error::printable(key),
            KEYS.iter().map(|k| &k[5..]).collect::<Vec<_>>().join(", ")
        ))),
    }
}

impl Contract {
    /// The smallest sample count of at least `at_least` that every member of a deep ensemble draws
    /// alike (sample j is member j mod K's): `at_least` rounded up to a multiple of the member count.
    pub fn balanced_samples(&self, at_least: usize) -> usize {
        let k = self.members.max(1);
        at_least.div_ceil(k).saturating_mul(k)
    }

    /// The sampler to use when the caller names none: `dgmf.sampler`, else the library default
    /// [`SamplerConfig::default`].
    pub fn recommended_sampler(&self) -> SamplerConfig {
        self.sampler.unwrap_or_default()
    }

    /// A fidelity as callers pass it, one number (a level index for a discrete fidelity, the value for a
    /// continuous one), as a query takes it. Ranges are checked with the request (`Model::predict`).
    pub fn fidelity_value(&self, v: f64) -> Result<crate::predict::FidelityValue> {
        use crate::predict::FidelityValue;
        match &self.fidelity {
            Fidelity::Continuous { .. } => Ok(FidelityValue::Value(v)),
            Fidelity::Discrete { .. } if v.is_finite() && v >= 0.0 && v.fract() == 0.0 => {
                // Whole numbers beyond usize saturate, and the level check refuses them.
                Ok(FidelityValue::Level(v as usize))
            }
            Fidelity::Discrete { levels, .. } => Err(Error::invalid(format!(
                "fidelity {v} is not a level index; this model has {levels} discrete levels 0..={}",
                levels - 1
            ))),
        }
    }

    /// The factor applied to the ensemble std of a query at discrete `level` (`None` for a continuous
    /// fidelity value): 1 without `dgmf.std_scale`, its one value, or the level's entry.
    pub fn std_scale_for(&self, level: Option<usize>) -> f32 {
        match (self.std_scale.as_slice(), level) {
            ([], _) => 1.0,
            ([one], _) => *one,
            (per_level, Some(l)) => per_level.get(l).copied().unwrap_or(1.0),
            // A per-level list is refused at load for a continuous fidelity.
            (_, None) => 1.0,
        }
    }

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
        check_version(meta)?;
        check_known_keys(meta)?;
        let (sigma_min, sigma_max) = noise_range(meta)?;
        let output = output_kind(meta)?;
        let shape = parse_shape(required(meta, "dgmf.shape")?)?;
        let params = variables(meta, "dgmf.param_names", "dgmf.param_min", "dgmf.param_max")?;
        if params.is_empty() {
            return Err(Error::contract(
                "dgmf.param_names is empty: a model needs at least one PDE parameter",
            ));
        }
        let fidelity = parse_fidelity(meta)?;
        let coords = coordinates(meta)?;
        let channels = shape[0];
        let data_shift = affine(meta, "dgmf.data_shift", channels, 0.0)?;
        let data_scale = affine(meta, "dgmf.data_scale", channels, 1.0)?;
        if let Some(i) = data_scale.iter().position(|&s| s == 0.0) {
            return Err(Error::contract(format!(
                "dgmf.data_scale entry {i} is zero; scales must be non-zero"
            )));
        }
        let std_scale = std_scale(meta, &fidelity)?;
        let sampler = recommended_sampler(meta)?;
        let members = parse_members(meta)?;
        let io = check_signature(
            inputs,
            outputs,
            &shape,
            params.len(),
            &fidelity,
            coords.len(),
            members,
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
            std_scale,
            sampler,
            members,
            name: meta.get("dgmf.name").cloned(),
            description: meta.get("dgmf.description").cloned(),
            io,
        })
    }
}

/// `dgmf.contract` is this library's version and `dgmf.sde` the VE SDE.
fn check_version(meta: &BTreeMap<String, String>) -> Result<()> {
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
    Ok(())
}

/// `dgmf.sigma_min` < `dgmf.sigma_max`, both with σ² a normal float32 number.
fn noise_range(meta: &BTreeMap<String, String>) -> Result<(f64, f64)> {
    let sigma_min = number(meta, "dgmf.sigma_min")?;
    let sigma_max = number(meta, "dgmf.sigma_max")?;
    if !(sigma_min > 0.0 && sigma_min < sigma_max) {
        return Err(Error::contract(format!(
            "invalid noise range: dgmf.sigma_min = {sigma_min}, dgmf.sigma_max = {sigma_max}; need 0 < sigma_min < sigma_max"
        )));
    }
    // The samplers work in float32 with σ²: both squares must be finite, normal float32 numbers.
    if sigma_min * sigma_min < f32::MIN_POSITIVE as f64 || sigma_max * sigma_max > f32::MAX as f64 {
        return Err(Error::contract(format!(
            "noise range dgmf.sigma_min = {sigma_min}, dgmf.sigma_max = {sigma_max} is outside what float32 \
             arithmetic can hold: need 1.1e-19 ≤ sigma_min and sigma_max ≤ 1.8e19 (σ² finite and normal)"
        )));
    }
    Ok((sigma_min, sigma_max))
}

fn output_kind(meta: &BTreeMap<String, String>) -> Result<OutputKind> {
    match required(meta, "dgmf.output")?.trim() {
        "score" => Ok(OutputKind::Score),
        "eps" => Ok(OutputKind::Eps),
        "x0" => Ok(OutputKind::X0),
        other => Err(Error::contract(format!(
            "dgmf.output is `{other}`; expected one of `score`, `eps`, `x0`"
        ))),
    }
}

/// The coordinates, all three keys or none.
fn coordinates(meta: &BTreeMap<String, String>) -> Result<Vec<Variable>> {
    if meta.contains_key("dgmf.coord_names") {
        return variables(meta, "dgmf.coord_names", "dgmf.coord_min", "dgmf.coord_max");
    }
    for key in ["dgmf.coord_min", "dgmf.coord_max"] {
        if meta.contains_key(key) {
            return Err(Error::contract(format!(
                "{key} is set but dgmf.coord_names is missing"
            )));
        }
    }
    Ok(Vec::new())
}

/// `dgmf.sampler`, validated like any configuration.
fn recommended_sampler(meta: &BTreeMap<String, String>) -> Result<Option<SamplerConfig>> {
    meta.get("dgmf.sampler")
        .map(|spec| {
            SamplerConfig::from_spec(spec).map_err(|e| {
                Error::contract(format!(
                    "dgmf.sampler: {}; expected a sampler spec such as `ancestral steps=8` \
                     (docs/model-contract.md), or remove the key",
                    e.message()
                ))
            })
        })
        .transpose()
}

mod keys;
pub use keys::MAX_MEMBERS;
use keys::{
    affine, number, parse_fidelity, parse_members, parse_shape, required, std_scale, variables,
};
mod signature;
use signature::check_signature;

#[cfg(test)]
mod tests;
