//! The engine's own arithmetic per step (sampler update + noise generation), with a closure score so that
//! no network time is included. Reported per element: rows × values per sample.
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use dgmf::rng::NoiseStream;
use dgmf::samplers::{self, Ctx, SamplerConfig, SamplerKind, Workspace};

fn bench(c: &mut Criterion) {
    let (rows, n) = (64, 1024);
    let mut group = c.benchmark_group("sampler_step");
    group.throughput(Throughput::Elements((rows * n) as u64));
    for name in ["em", "pc", "heun", "edm", "dpmpp-2m"] {
        let mut cfg = SamplerConfig::new(SamplerKind::parse(name).unwrap());
        cfg.steps = 2; // one step (plus the final denoise) per iteration
        cfg.denoise = false;
        let sigmas = cfg.schedule.sigmas(cfg.steps, 0.01, 10.0);
        let mut ws = Workspace::new(rows * n).unwrap();
        let mut x = vec![0.5f32; rows * n];
        let mut streams: Vec<_> = (0..rows as u64).map(|j| NoiseStream::new(1, j)).collect();
        let mut score = |x: &[f32], sigma: f32, out: &mut [f32]| -> dgmf::Result<()> {
            let v = 0.25 + sigma * sigma;
            out.iter_mut().zip(x).for_each(|(o, x)| *o = -x / v);
            Ok(())
        };
        group.bench_function(BenchmarkId::from_parameter(name), |b| {
            b.iter(|| {
                let mut ctx = Ctx {
                    score: &mut score,
                    streams: &mut streams,
                    noise_threads: 1,
                    progress: None,
                    nfe: 0,
                };
                samplers::run(&cfg, &sigmas, &mut ctx, &mut x, &mut ws).unwrap()
            })
        });
    }
    group.finish();

    // The finiteness check that runs on every network output (a batch of 64 Poisson-sized rows), next to
    // the sampler steps above and to a network evaluation (milliseconds; benches/predict.rs).
    let mut group = c.benchmark_group("output_check");
    group.throughput(Throughput::Elements((rows * n) as u64));
    let out = vec![0.5f32; rows * n];
    group.bench_function("first_non_finite", |b| {
        b.iter(|| dgmf::predict::first_non_finite(criterion::black_box(&out)))
    });
    group.finish();

    // The noise of one step of a batch of 64 topopt-sized rows (4096 values), drawn on 1, 2, 4 and 8
    // threads (`rng::fill_rows`, the same bits on every count): what threads buy, and what starting them
    // costs, on this machine's cores (read /proc/cpuinfo before quoting it).
    let (rows, n) = (64, 4096);
    let mut group = c.benchmark_group("noise");
    group.throughput(Throughput::Elements((rows * n) as u64));
    let mut out = vec![0f32; rows * n];
    let mut streams: Vec<_> = (0..rows as u64).map(|j| NoiseStream::new(1, j)).collect();
    for threads in [1, 2, 4, 8] {
        group.bench_function(BenchmarkId::new("threads", threads), |b| {
            b.iter(|| dgmf::rng::fill_rows(&mut streams, &mut out, threads))
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
