//! The shipped models, served by the engine, keep the accuracy docs/accuracy.md reports.
//!
//! The documented figure lives in models/<name>/accuracy.json (written by scripts/accuracy.sh through
//! the CLI with the same request: the first 16 test cases, the library's default sampler, seed 0, one
//! sample; for Burgers a case is its 16 time slices). The engine's noise is deterministic, so the
//! error here should match it up to ONNX Runtime's floating-point differences between machines and
//! thread counts; the margin allows 10 % + 0.002.

use std::path::{Path, PathBuf};

use dgmf::contract::Fidelity;
use dgmf::samplers::{SamplerConfig, SamplerKind};
use dgmf::{FidelityValue, Model, Query, Request, SessionOptions};
use serde_json::Value;

const MARGIN_REL: f64 = 0.10;
const MARGIN_ABS: f64 = 0.002;

fn models() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../models")
}

/// A shipped (trusted) test-set array as (shape, values); the files hold float64, float32 or int64.
fn npy(dir: &Path, name: &str) -> (Vec<usize>, Vec<f64>) {
    use dgmf::ndarray::ArrayD;
    use ndarray_npy::read_npy;
    let path = dir.join(name);
    let a: ArrayD<f64> = read_npy(&path)
        .or_else(|_| read_npy::<_, ArrayD<f32>>(&path).map(|a| a.mapv(f64::from)))
        .or_else(|_| read_npy::<_, ArrayD<i64>>(&path).map(|a| a.mapv(|v| v as f64)))
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    (a.shape().to_vec(), a.iter().copied().collect())
}

fn check(name: &str) {
    let dir = models().join(name);
    let doc: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("accuracy.json")).unwrap())
            .expect("valid JSON");
    let cases = doc["cases"].as_u64().unwrap() as usize;
    let (documented, documented_worst) = (
        doc["mean"].as_f64().unwrap(),
        doc["worst"].as_f64().unwrap(),
    );

    let (pshape, params) = npy(&dir, "params.npy");
    let (_, fidelity) = npy(&dir, "fidelity.npy");
    let (ushape, reference) = npy(&dir, "u.npy");
    let coords = dir
        .join("coords.npy")
        .exists()
        .then(|| npy(&dir, "coords.npy"));
    let case: Vec<usize> = if dir.join("case.npy").exists() {
        npy(&dir, "case.npy")
            .1
            .iter()
            .map(|&c| c as usize)
            .collect()
    } else {
        (0..pshape[0]).collect()
    };
    let rows = case.iter().take_while(|&&c| c < cases).count();
    let (p, n) = (pshape[1], ushape[1..].iter().product::<usize>());

    let model = Model::load(dir.with_extension("onnx"), &SessionOptions::default())
        .unwrap_or_else(|e| panic!("{name}: {e}"));
    let queries = (0..rows)
        .map(|i| Query {
            params: params[i * p..(i + 1) * p].to_vec(),
            fidelity: match model.contract().fidelity {
                Fidelity::Discrete { .. } => FidelityValue::Level(fidelity[i] as usize),
                Fidelity::Continuous { .. } => FidelityValue::Value(fidelity[i]),
            },
            coords: coords
                .as_ref()
                .map(|(s, c)| c[i * s[1]..(i + 1) * s[1]].to_vec())
                .unwrap_or_default(),
        })
        .collect();
    let mut cfg = SamplerConfig::new(SamplerKind::parse(doc["sampler"].as_str().unwrap()).unwrap());
    cfg.steps = doc["steps"].as_u64().unwrap() as usize;
    let mut req = Request::new(queries, cfg);
    req.seed = doc["seed"].as_u64().unwrap();
    let pred = model.predict(&req, None).unwrap();

    // Relative L2 per case, the rows of one case taken together.
    let (mut num, mut den) = (vec![0.0; cases], vec![0.0; cases]);
    for i in 0..rows {
        let (u, r) = (
            &pred.mean.as_slice().unwrap()[i * n..(i + 1) * n],
            &reference[i * n..(i + 1) * n],
        );
        num[case[i]] += u
            .iter()
            .zip(r)
            .map(|(&a, &b)| (a as f64 - b).powi(2))
            .sum::<f64>();
        den[case[i]] += r.iter().map(|b| b * b).sum::<f64>();
    }
    let errors: Vec<f64> = num.iter().zip(&den).map(|(a, b)| (a / b).sqrt()).collect();
    let mean = errors.iter().sum::<f64>() / cases as f64;
    let worst = errors.iter().cloned().fold(0.0, f64::max);
    let bound = documented * (1.0 + MARGIN_REL) + MARGIN_ABS;
    let worst_bound = documented_worst * (1.0 + MARGIN_REL) + MARGIN_ABS;
    eprintln!(
        "{name}, {cases} cases: mean {mean:.5} (documented {documented:.5}, bound {bound:.5}), worst {worst:.5}"
    );
    assert!(
        mean <= bound,
        "{name}: mean relative L2 {mean} above {bound}"
    );
    assert!(
        worst <= worst_bound,
        "{name}: worst relative L2 {worst} above {worst_bound}"
    );
    // And the surrogate is a surrogate: far better than, e.g., a zero or mean-field guess.
    assert!(mean < 0.1, "{name}: mean relative L2 {mean}");
}

#[test]
fn shipped_poisson_model_meets_its_documented_accuracy() {
    check("poisson");
}

#[test]
fn shipped_heat_model_meets_its_documented_accuracy() {
    check("heat");
}

#[test]
fn shipped_burgers_model_meets_its_documented_accuracy() {
    check("burgers");
}
