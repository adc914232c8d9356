//! End-to-end `predict` on the shipped Poisson model (models/poisson.onnx, 1×32×32) at batch 1, 8 and 64,
//! with `heun` (18 levels, 35 NFE) and `pc` (25 levels, 50 NFE: the per-evaluation cost is what matters;
//! pc-1000 costs 40× this). Before each benchmark it prints the engine's overhead — time outside ONNX
//! Runtime as a share of the time inside it — measured by the engine itself over a few predictions.
//!
//!     cargo bench --bench predict            (minutes: batch 64 is ~10 s per prediction on 2 cores)
use std::path::PathBuf;

mod common;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use dgmf::samplers::{SamplerConfig, SamplerKind};
use dgmf::{Model, Request, SessionOptions};

fn request(sampler: &str, steps: usize, batch: usize) -> Request {
    let queries = common::poisson_queries(batch);
    let mut cfg = SamplerConfig::new(SamplerKind::parse(sampler).unwrap());
    cfg.steps = steps;
    let mut req = Request::new(queries, cfg);
    req.max_batch = 64;
    req
}

fn bench(c: &mut Criterion) {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../models/poisson.onnx");
    let model = Model::load(&path, &SessionOptions::default()).unwrap_or_else(|e| panic!("{e}"));
    let mut group = c.benchmark_group("predict_poisson");
    group.sample_size(10);
    for (sampler, steps) in [("heun", 18), ("pc", 25)] {
        for batch in [1, 8, 64] {
            let req = request(sampler, steps, batch);
            let (mut outside, mut inside) = (0.0, 0.0);
            for _ in 0..3 {
                let p = model.predict(&req, None).unwrap();
                outside += (p.wall - p.network_time).as_secs_f64();
                inside += p.network_time.as_secs_f64();
            }
            println!(
                "predict_poisson/{sampler}/{batch}: engine overhead {:.3} % of ONNX Runtime time ({:.3} ms per prediction outside ORT)",
                100.0 * outside / inside,
                1e3 * outside / 3.0
            );
            group.throughput(Throughput::Elements(batch as u64));
            group.bench_with_input(BenchmarkId::new(sampler, batch), &req, |b, req| {
                b.iter(|| model.predict(req, None).unwrap())
            });
        }
    }
    group.finish();

    // The same predictions with every network call through ONNX Runtime's I/O binding (the default) and
    // without it (`unbound_calls`), side by side in one run: on the CPU binding must cost nothing.
    let mut group = c.benchmark_group("io_binding_poisson");
    group.sample_size(20);
    for (name, unbound) in [("bound", false), ("unbound", true)] {
        let opts = SessionOptions {
            unbound_calls: unbound,
            ..Default::default()
        };
        let model = Model::load(&path, &opts).unwrap_or_else(|e| panic!("{e}"));
        for batch in [1, 8] {
            let req = request("heun", 6, batch);
            group.throughput(Throughput::Elements(batch as u64));
            group.bench_with_input(BenchmarkId::new(name, batch), &req, |b, req| {
                b.iter(|| model.predict(req, None).unwrap())
            });
        }
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
