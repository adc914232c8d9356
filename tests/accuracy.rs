//! The shipped Poisson model, served by the engine, keeps the accuracy docs/accuracy.md reports.
//!
//! The documented figure lives in models/poisson/accuracy.json (written by scripts/accuracy.sh
//! through the CLI with the same request: first 16 test cases, heun 18, seed 0, one sample).
//! The engine's noise is deterministic, so the error here should match it up to ONNX Runtime's
//! floating-point differences between machines and thread counts; the margin allows 10 % + 0.002.

use std::path::PathBuf;

use dgmf::samplers::{SamplerConfig, SamplerKind};
use dgmf::{FidelityValue, Model, Query, Request, SessionOptions};
use serde_json::Value;

const MARGIN_REL: f64 = 0.10;
const MARGIN_ABS: f64 = 0.002;

fn models() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("models")
}

#[test]
fn shipped_poisson_model_meets_its_documented_accuracy() {
    let doc: Value = serde_json::from_str(
        &std::fs::read_to_string(models().join("poisson/accuracy.json")).expect("accuracy.json"),
    )
    .expect("valid JSON");
    let cases = doc["cases"].as_u64().unwrap() as usize;
    let steps = doc["steps"].as_u64().unwrap() as usize;
    let documented = doc["mean"].as_f64().unwrap();
    let documented_worst = doc["worst"].as_f64().unwrap();

    let (pshape, params) = dgmf::npy::read_f64(&models().join("poisson/params.npy")).unwrap();
    let (_, fidelity) = dgmf::npy::read_f64(&models().join("poisson/fidelity.npy")).unwrap();
    let (ushape, reference) = dgmf::npy::read_f64(&models().join("poisson/u.npy")).unwrap();
    let p = pshape[1];
    let n = ushape[1..].iter().product::<usize>();
    assert!(pshape[0] >= cases && ushape[0] == pshape[0]);

    let model = Model::load(models().join("poisson.onnx"), &SessionOptions::default())
        .unwrap_or_else(|e| panic!("{e}"));
    let queries = (0..cases)
        .map(|i| Query {
            params: params[i * p..(i + 1) * p].to_vec(),
            fidelity: FidelityValue::Level(fidelity[i] as usize),
            coords: vec![],
        })
        .collect();
    let mut cfg = SamplerConfig::new(SamplerKind::parse(doc["sampler"].as_str().unwrap()).unwrap());
    cfg.steps = steps;
    let mut req = Request::new(queries, cfg);
    req.seed = doc["seed"].as_u64().unwrap();
    let pred = model.predict(&req, None).unwrap();

    let errors: Vec<f64> = (0..cases)
        .map(|i| {
            let (u, r) = (
                &pred.mean[i * n..(i + 1) * n],
                &reference[i * n..(i + 1) * n],
            );
            let num: f64 = u.iter().zip(r).map(|(&a, &b)| (a as f64 - b).powi(2)).sum();
            let den: f64 = r.iter().map(|b| b * b).sum();
            (num / den).sqrt()
        })
        .collect();
    let mean = errors.iter().sum::<f64>() / cases as f64;
    let worst = errors.iter().cloned().fold(0.0, f64::max);
    let bound = documented * (1.0 + MARGIN_REL) + MARGIN_ABS;
    let worst_bound = documented_worst * (1.0 + MARGIN_REL) + MARGIN_ABS;
    eprintln!("poisson, {cases} cases: mean {mean:.5} (documented {documented:.5}, bound {bound:.5}), worst {worst:.5}");
    assert!(mean <= bound, "mean relative L2 {mean} above {bound}");
    assert!(
        worst <= worst_bound,
        "worst relative L2 {worst} above {worst_bound}"
    );
    // And the surrogate is a surrogate: far better than predicting the test-set mean field.
    assert!(mean < 0.2, "mean relative L2 {mean}");
}
