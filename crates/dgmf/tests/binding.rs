//! Network calls through ONNX Runtime's I/O binding, and noise drawn on several threads, give the same
//! bits as the plain calls on one thread: for every input element type, the member input, coordinates,
//! and batches whose last call is smaller (a second bound size, replaced block after block).

mod common;

use common::models_dir;
use dgmf::samplers::{SamplerConfig, SamplerKind};
use dgmf::{FidelityValue, Model, Query, Request, SessionOptions};

fn samples(model: &str, opts: &SessionOptions, req: &Request) -> Vec<f32> {
    let path = if model.contains('/') {
        std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("../..")
            .join(model)
    } else {
        models_dir().join(model)
    };
    let m = Model::load(&path, opts).unwrap_or_else(|e| panic!("{model}: {e}"));
    let p = m
        .predict(req, None)
        .unwrap_or_else(|e| panic!("{model}: {e}"));
    p.samples.expect("kept").iter().copied().collect()
}

fn request(params: usize, coords: bool, queries: usize, samples: usize, batch: usize) -> Request {
    let queries = (0..queries)
        .map(|i| Query {
            params: (0..params)
                .map(|k| 0.2 + 0.1 * ((i + k) % 6) as f64)
                .collect(),
            fidelity: FidelityValue::Level(i % 3),
            coords: if coords { vec![0.1 * i as f64] } else { vec![] },
        })
        .collect();
    let mut cfg = SamplerConfig::new(SamplerKind::parse("pc").unwrap());
    cfg.steps = 3;
    let mut req = Request::new(queries, cfg);
    req.n_samples = samples;
    req.max_batch = batch;
    req.keep_samples = true;
    req.seed = 11;
    req
}

fn opts(threads: usize, unbound: bool) -> SessionOptions {
    SessionOptions {
        noise_threads: threads,
        unbound_calls: unbound,
        ..Default::default()
    }
}

#[test]
fn bound_calls_give_the_plain_calls_bits() {
    // (model, parameters, coordinates): f32 and f16 inputs, x0 output, coordinates, a 3-member ensemble
    // with a rank-1 member input.
    for (model, p, coords) in [
        ("analytic_score.onnx", 2, false),
        ("analytic_fp16.onnx", 2, false),
        ("analytic_x0.onnx", 2, false),
        ("analytic_coords.onnx", 2, true),
        ("analytic_ensemble_rank1.onnx", 2, false),
    ] {
        // 3 queries × 7 samples in calls of 4 rows: full calls, then a smaller one (per member for the
        // ensemble, so bound sizes are made, replaced and reused).
        let req = request(p, coords, 3, 7, 4);
        let plain = samples(model, &opts(1, true), &req);
        let bound = samples(model, &opts(1, false), &req);
        assert!(plain == bound, "{model}: bound calls changed the samples");
        // The plain path is not a copy of the bound one: another seed gives other bits.
        let other = samples(
            model,
            &opts(1, false),
            &Request {
                seed: 12,
                ..req.clone()
            },
        );
        assert!(other != bound, "{model}");
    }
}

#[test]
fn noise_on_several_threads_and_bound_calls_give_the_same_bits() {
    // The shipped Poisson ensemble: 64 rows of 1024 values in a call (enough for the noise to be drawn on
    // 2 and more threads), 3 queries × 22 samples per member, so every member's block ends with a call of
    // 2 rows.
    let model = "models/poisson_ens.onnx";
    let req = request(5, false, 3, 66, 64);
    let reference = samples(model, &opts(1, true), &req);
    for (threads, unbound) in [(1, false), (2, false), (4, true), (4, false)] {
        let got = samples(model, &opts(threads, unbound), &req);
        assert!(
            got == reference,
            "{threads} threads, unbound {unbound}: other bits"
        );
    }
}

#[test]
fn the_noise_thread_count_follows_the_provider_unless_set() {
    let with = |noise_threads, intra_threads| SessionOptions {
        noise_threads,
        intra_threads,
        ..Default::default()
    };
    // The cpu provider: ONNX Runtime's threads hold the cores, the noise stays on the calling thread.
    assert_eq!(with(0, 4).noise_threads(true), 1);
    // A GPU provider: the session's threads (one per CPU when 0).
    assert_eq!(with(0, 3).noise_threads(false), 3);
    assert!(with(0, 0).noise_threads(false) >= 1);
    // Set: as set, on either.
    assert_eq!(with(5, 0).noise_threads(true), 5);
    assert_eq!(with(5, 2).noise_threads(false), 5);
    let m = Model::load(models_dir().join("analytic_score.onnx"), &with(0, 4)).unwrap();
    assert_eq!(m.noise_threads(), 1);
    let e = Model::load(models_dir().join("analytic_score.onnx"), &with(5000, 0)).unwrap_err();
    assert!(e.message().contains("noise_threads = 5000"), "{e}");
}

#[test]
fn sample_ranges_merged_are_the_same_bits_on_any_noise_thread_count() {
    // 8 queries × 30 samples of the Poisson ensemble split as MPI ranks would split them (0..24 gives
    // each member 64 rows of 1024 values in a call: drawn on several threads), merged in a fixed order.
    let path =
        std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../models/poisson_ens.onnx");
    let mut req = request(5, false, 8, 30, 64);
    req.keep_samples = false;
    let merged = |threads| {
        let m = Model::load(&path, &opts(threads, false)).unwrap();
        let mut total = m.predict_moments(&req, 0..24, None).unwrap();
        total
            .merge(&m.predict_moments(&req, 24..30, None).unwrap())
            .unwrap();
        total
    };
    let one = merged(1);
    assert!(
        merged(4) == one,
        "4 noise threads changed the merged moments"
    );
}
