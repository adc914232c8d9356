//! The sampler loop allocates nothing per step: a counting global allocator sees zero allocations during
//! `samplers::run` once the workspace and schedule exist (a count, not a time). Only the test's own thread
//! is counted: the test harness's other threads allocate at times of their own (seen once on a loaded
//! 2-core machine: 4 allocations in one sampler's window), and the sampler runs on the calling thread.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::atomic::{AtomicUsize, Ordering};

use dgmf::rng::NoiseStream;
use dgmf::samplers::{self, Ctx, SamplerConfig, SamplerKind, Workspace};

struct Counting;

static ALLOCS: AtomicUsize = AtomicUsize::new(0);

thread_local! {
    // const-initialized and without a destructor: reading it never allocates.
    static COUNTED: Cell<bool> = const { Cell::new(false) };
}

fn count() {
    if COUNTED.with(Cell::get) {
        ALLOCS.fetch_add(1, Ordering::SeqCst);
    }
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count();
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count();
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

#[test]
fn sampler_steps_do_not_allocate() {
    COUNTED.with(|c| c.set(true));
    let (rows, n) = (4, 256);
    for name in SamplerKind::names() {
        let mut cfg = SamplerConfig::new(SamplerKind::parse(name).unwrap());
        cfg.steps = 50;
        let sigmas = cfg.schedule.sigmas(cfg.steps, 0.01, 10.0);
        let mut ws = Workspace::new(rows * n).unwrap();
        let mut x = vec![0f32; rows * n];
        let mut streams: Vec<_> = (0..rows as u64).map(|j| NoiseStream::new(1, j)).collect();
        let mut score = |x: &[f32], sigma: f32, out: &mut [f32]| -> dgmf::Result<()> {
            let v = 0.25 + sigma * sigma;
            out.iter_mut().zip(x).for_each(|(o, x)| *o = -x / v);
            Ok(())
        };
        let mut evals = 0usize;
        let mut progress = |nfe: usize| {
            evals = nfe;
            true
        };
        let mut ctx = Ctx {
            score: &mut score,
            streams: &mut streams,
            noise_threads: 1,
            progress: Some(&mut progress),
            nfe: 0,
        };
        samplers::init_state(&mut ctx, &mut x, 10.0);
        let before = ALLOCS.load(Ordering::SeqCst);
        let nfe = samplers::run(&cfg, &sigmas, &mut ctx, &mut x, &mut ws).unwrap();
        let allocs = ALLOCS.load(Ordering::SeqCst) - before;
        assert_eq!(
            allocs, 0,
            "{name}: {allocs} allocations over {nfe} evaluations"
        );
        assert!(nfe > 40 && evals == nfe);
    }
    // The counter does count this thread: a fresh allocation registers.
    let before = ALLOCS.load(Ordering::SeqCst);
    let v = std::hint::black_box(vec![1u8; 64]);
    assert!(ALLOCS.load(Ordering::SeqCst) > before && v.len() == 64);
}
