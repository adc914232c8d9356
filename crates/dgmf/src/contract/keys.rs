//! The metadata side of the contract: each `dgmf.*` value parsed and checked (numbers finite and within
//! float32, shapes and lists bounded, ranges ordered), with errors that name the key and the fix.
use std::collections::BTreeMap;

use super::{Fidelity, Variable, MAX_RANK, MAX_SAMPLE_LEN, MAX_WIDTH};
use crate::error::{Error, Result};

pub(super) fn required<'m>(meta: &'m BTreeMap<String, String>, key: &str) -> Result<&'m str> {
    meta.get(key).map(String::as_str).ok_or_else(|| {
        Error::contract(format!(
            "metadata key `{key}` is missing: every dgmf model must set it (see docs/model-contract.md)"
        ))
    })
}

pub(super) fn parse_number(key: &str, text: &str) -> Result<f64> {
    match text.trim().parse::<f64>() {
        Ok(v) if v.is_finite() => Ok(v),
        _ => Err(Error::contract(format!(
            "{key}: `{text}` is not a finite decimal number"
        ))),
    }
}

pub(super) fn number(meta: &BTreeMap<String, String>, key: &str) -> Result<f64> {
    parse_number(key, required(meta, key)?)
}

pub(super) fn list(text: &str) -> Vec<&str> {
    text.split(',').map(str::trim).collect()
}

pub(super) fn numbers(meta: &BTreeMap<String, String>, key: &str) -> Result<Vec<f64>> {
    list(required(meta, key)?)
        .into_iter()
        .map(|t| parse_number(key, t))
        .collect()
}

pub(super) fn parse_shape(text: &str) -> Result<Vec<usize>> {
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
pub(super) fn check_f32(key: &str, v: f64) -> Result<()> {
    if v.abs() > f32::MAX as f64 {
        return Err(Error::contract(format!(
            "{key} = {v:e} is outside the float32 range (±3.4e38) the network computes in"
        )));
    }
    Ok(())
}

pub(super) fn variables(
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

/// Members of a deep ensemble at most (`dgmf.members`): far more than anyone trains, few enough that the
/// graph's chain of member selections stays shallow.
pub const MAX_MEMBERS: usize = 64;

/// `dgmf.members`: absent is one network (every contract-v1 model before ensembles); K in
/// 2..=MAX_MEMBERS is a deep ensemble of K networks behind the `member` input.
pub(super) fn parse_members(meta: &BTreeMap<String, String>) -> Result<usize> {
    let Some(text) = meta.get("dgmf.members") else {
        return Ok(1);
    };
    text.trim()
        .parse::<usize>()
        .ok()
        .filter(|k| (2..=MAX_MEMBERS).contains(k))
        .ok_or_else(|| {
            Error::contract(format!(
                "dgmf.members is `{}`; expected the member count K, 2 ≤ K ≤ {MAX_MEMBERS} (a single network \
                 has no dgmf.members key)",
                crate::error::printable(text)
            ))
        })
}

pub(super) fn parse_fidelity(meta: &BTreeMap<String, String>) -> Result<Fidelity> {
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

pub(super) fn affine(
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

/// `dgmf.std_scale`: the factor the engine multiplies the ensemble std by (a calibration, fitted by
/// `dgmf calibrate`): absent = 1; one value for every fidelity, or (discrete fidelity) one per level. Each
/// must be finite and positive: a zero would claim certainty, a negative value is no std.
pub(super) fn std_scale(meta: &BTreeMap<String, String>, fidelity: &Fidelity) -> Result<Vec<f32>> {
    const KEY: &str = "dgmf.std_scale";
    if !meta.contains_key(KEY) {
        return Ok(Vec::new());
    }
    let values = numbers(meta, KEY)?;
    let levels = match fidelity {
        Fidelity::Discrete { levels, .. } => Some(*levels),
        Fidelity::Continuous { .. } => None,
    };
    if values.len() != 1 && Some(values.len()) != levels {
        let expected = match levels {
            Some(l) => format!("1 or one per fidelity level ({l})"),
            None => "1 (the fidelity is continuous)".to_string(),
        };
        return Err(Error::contract(format!(
            "{KEY} has {} entries; expected {expected}",
            values.len()
        )));
    }
    for &v in &values {
        check_f32(KEY, v)?;
        if !(v > 0.0 && (v as f32) > 0.0) {
            return Err(Error::contract(format!(
                "{KEY} entry {v} is not a positive number; a std scale must be > 0 (rerun dgmf calibrate)"
            )));
        }
    }
    Ok(values.into_iter().map(|v| v as f32).collect())
}
