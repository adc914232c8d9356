//! Memory: resident set size after load, after the first prediction, and every 1000 predictions up to N —
//! the RSS must stay flat. Linux only (reads /proc/self/status).
//!
//!     cargo run --release --example soak [N=10000] [MODEL]
//!
//! Each prediction is one query, `heun` with 2 levels (3 NFE), so 10 000 predictions take ~2-3 min.
use dgmf::samplers::{SamplerConfig, SamplerKind};
use dgmf::{FidelityValue, Model, Query, Request, SessionOptions};

fn status(key: &str) -> f64 {
    let text = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    text.lines()
        .find(|l| l.starts_with(key))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse::<f64>().ok())
        .map_or(f64::NAN, |kb| kb / 1024.0)
}

fn main() -> dgmf::Result<()> {
    let mut args = std::env::args().skip(1);
    let n: usize = args
        .next()
        .map_or(10_000, |a| a.parse().expect("N: a count"));
    let path = args.next().unwrap_or_else(|| {
        concat!(env!("CARGO_MANIFEST_DIR"), "/../../models/poisson.onnx").into()
    });
    println!("| after | RSS MiB | peak RSS MiB |");
    println!("|---|---:|---:|");
    let row = |what: &str| {
        println!(
            "| {what} | {:.1} | {:.1} |",
            status("VmRSS:"),
            status("VmHWM:")
        )
    };
    row("start");
    let model = Model::load(&path, &SessionOptions::default())?;
    row("load");
    let mut cfg = SamplerConfig::new(SamplerKind::HEUN);
    cfg.steps = 2;
    let mut req = Request::new(
        vec![Query {
            params: vec![0.3, 0.6, 0.2, 0.8, 0.5],
            fidelity: FidelityValue::Level(2),
            coords: vec![],
        }],
        cfg,
    );
    let mut first_rss = f64::NAN;
    for i in 1..=n {
        req.seed = i as u64; // a new request each time, as a design loop would send
        model.predict(&req, None)?;
        if i == 1 {
            row("1 prediction");
            first_rss = status("VmRSS:");
        } else if i % 1000 == 0 {
            row(&format!("{i} predictions"));
        }
    }
    println!(
        "\nRSS growth from prediction 1 to {n}: {:+.2} MiB",
        status("VmRSS:") - first_rss
    );
    Ok(())
}
