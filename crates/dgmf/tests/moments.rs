//! Mergeable ensembles through the real ONNX Runtime: any split of an ensemble into sample ranges, merged
//! in any order, equals one `predict` of all samples within 1e-6 relative; merging in a fixed order is
//! bit-reproducible; every sample is bit-identical to the serial run's (with one row per network call for
//! the GEMM-based shipped networks, whose rows ONNX Runtime rounds with the number of rows in the call).
mod common;

use common::{load, requests};
use dgmf::{EnsembleMoments, ErrorKind, FidelityValue, Model, Query};

/// A small deterministic generator for the random splits (xorshift64*).
struct Rng(u64);
impl Rng {
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 33) as usize % n
    }
}

fn request(samples: usize) -> dgmf::Request {
    let mut req = requests::request("ancestral", Some(12), samples);
    req.queries = requests::three_queries();
    req.max_batch = 7; // batches that cut across queries and parts
    req
}

/// Checks every element within 1e-6 relative of the serial value; returns the largest relative gap.
fn assert_close(what: &str, got: &[f32], want: &[f32]) -> f32 {
    assert_eq!(got.len(), want.len());
    let mut worst = 0f32;
    for (i, (&g, &w)) in got.iter().zip(want).enumerate() {
        worst = worst.max((g - w).abs() / w.abs().max(1e-6));
        let bound = 1e-6 * w.abs().max(1e-6);
        assert!(
            (g - w).abs() <= bound,
            "{what}[{i}]: {g} vs serial {w} (|Δ| {} > {bound})",
            (g - w).abs()
        );
    }
    worst
}

#[test]
fn any_split_merged_in_any_order_equals_the_serial_ensemble() {
    let model = load("analytic_score.onnx");
    let s = 13;
    let req = request(s);
    let serial = model.predict(&req, None).unwrap();
    let (mean, std) = (
        serial.mean.as_slice().unwrap(),
        serial.std.as_ref().unwrap(),
    );
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut worst = 0f32;
    for trial in 0..12 {
        // Random contiguous ranges covering 0..s.
        let mut cuts: Vec<usize> = (0..rng.below(5)).map(|_| 1 + rng.below(s - 1)).collect();
        cuts.extend([0, s]);
        cuts.sort_unstable();
        cuts.dedup();
        let ranges: Vec<_> = cuts.windows(2).map(|w| w[0]..w[1]).collect();
        let total = merge_parts(&model, &req, &ranges, &mut rng);
        assert_eq!(total.counts(), &[s as u64; 3]);
        let (m, sd) = model.finish_moments(&total, &req).unwrap();
        worst = worst.max(assert_close(
            &format!("trial {trial} {cuts:?}: mean"),
            m.as_slice().unwrap(),
            mean,
        ));
        worst = worst.max(assert_close(
            &format!("trial {trial} {cuts:?}: std"),
            sd.unwrap().as_slice().unwrap(),
            std.as_slice().unwrap(),
        ));
    }
    eprintln!("largest relative gap to the serial mean/std over 12 random splits: {worst:e}");
}

#[test]
fn a_fixed_merge_order_is_bit_reproducible_and_samples_match_the_serial_run() {
    let model = load("analytic_score.onnx");
    let s = 6;
    let mut req = request(s);
    let merged = || {
        let mut total = model.predict_moments(&req, 0..2, None).unwrap();
        for r in [2..3, 3..6] {
            total
                .merge(&model.predict_moments(&req, r, None).unwrap())
                .unwrap();
        }
        total
    };
    assert_eq!(merged(), merged());

    // Each one-sample part holds that sample exactly: the serial run's sample, bit for bit.
    req.keep_samples = true;
    let serial = model.predict(&req, None).unwrap();
    let all = serial.samples.unwrap();
    let all = all.as_slice().unwrap();
    let n = all.len() / (3 * s);
    for j in 0..s {
        let one = model.predict_moments(&req, j..j + 1, None).unwrap();
        for q in 0..3 {
            let mine: Vec<f32> = one.mean()[q * n..(q + 1) * n]
                .iter()
                .map(|&v| v as f32)
                .collect();
            assert_eq!(
                mine,
                &all[(q * s + j) * n..(q * s + j + 1) * n],
                "query {q} sample {j}"
            );
            assert!(one.m2()[q * n..(q + 1) * n].iter().all(|&v| v == 0.0));
        }
    }
}

#[test]
fn a_sweep_split_with_first_query_gets_the_one_call_samples() {
    let model = load("analytic_score.onnx");
    let mut whole = request(4);
    whole.keep_samples = true;
    let all = model.predict(&whole, None).unwrap().samples.unwrap();
    let all = all.as_slice().unwrap();
    let per_query = all.len() / 3;
    // Parts [0], [1, 2] as two calls (two MPI ranks, say), each numbered from its global offset.
    for (first, range) in [(0u64, 0..1), (1, 1..3)] {
        let mut part = whole.clone();
        part.queries = whole.queries[range.clone()].to_vec();
        part.first_query = first;
        let got = model.predict(&part, None).unwrap().samples.unwrap();
        assert_eq!(
            got.as_slice().unwrap(),
            &all[range.start * per_query..range.end * per_query],
            "part {range:?}"
        );
    }
}

#[test]
fn misuse_is_an_error_naming_the_problem() {
    let model = load("analytic_score.onnx");
    let req = request(4);
    for range in [0..0, 2..5] {
        let e = model
            .predict_moments(&req, range.clone(), None)
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidArgument);
        assert!(
            e.to_string().contains("give a non-empty range within 0..4"),
            "{e}"
        );
    }
    let part = model.predict_moments(&req, 0..2, None).unwrap();
    let mut other = EnsembleMoments::new(2, part.shape()).unwrap();
    let e = other.merge(&part).unwrap_err();
    assert!(
        e.to_string().contains("cannot merge moments of 3 queries"),
        "{e}"
    );
    let e = EnsembleMoments::new(3, part.shape())
        .unwrap()
        .finish(|_| 1.0)
        .unwrap_err();
    assert!(e.to_string().contains("query 0 has no samples"), "{e}");
    let mut one_query = request(4);
    one_query.queries.truncate(1);
    let e = model.finish_moments(&part, &one_query).unwrap_err();
    assert!(e.to_string().contains("do not belong to these"), "{e}");
    // Parts from elsewhere are checked when they are rebuilt.
    let n = part.mean().len() / 3;
    let bad = EnsembleMoments::from_parts(part.shape(), vec![2, 2, 2], part.mean().to_vec(), {
        let mut m2 = part.m2().to_vec();
        m2[n + 1] = -1.0;
        m2
    })
    .unwrap_err();
    assert!(
        bad.to_string().contains("M2 of query 1, element 1 is -1"),
        "{bad}"
    );
    let rebuilt = EnsembleMoments::from_parts(
        part.shape(),
        part.counts().to_vec(),
        part.mean().to_vec(),
        part.m2().to_vec(),
    )
    .unwrap();
    assert_eq!(rebuilt, part);
}

/// The shipped Poisson U-Net (models/poisson.onnx), a GEMM-based network.
fn shipped_poisson() -> Model {
    Model::load(
        common::models_dir().join("../../models/poisson.onnx"),
        &dgmf::SessionOptions::default(),
    )
    .unwrap()
}

/// One query of the shipped Poisson model at fraction `t` of each parameter's range, finest level, with
/// the model's recommended sampler.
fn poisson_request(model: &Model, t: f64) -> dgmf::Request {
    let params = model.contract().params.iter();
    dgmf::Request::new(
        vec![Query {
            params: params.map(|p| (1.0 - t) * p.min + t * p.max).collect(),
            fidelity: FidelityValue::Level(2),
            coords: vec![],
        }],
        model.recommended_sampler(),
    )
}

/// Splits `0..s` at random cut points into 1–6 contiguous parts (uneven, not powers of two).
fn random_split(rng: &mut Rng, s: usize) -> Vec<std::ops::Range<usize>> {
    let mut cuts: Vec<usize> = (0..rng.below(6)).map(|_| 1 + rng.below(s - 1)).collect();
    cuts.extend([0, s]);
    cuts.sort_unstable();
    cuts.dedup();
    cuts.windows(2).map(|w| w[0]..w[1]).collect()
}

/// The moments of `req`'s samples over each of `ranges`, merged in a random order.
fn merge_parts(
    model: &dgmf::Model,
    req: &dgmf::Request,
    ranges: &[std::ops::Range<usize>],
    rng: &mut Rng,
) -> EnsembleMoments {
    let mut parts: Vec<EnsembleMoments> = ranges
        .iter()
        .map(|r| model.predict_moments(req, r.clone(), None).unwrap())
        .collect();
    let mut total = parts.swap_remove(rng.below(parts.len()));
    while !parts.is_empty() {
        total
            .merge(&parts.swap_remove(rng.below(parts.len())))
            .unwrap();
    }
    total
}

/// Merges the parts of `req` over `ranges` in a random order and returns the finished mean and std.
fn merged_split(
    model: &dgmf::Model,
    req: &dgmf::Request,
    ranges: &[std::ops::Range<usize>],
    rng: &mut Rng,
) -> (Vec<f32>, Vec<f32>) {
    let total = merge_parts(model, req, ranges, rng);
    let (m, sd) = model.finish_moments(&total, req).unwrap();
    (
        m.into_raw_vec_and_offset().0,
        sd.unwrap().into_raw_vec_and_offset().0,
    )
}

/// Every sample count 2..=40, a random uneven split each, in a random merge order, on the analytic model
/// (element-wise, so its network rounds each row alike in any batch) and on the shipped Poisson U-Net
/// with one row per network call: every split equals the serial run within docs/distributed.md's bound
/// (one float32 ulp of the merge, far below 1e-6 relative).
#[test]
fn every_sample_count_and_random_split_equals_the_serial_run() {
    let poisson = shipped_poisson();
    let analytic = load("analytic_score.onnx");
    let mut rng = Rng(0x2545_f491_4f6c_dd1d);
    for (name, model) in [("analytic", &analytic), ("poisson", &poisson)] {
        let mut worst = 0f32;
        for s in 2..=40 {
            let mut req = if name == "analytic" {
                request(s)
            } else {
                let mut r = poisson_request(model, 0.7);
                r.n_samples = s;
                r
            };
            // Only with one row per call is every sample bit-identical for a GEMM-based network.
            req.max_batch = if name == "analytic" { 7 } else { 1 };
            let serial = model.predict(&req, None).unwrap();
            let ranges = random_split(&mut rng, s);
            let (mean, std) = merged_split(model, &req, &ranges, &mut rng);
            let what = format!("{name} S = {s} split {ranges:?}");
            worst = worst.max(assert_close(
                &format!("{what}: mean"),
                &mean,
                serial.mean.as_slice().unwrap(),
            ));
            worst = worst.max(assert_close(
                &format!("{what}: std"),
                &std,
                serial.std.as_ref().unwrap().as_slice().unwrap(),
            ));
        }
        eprintln!("{name}: largest relative gap over S = 2..=40, random splits: {worst:e}");
    }
}

/// What the one-row rule is for: a GEMM-based network's rows are rounded differently with the number of
/// rows sharing the call, so with batches the same split differs from the serial run by more than the
/// merge's rounding — within the 1e-4 that docs/distributed.md states for batched calls.
#[test]
fn batched_calls_stay_within_the_batching_bound() {
    let model = shipped_poisson();
    let mut req = poisson_request(&model, 0.5);
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut worst = 0f64;
    for s in [5, 12, 13, 24, 40] {
        req.n_samples = s;
        let serial = model.predict(&req, None).unwrap();
        let (mean, std) = merged_split(&model, &req, &random_split(&mut rng, s), &mut rng);
        for (got, want) in [
            (&mean, serial.mean.as_slice().unwrap()),
            (&std, serial.std.as_ref().unwrap().as_slice().unwrap()),
        ] {
            for (&g, &w) in got.iter().zip(want) {
                worst = worst.max((g - w).abs() as f64 / (w.abs() as f64).max(1e-3));
            }
        }
    }
    eprintln!("batched (max_batch 64) splits: largest relative gap {worst:e}");
    assert!(worst <= 1e-4, "{worst:e}");
}
