//! Deep ensembles (`dgmf.members`, docs/model-contract.md) through the real ONNX Runtime: sample j of
//! every query is member j mod K's sample j, bit for bit, whatever the batching, the sample ranges of
//! `predict_moments` or the member count's relation to the sample count; the mixture's std covers the
//! spread between members.
mod common;

use common::{load, requests};

const K: usize = 3;
const MEMBERS: [&str; K] = [
    "analytic_score.onnx",
    "analytic_member1.onnx",
    "analytic_member2.onnx",
];

fn request(samples: usize, max_batch: usize) -> dgmf::Request {
    let mut req = requests::request("ancestral", Some(10), samples);
    req.queries = requests::three_queries()[..2].to_vec();
    req.max_batch = max_batch;
    req.keep_samples = true;
    req
}

fn samples(model: &dgmf::Model, req: &dgmf::Request) -> Vec<f32> {
    let p = model.predict(req, None).unwrap();
    p.samples.unwrap().as_slice().unwrap().to_vec()
}

#[test]
fn the_ensemble_declares_its_members() {
    let e = load("analytic_ensemble.onnx");
    assert_eq!(e.contract().members, K);
    assert_eq!(e.contract().io.member, Some(0));
    assert_eq!(load("analytic_score.onnx").contract().members, 1);
}

#[test]
fn a_member_input_of_rank_one_works_alike() {
    let scalar = load("analytic_ensemble.onnx");
    let rank1 = load("analytic_ensemble_rank1.onnx");
    assert_eq!(rank1.contract().io.member, Some(1));
    let req = request(6, 4);
    assert_eq!(samples(&rank1, &req), samples(&scalar, &req));
}

#[test]
fn sample_j_is_member_j_mod_k_for_any_batching() {
    let e = load("analytic_ensemble.onnx");
    let members: Vec<_> = MEMBERS.iter().map(|m| load(m)).collect();
    // 7 samples: members 0 and 1 draw three and two of them; the batches cut across queries.
    let s = 7;
    let want = {
        let per: Vec<Vec<f32>> = members
            .iter()
            .map(|m| samples(m, &request(s, 64)))
            .collect();
        let n = per[0].len() / (2 * s);
        let mut v = vec![0f32; per[0].len()];
        for q in 0..2 {
            for j in 0..s {
                let at = (q * s + j) * n..(q * s + j + 1) * n;
                v[at.clone()].copy_from_slice(&per[j % K][at]);
            }
        }
        v
    };
    for max_batch in [1, 2, 3, 5, 64] {
        assert_eq!(
            samples(&e, &request(s, max_batch)),
            want,
            "max_batch {max_batch}"
        );
    }
    // Fewer samples than members: only the first members draw.
    let two = samples(&e, &request(2, 64));
    let n = two.len() / 4;
    for q in 0..2 {
        for (j, member) in members.iter().take(2).enumerate() {
            let mine = samples(member, &request(2, 64));
            let at = (q * 2 + j) * n..(q * 2 + j + 1) * n;
            assert_eq!(&two[at.clone()], &mine[at], "query {q} sample {j}");
        }
    }
}

#[test]
fn sample_ranges_draw_the_same_members_and_merge_to_the_whole() {
    let e = load("analytic_ensemble.onnx");
    let mut req = request(8, 4);
    let whole = e.predict(&req, None).unwrap();
    req.keep_samples = false;
    // Ranges that start at every offset modulo K.
    let mut total = e.predict_moments(&req, 0..1, None).unwrap();
    for r in [1..3, 3..7, 7..8] {
        total
            .merge(&e.predict_moments(&req, r, None).unwrap())
            .unwrap();
    }
    let (mean, std) = e.finish_moments(&total, &req).unwrap();
    let close = |a: &[f32], b: &[f32]| {
        a.iter()
            .zip(b)
            .all(|(x, y)| (x - y).abs() <= 1e-5 * y.abs().max(1e-3))
    };
    assert!(close(
        mean.as_slice().unwrap(),
        whole.mean.as_slice().unwrap()
    ));
    assert!(close(
        std.unwrap().as_slice().unwrap(),
        whole.std.unwrap().as_slice().unwrap()
    ));
}

#[test]
fn the_mixture_spreads_over_the_members_means() {
    // The members' means differ by up to 1.5 (normalized units, times data_scale): the ensemble's std
    // exceeds one member's, which is the within-member spread only.
    let e = load("analytic_ensemble.onnx");
    let one = load("analytic_score.onnx");
    let mut req = request(60, 64);
    req.keep_samples = false;
    let rms = |m: &dgmf::Model| {
        let s = m.predict(&req, None).unwrap().std.unwrap();
        let v = s.as_slice().unwrap();
        (v.iter().map(|x| (*x as f64).powi(2)).sum::<f64>() / v.len() as f64).sqrt()
    };
    let (ens, single) = (rms(&e), rms(&one));
    assert!(
        ens > 1.3 * single,
        "ensemble std {ens} vs one network {single}"
    );
}

#[test]
fn threads_sharing_the_ensemble_get_the_serial_samples() {
    let e = load("analytic_ensemble.onnx");
    let req = request(5, 3);
    let serial = samples(&e, &req);
    std::thread::scope(|s| {
        let runs: Vec<_> = (0..4).map(|_| s.spawn(|| samples(&e, &req))).collect();
        for r in runs {
            assert_eq!(r.join().unwrap(), serial);
        }
    });
}
