//! Requests and checks shared by the engine tests (samplers.rs, misuse.rs).
#![allow(dead_code)]

use super::{models_dir, Analytic};
use dgmf::samplers::{SamplerConfig, SamplerKind};
use dgmf::{FidelityValue, Model, Query, Request, SessionOptions};

pub fn query() -> Query {
    Query {
        params: vec![0.3, -0.6],
        fidelity: FidelityValue::Level(2),
        coords: vec![],
    }
}

/// Three queries at different parameters and fidelity levels, the first being [`query`].
pub fn three_queries() -> Vec<Query> {
    let at = |params: [f64; 2], level| Query {
        params: params.to_vec(),
        fidelity: FidelityValue::Level(level),
        coords: vec![],
    };
    vec![query(), at([0.2, 0.5], 0), at([0.9, 0.1], 1)]
}

pub fn request(sampler: &str, steps: Option<usize>, samples: usize) -> Request {
    let mut cfg = SamplerConfig::new(SamplerKind::parse(sampler).unwrap());
    if let Some(s) = steps {
        cfg.steps = s;
    }
    let mut req = Request::new(vec![query()], cfg);
    req.n_samples = samples;
    req.seed = 11;
    req.max_batch = 512;
    req
}

/// Per-element mean within 5 standard errors (std/√M) plus `bias_mean`·std, and the pooled variance ratio
/// within 5 standard errors √(2/((M−1)·n)) plus `bias_var`. The biases bound each sampler's
/// discretization error; `ode` selects the deterministic-flow target (see `Analytic::target`).
#[allow(clippy::too_many_arguments)]
pub fn assert_matches(
    name: &str,
    truth: &Analytic,
    q: &Query,
    ode: bool,
    (mean, std): (&[f32], &[f32]),
    m: usize,
    bias_mean: f64,
    bias_var: f64,
) {
    let (want, sd) = truth.target(q, ode);
    let n = truth.len();
    let mut ratio = 0.0;
    for e in 0..n {
        let tol = 5.0 * sd[e] / (m as f64).sqrt() + bias_mean * sd[e];
        assert!(
            (mean[e] as f64 - want[e]).abs() < tol,
            "{name}: element {e}: mean {} vs {}",
            mean[e],
            want[e]
        );
        ratio += (std[e] as f64 / sd[e]).powi(2) / n as f64;
    }
    let se = (2.0 / ((m - 1) * n) as f64).sqrt();
    assert!(
        (ratio - 1.0).abs() < 5.0 * se + bias_var,
        "{name}: variance ratio {ratio} (se {se})"
    );
}

pub fn is_ode(name: &str) -> bool {
    matches!(name, "ode-euler" | "heun" | "dpmpp-2m")
}

/// `bytes` with one more `metadata_props` entry (ModelProto field 14) appended: repeated protobuf fields
/// append, so this is how a file with a duplicate or non-UTF-8 entry looks.
pub fn with_metadata(bytes: &[u8], key: &[u8], value: &[u8]) -> Vec<u8> {
    let mut out = bytes.to_vec();
    out.extend(metadata_entry(key, value));
    out
}

/// One encoded `metadata_props` entry (field 14: StringStringEntryProto {1: key, 2: value}), of any length.
pub fn metadata_entry(key: &[u8], value: &[u8]) -> Vec<u8> {
    fn field(out: &mut Vec<u8>, tag: u8, bytes: &[u8]) {
        out.push(tag);
        let mut v = bytes.len() as u64;
        while v >= 0x80 {
            out.push((v as u8) | 0x80);
            v >>= 7;
        }
        out.push(v as u8);
        out.extend_from_slice(bytes);
    }
    let mut entry = Vec::new();
    field(&mut entry, 0x0a, key);
    field(&mut entry, 0x12, value);
    let mut out = Vec::new();
    field(&mut out, 0x72, &entry);
    out
}

pub fn load_bad(name: &str) -> Model {
    Model::load(
        models_dir().join("bad").join(name),
        &SessionOptions::default(),
    )
    .unwrap()
}

/// A result array as the row-major buffer it is.
pub fn flat(a: &dgmf::ndarray::ArrayD<f32>) -> &[f32] {
    a.as_slice().expect("results are in standard layout")
}
