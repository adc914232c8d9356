//! Many host threads on one model: results bit-identical to the serial run, no deadlock; and models loaded
//! and freed concurrently.

mod common;

use common::{load, models_dir};
use dgmf::samplers::{SamplerConfig, SamplerKind};
use dgmf::{FidelityValue, Model, Query, Request, SessionOptions};

fn request(i: usize) -> Request {
    let q = Query {
        params: vec![(i % 10) as f64 / 10.0, ((i % 7) as f64 / 7.0) * 2.0 - 1.0],
        fidelity: FidelityValue::Level(i % 3),
        coords: vec![],
    };
    let mut cfg =
        SamplerConfig::new(SamplerKind::parse(if i % 2 == 0 { "heun" } else { "pc" }).unwrap());
    cfg.steps = 3;
    let mut req = Request::new(vec![q], cfg);
    req.n_samples = 2;
    req.seed = i as u64;
    req
}

#[test]
fn eight_threads_times_a_thousand_predictions_match_the_serial_run() {
    const N: usize = 1000;
    const THREADS: usize = 8;
    let opts = SessionOptions {
        intra_threads: 1,
        max_sessions: THREADS,
        ..Default::default()
    };
    let model = Model::load(models_dir().join("analytic_score.onnx"), &opts).unwrap();
    let serial: Vec<dgmf::ndarray::ArrayD<f32>> = (0..N)
        .map(|i| model.predict(&request(i), None).unwrap().mean)
        .collect();
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..THREADS)
            .map(|t| {
                let (model, serial) = (&model, &serial);
                s.spawn(move || {
                    // Each thread walks the requests from a different start, so different requests overlap.
                    for k in 0..N {
                        let i = (k + t * N / THREADS) % N;
                        let p = model.predict(&request(i), None).unwrap();
                        assert_eq!(p.mean, serial[i], "thread {t}, request {i}");
                    }
                })
            })
            .collect();
        for h in handles {
            h.join().unwrap();
        }
    });
    assert!(model.sessions() <= THREADS, "the pool stays within its cap");
}

#[test]
fn concurrent_loads_and_frees() {
    let reference = load("analytic_x0.onnx")
        .predict(&request(5), None)
        .unwrap()
        .mean;
    std::thread::scope(|s| {
        for _ in 0..4 {
            s.spawn(|| {
                for _ in 0..25 {
                    let m = load("analytic_x0.onnx");
                    assert_eq!(m.predict(&request(5), None).unwrap().mean, reference);
                    drop(m);
                }
            });
        }
    });
}

#[test]
fn a_capped_pool_makes_threads_wait_instead_of_failing() {
    let opts = SessionOptions {
        max_sessions: 1,
        ..Default::default()
    };
    let model = Model::load(models_dir().join("analytic_score.onnx"), &opts).unwrap();
    std::thread::scope(|s| {
        for t in 0..4 {
            let model = &model;
            s.spawn(move || {
                for i in 0..50 {
                    model.predict(&request(t * 50 + i), None).unwrap();
                }
            });
        }
    });
    assert_eq!(model.sessions(), 1);
}
