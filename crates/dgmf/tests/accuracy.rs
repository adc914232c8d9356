//! The shipped models, served by the engine, keep the accuracy docs/accuracy.md reports.
//!
//! The documented figures live in models/<name>/accuracy.json (written by scripts/accuracy.sh through
//! the CLI with the same requests): the error against the exact solutions on the first 16 test cases
//! (the library's default sampler, seed 0, one sample; for Burgers a case is its 16 time slices), the
//! worst error on the declared-range set models/<name>/box/, and the ±2σ coverage of the calibrated
//! ensemble std on the same 16 cases. The engine's noise is deterministic, so the figures here should
//! match up to ONNX Runtime's floating-point differences between machines and thread counts; the margin
//! allows 10 % + 0.002 on errors and 1 point on the coverage.

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

/// A shipped set (the test split, or the declared-range set `box/`): its first `cases` cases as queries.
struct Set {
    queries: Vec<Query>,
    reference: Vec<f64>,
    case: Vec<usize>,
    cases: usize,
    /// Values per sample.
    n: usize,
}

fn load_set(dir: &Path, model: &Model, cases: Option<usize>) -> Set {
    let (pshape, params) = npy(dir, "params.npy");
    let (_, fidelity) = npy(dir, "fidelity.npy");
    let (ushape, reference) = npy(dir, "u.npy");
    let coords = dir
        .join("coords.npy")
        .exists()
        .then(|| npy(dir, "coords.npy"));
    let all_case: Vec<usize> = if dir.join("case.npy").exists() {
        npy(dir, "case.npy").1.iter().map(|&c| c as usize).collect()
    } else {
        (0..pshape[0]).collect()
    };
    let cases = cases.unwrap_or(all_case.iter().max().map_or(0, |c| c + 1));
    let rows = all_case.iter().take_while(|&&c| c < cases).count();
    let (p, n) = (pshape[1], ushape[1..].iter().product::<usize>());
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
    Set {
        queries,
        reference: reference[..rows * n].to_vec(),
        case: all_case[..rows].to_vec(),
        cases,
        n,
    }
}

fn request(doc: &Value, set: &Set, samples: usize) -> Request {
    // A student's or an ensemble's figures name its whole sampler spec (`consistency ... sigma_last=...`).
    let cfg = match doc["spec"].as_str() {
        Some(spec) => SamplerConfig::from_spec(spec).unwrap(),
        None => {
            let kind = SamplerKind::parse(doc["sampler"].as_str().unwrap()).unwrap();
            SamplerConfig {
                steps: doc["steps"].as_u64().unwrap() as usize,
                ..SamplerConfig::new(kind)
            }
        }
    };
    let mut req = Request::new(set.queries.clone(), cfg);
    req.seed = doc["seed"].as_u64().unwrap();
    req.n_samples = samples;
    req
}

/// Relative L2 error per case, the rows of one case taken together.
fn case_errors(mean: &[f32], set: &Set) -> Vec<f64> {
    let (mut num, mut den) = (vec![0.0; set.cases], vec![0.0; set.cases]);
    for (i, &c) in set.case.iter().enumerate() {
        let (u, r) = (
            &mean[i * set.n..(i + 1) * set.n],
            &set.reference[i * set.n..(i + 1) * set.n],
        );
        num[c] += u
            .iter()
            .zip(r)
            .map(|(&a, &b)| (a as f64 - b).powi(2))
            .sum::<f64>();
        den[c] += r.iter().map(|b| b * b).sum::<f64>();
    }
    num.iter().zip(&den).map(|(a, b)| (a / b).sqrt()).collect()
}

fn assert_within(name: &str, what: &str, got: f64, documented: f64) {
    let bound = documented * (1.0 + MARGIN_REL) + MARGIN_ABS;
    eprintln!("{name}: {what} {got:.5} (documented {documented:.5}, bound {bound:.5})");
    assert!(got <= bound, "{name}: {what} {got} above {bound}");
}

/// `sanity`: a mean error any real surrogate beats by far (a zero or mean-field guess is ~1 for the PDEs;
/// for the L-bracket the test set's own mean design is 0.56 from the SIMP optima, the uniform start 0.66).
fn check(name: &str, sanity: f64) {
    check_model(name, name, "accuracy.json", sanity);
}

/// `models/<file>.onnx` on the test sets of `models/<name>/` against the figures in `models/<name>/<doc>`
/// (a student, `<name>_fast.onnx`, has its own: `accuracy_fast.json`).
/// Returns what an ensemble's check needs besides: the model's member count and the figures' sample count.
fn check_model(name: &str, file: &str, doc: &str, sanity: f64) -> (usize, usize) {
    let dir = models().join(name);
    let doc: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join(doc)).unwrap()).expect("valid JSON");
    let model = Model::load(
        models().join(format!("{file}.onnx")),
        &SessionOptions::default(),
    )
    .unwrap_or_else(|e| panic!("{file}: {e}"));

    // The test split's first cases against the exact solutions, with the documented sample count (one;
    // a deep ensemble's: one per member).
    let one = doc["samples"].as_u64().unwrap() as usize;
    let set = load_set(&dir, &model, Some(doc["cases"].as_u64().unwrap() as usize));
    let pred = model.predict(&request(&doc, &set, one), None).unwrap();
    let errors = case_errors(pred.mean.as_slice().unwrap(), &set);
    let mean = errors.iter().sum::<f64>() / errors.len() as f64;
    let worst = errors.iter().cloned().fold(0.0, f64::max);
    assert_within(
        name,
        "mean relative L2",
        mean,
        doc["mean"].as_f64().unwrap(),
    );
    assert_within(
        name,
        "worst relative L2",
        worst,
        doc["worst"].as_f64().unwrap(),
    );
    // And the surrogate is a surrogate: far better than, e.g., a zero or mean-field guess.
    assert!(mean < sanity, "{name}: mean relative L2 {mean}");

    // Every declared range: the box set (corners and uniform draws) bounds the worst case.
    let box_set = load_set(&dir.join("box"), &model, None);
    let pred = model.predict(&request(&doc, &box_set, one), None).unwrap();
    let errors = case_errors(pred.mean.as_slice().unwrap(), &box_set);
    let worst = errors.iter().cloned().fold(0.0, f64::max);
    assert_eq!(errors.len() as u64, doc["box"]["cases"].as_u64().unwrap());
    assert_within(
        name,
        "worst relative L2 on the box",
        worst,
        doc["box"]["worst"].as_f64().unwrap(),
    );

    // The calibrated std: the shipped scale, and its ±2σ coverage on the same cases (points whose std
    // is exactly zero are values the model imposes, left out as `dgmf calibrate` leaves them out).
    let cal = &doc["calibration"];
    let scale = cal["scale"].as_f64().unwrap() as f32;
    assert_eq!(
        model.contract().std_scale,
        [scale],
        "{name}: the shipped model's dgmf.std_scale"
    );
    let samples = cal["samples"].as_u64().unwrap() as usize;
    let pred = model.predict(&request(&doc, &set, samples), None).unwrap();
    let std = pred.std.unwrap();
    let (mut covered, mut points) = (0usize, 0usize);
    for ((&m, &s), &r) in pred.mean.iter().zip(std.iter()).zip(&set.reference) {
        if s > 0.0 {
            points += 1;
            covered += usize::from((m as f64 - r).abs() <= 2.0 * s as f64);
        }
    }
    let coverage = covered as f64 / points as f64;
    let documented = cal["coverage_2sigma"].as_f64().unwrap();
    eprintln!("{name}: ±2σ coverage {coverage:.4} (documented {documented:.4})");
    assert!(
        (coverage - documented).abs() <= 0.01,
        "{name}: ±2σ coverage {coverage} differs from the documented {documented}"
    );
    (model.contract().members, one)
}

#[test]
fn shipped_poisson_model_meets_its_documented_accuracy() {
    check("poisson", 0.1);
}

#[test]
fn shipped_heat_model_meets_its_documented_accuracy() {
    check("heat", 0.1);
}

#[test]
fn shipped_heat_student_meets_its_documented_accuracy() {
    check_model("heat", "heat_fast", "accuracy_fast.json", 0.1);
}

#[test]
fn shipped_burgers_model_meets_its_documented_accuracy() {
    check("burgers", 0.1);
}

/// The few-step student (docs/distill.md): two network evaluations a sample.
#[test]
fn shipped_burgers_student_meets_its_documented_accuracy() {
    check_model("burgers", "burgers_fast", "accuracy_fast.json", 0.1);
}

#[test]
fn shipped_poisson_student_meets_its_documented_accuracy() {
    check_model("poisson", "poisson_fast", "accuracy_fast.json", 0.1);
}

#[test]
fn shipped_topopt_model_meets_its_documented_accuracy() {
    check("topopt", 0.3);
}

#[test]
fn shipped_topopt_student_meets_its_documented_accuracy() {
    check_model("topopt", "topopt_fast", "accuracy_fast.json", 0.3);
}

#[test]
fn shipped_flow_model_meets_its_documented_accuracy() {
    // A zero guess is 1 from the reference; the velocity field is far from it after t = 0.
    check("flow", 0.3);
}

#[test]
fn shipped_flow_student_meets_its_documented_accuracy() {
    check_model("flow", "flow_fast", "accuracy_fast.json", 0.3);
}

/// A shipped deep ensemble (`models/<name>_<tag>.onnx`, docs/uncertainty.md): `members` networks, the
/// first the shipped one (tag `ens`) or the shipped student (tag `fast_ens`: one student per member), its
/// figures in `accuracy_<tag>.json` (the calibrated std's coverage is the mixture's: the samples there
/// come from every member alike).
fn check_ensemble(name: &str, tag: &str, members: usize, sanity: f64) {
    let file = format!("{name}_{tag}");
    let (loaded, samples) = check_model(name, &file, &format!("accuracy_{tag}.json"), sanity);
    assert_eq!(loaded, members, "{file}: members");
    // Its error figures are the ensemble's, not its first network's: one sample from every member.
    assert_eq!(samples, members, "{file}: samples");
}

#[test]
fn shipped_poisson_ensemble_meets_its_documented_accuracy() {
    check_ensemble("poisson", "ens", 3, 0.1);
}

#[test]
fn shipped_burgers_ensemble_meets_its_documented_accuracy() {
    check_ensemble("burgers", "ens", 3, 0.1);
}

#[test]
fn shipped_heat_ensemble_meets_its_documented_accuracy() {
    check_ensemble("heat", "ens", 3, 0.1);
}

/// The ensemble of few-step students (docs/uncertainty.md): the shipped student and one student per new
/// network, two evaluations a sample.
#[test]
fn shipped_poisson_student_ensemble_meets_its_documented_accuracy() {
    check_ensemble("poisson", "fast_ens", 3, 0.1);
}

#[test]
fn shipped_heat_student_ensemble_meets_its_documented_accuracy() {
    check_ensemble("heat", "fast_ens", 3, 0.1);
}

#[test]
fn shipped_flow_student_ensemble_meets_its_documented_accuracy() {
    check_ensemble("flow", "fast_ens", 3, 0.3);
}

#[test]
fn shipped_topopt_ensemble_meets_its_documented_accuracy() {
    check_ensemble("topopt", "ens", 3, 0.3);
}

#[test]
fn shipped_flow_ensemble_meets_its_documented_accuracy() {
    check_ensemble("flow", "ens", 3, 0.3);
}

#[test]
fn shipped_topopt_student_ensemble_meets_its_documented_accuracy() {
    check_ensemble("topopt", "fast_ens", 3, 0.3);
}

#[test]
fn shipped_burgers_student_ensemble_meets_its_documented_accuracy() {
    check_ensemble("burgers", "fast_ens", 3, 0.1);
}
