//! The graph side of the contract: the inputs and the output ONNX Runtime reports, checked against what
//! the metadata declares (names, ranks, fixed dims, element types).

use super::{ElemType, Fidelity, IoTypes, TensorSpec};
use crate::error::{Error, Result};

const ROLES: [&str; 6] = ["z", "sigma", "params", "fidelity", "coords", "member"];

pub(super) fn check_signature(
    inputs: &[TensorSpec],
    outputs: &[TensorSpec],
    shape: &[usize],
    n_params: usize,
    fidelity: &Fidelity,
    n_coords: usize,
    members: usize,
) -> Result<IoTypes> {
    for input in inputs {
        if !ROLES.contains(&input.name.as_str()) {
            return Err(Error::contract(format!(
                "unexpected model input `{}`; contract v1 inputs are z, sigma, params, fidelity and (optionally) \
                 coords, and member for a deep ensemble",
                input.name
            )));
        }
    }
    let find = |name: &str| inputs.iter().find(|i| i.name == name);
    let get = |name: &str| {
        find(name).ok_or_else(|| {
            Error::contract(format!(
                "the model has no input `{name}`, which contract v1 requires"
            ))
        })
    };
    let mut z_dims = vec![-1i64];
    z_dims.extend(shape.iter().map(|&d| d as i64));
    let z = tensor_type(get("z")?, &z_dims, "dgmf.shape")?;
    let sigma = tensor_type(get("sigma")?, &[-1], "")?;
    let params = tensor_type(get("params")?, &[-1, n_params as i64], "dgmf.param_names")?;
    let fid_key = "dgmf.fidelity";
    let fidelity = tensor_type(get("fidelity")?, &[-1, fidelity.width() as i64], fid_key)?;
    let coords = match (find("coords"), n_coords) {
        (None, 0) => None,
        (Some(c), q) if q > 0 => Some(tensor_type(c, &[-1, q as i64], "dgmf.coord_names")?),
        (Some(_), _) => {
            return Err(Error::contract(
                "the model has a `coords` input but no dgmf.coord_names/coord_min/coord_max metadata",
            ))
        }
        (None, _) => {
            return Err(Error::contract(
                "dgmf.coord_names is set but the model has no `coords` input; remove the keys or add the input",
            ))
        }
    };
    let member = check_member(find("member"), members)?;
    if outputs.len() != 1 {
        return Err(Error::contract(format!(
            "the model has {} outputs; contract v1 requires exactly one, shaped [batch, {}]",
            outputs.len(),
            join(shape)
        )));
    }
    let output = tensor_type(&outputs[0], &z_dims, "dgmf.shape")?;
    Ok(IoTypes {
        z,
        sigma,
        params,
        fidelity,
        coords,
        member,
        output,
    })
}

/// A deep ensemble's `member` input: a scalar int64 (the graph's member selection takes one member per
/// call), present exactly when `dgmf.members` declares K ≥ 2.
fn check_member(spec: Option<&TensorSpec>, members: usize) -> Result<Option<usize>> {
    match (spec, members) {
        (None, 1) => Ok(None),
        (None, k) => Err(Error::contract(format!(
            "dgmf.members = {k} but the model has no `member` input; a deep ensemble selects its network \
             through a scalar int64 input `member` (dgmf-train ensemble builds one)"
        ))),
        (Some(_), 1) => Err(Error::contract(
            "the model has a `member` input but no dgmf.members key; set dgmf.members to the number of \
             networks (dgmf-train ensemble writes both)",
        )),
        (Some(s), _) => {
            let scalar = matches!(s.dims.as_deref(), Some([]) | Some([1]));
            if s.elem.as_ref().err().map(String::as_str) != Some("int64") || !scalar {
                return Err(Error::contract(format!(
                    "model input `member` is {} with dims {:?}; a deep ensemble's member input is a scalar \
                     int64 (dims [] or [1])",
                    match &s.elem {
                        Ok(e) => format!("{e:?}").to_lowercase(),
                        Err(t) => t.clone(),
                    },
                    s.dims
                )));
            }
            Ok(s.dims.as_ref().map(Vec::len))
        }
    }
}

fn join(dims: &[usize]) -> String {
    dims.iter()
        .map(|d| d.to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

fn fmt_dims(dims: &[i64]) -> String {
    let d: Vec<String> = dims
        .iter()
        .map(|&d| if d < 0 { "batch".into() } else { d.to_string() })
        .collect();
    format!("[{}]", d.join(", "))
}

/// Checks one tensor against the expected dims (−1 = the dynamic batch axis). Symbolic non-batch dims are
/// accepted: ONNX Runtime checks them at run time.
fn tensor_type(spec: &TensorSpec, expected: &[i64], key: &str) -> Result<ElemType> {
    let what = format!("model input/output `{}`", spec.name);
    let dims = spec
        .dims
        .as_ref()
        .ok_or_else(|| Error::contract(format!("{what} is not a tensor")))?;
    let elem = spec.elem.clone().map_err(|t| {
        Error::contract(format!(
            "{what} has element type {t}; contract v1 needs float32 or float16"
        ))
    })?;
    let source = if key.is_empty() {
        String::new()
    } else {
        format!(" (from {key})")
    };
    if dims.len() != expected.len() {
        return Err(Error::contract(format!(
            "{what} has rank {} but the contract expects {}{source}",
            dims.len(),
            fmt_dims(expected)
        )));
    }
    if dims[0] > 0 {
        return Err(Error::contract(format!(
            "{what} has a fixed batch dimension {}; export it with a dynamic batch axis",
            dims[0]
        )));
    }
    for (&got, &want) in dims.iter().zip(expected).skip(1) {
        if got > 0 && got != want {
            return Err(Error::contract(format!(
                "{what} has dims {} but the contract expects {}{source}",
                fmt_dims(dims),
                fmt_dims(expected)
            )));
        }
    }
    Ok(elem)
}
