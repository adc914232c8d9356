//! Throughput of the shipped Poisson model vs intra-op threads, `max_batch`, and host threads sharing one
//! model (the session pool). Prints markdown tables for docs/performance.md.
//!
//!     cargo run --release --example throughput [MODEL]     (a few minutes on 2 cores)
//!
//! Every prediction is `heun` with 6 levels (11 NFE) at the highest fidelity; figures are medians of 3 runs.
use std::time::Instant;

#[path = "../benches/common/mod.rs"]
mod common;

use dgmf::samplers::{SamplerConfig, SamplerKind};
use dgmf::{Model, Request, SessionOptions};

fn request(n: usize, max_batch: usize) -> Request {
    let queries = common::poisson_queries(n);
    let mut cfg = SamplerConfig::new(SamplerKind::HEUN);
    cfg.steps = 6;
    let mut req = Request::new(queries, cfg);
    req.max_batch = max_batch;
    req
}

/// Median wall seconds of `f` over 3 runs (after one warm-up).
fn median(mut f: impl FnMut()) -> f64 {
    f();
    let mut t: Vec<f64> = (0..3)
        .map(|_| {
            let s = Instant::now();
            f();
            s.elapsed().as_secs_f64()
        })
        .collect();
    t.sort_by(f64::total_cmp);
    t[1]
}

fn main() -> dgmf::Result<()> {
    let path = std::env::args().nth(1).unwrap_or_else(|| {
        concat!(env!("CARGO_MANIFEST_DIR"), "/../../models/poisson.onnx").into()
    });
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    println!("model {path}, {cpus} logical CPUs\n");

    println!("## intra-op threads (one host thread)\n");
    println!("| intra-op threads | batch 1: ms / prediction | batch 64: queries / s |");
    println!("|---:|---:|---:|");
    for threads in [1, 2, 4, 0] {
        let opts = SessionOptions {
            intra_threads: threads,
            ..Default::default()
        };
        let model = Model::load(&path, &opts)?;
        let (one, many) = (request(1, 64), request(64, 64));
        let t1 = median(|| drop(model.predict(&one, None).unwrap()));
        let t64 = median(|| drop(model.predict(&many, None).unwrap()));
        let label = if threads == 0 {
            "0 (ORT default)".to_string()
        } else {
            threads.to_string()
        };
        println!("| {label} | {:.1} | {:.1} |", 1e3 * t1, 64.0 / t64);
    }

    let model = Model::load(&path, &SessionOptions::default())?;
    println!("\n## max_batch (128 queries, default threads)\n");
    println!("| max_batch | queries / s |");
    println!("|---:|---:|");
    for mb in [1, 8, 32, 64, 128] {
        let req = request(128, mb);
        let t = median(|| drop(model.predict(&req, None).unwrap()));
        println!("| {mb} | {:.1} |", 128.0 / t);
    }

    println!("\n## host threads sharing one model (each predicts batch-1 requests; 1 intra-op thread per session vs ORT default)\n");
    println!("| host threads | intra-op threads | predictions / s | sessions in pool |");
    println!("|---:|---:|---:|---:|");
    for intra in [1, 0] {
        let opts = SessionOptions {
            intra_threads: intra,
            ..Default::default()
        };
        let model = Model::load(&path, &opts)?;
        for hosts in [1, 2, 4] {
            let per = 8;
            let req = request(1, 64);
            let t = median(|| {
                std::thread::scope(|s| {
                    for _ in 0..hosts {
                        s.spawn(|| {
                            for _ in 0..per {
                                model.predict(&req, None).unwrap();
                            }
                        });
                    }
                })
            });
            let label = if intra == 0 {
                "default".into()
            } else {
                intra.to_string()
            };
            println!(
                "| {hosts} | {label} | {:.1} | {} |",
                (hosts * per) as f64 / t,
                model.sessions()
            );
        }
    }
    Ok(())
}
