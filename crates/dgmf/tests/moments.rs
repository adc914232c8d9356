//! Mergeable ensembles through the real ONNX Runtime: any split of an ensemble into sample ranges, merged
//! in any order, equals one `predict` of all samples within 1e-6 relative; merging in a fixed order is
//! bit-reproducible; every sample is bit-identical to the serial run's.
mod common;

use common::{load, requests};
use dgmf::{EnsembleMoments, ErrorKind, FidelityValue, Query};

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
    req.queries = vec![
        requests::query(),
        Query {
            params: vec![0.2, 0.5],
            fidelity: FidelityValue::Level(0),
            coords: vec![],
        },
        Query {
            params: vec![0.9, 0.1],
            fidelity: FidelityValue::Level(1),
            coords: vec![],
        },
    ];
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
        let mut parts: Vec<EnsembleMoments> = cuts
            .windows(2)
            .map(|w| model.predict_moments(&req, w[0]..w[1], None).unwrap())
            .collect();
        // Merge in a random order.
        let mut total = parts.swap_remove(rng.below(parts.len()));
        while !parts.is_empty() {
            total
                .merge(&parts.swap_remove(rng.below(parts.len())))
                .unwrap();
        }
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
