//! Reproducible noise. Sample j of a request with seed s draws every Gaussian it ever needs from its own
//! stream keyed by (s, j): ChaCha8 seeded with s, stream number j. A sample's trajectory therefore does not
//! depend on which other samples share its network batch, on chunking, or on host threads.
//!
//! Stream layout (documented so that tests and users can reproduce a run): the first `n` draws are the
//! initial state ξ (x_T = σ_max·ξ); every later noise injection takes the next `n` draws, in step order.

use rand_chacha::ChaCha8Rng;
use rand_core::SeedableRng;
use rand_distr::{Distribution, StandardNormal};

/// The noise stream of one sample.
#[derive(Debug, Clone)]
pub struct NoiseStream(ChaCha8Rng);

impl NoiseStream {
    /// The stream of sample `sample` of a request seeded with `seed`.
    pub fn new(seed: u64, sample: u64) -> Self {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        rng.set_stream(sample);
        NoiseStream(rng)
    }

    /// Fills `out` with independent standard normal draws.
    pub fn fill_normal(&mut self, out: &mut [f32]) {
        for v in out {
            *v = StandardNormal.sample(&mut self.0);
        }
    }
}

/// Fewest values a noise thread is started for: starting one costs tens of microseconds, drawing this
/// many normals a few hundred (`benches/sampler_step.rs`, group `noise`).
pub const MIN_VALUES_PER_THREAD: usize = 1 << 15;

/// Fills row r of `out` (equal rows, one per stream) from stream r, on up to `threads` threads (the
/// calling one included) when there are enough values to pay for them. Each row is drawn by its own
/// stream whichever thread draws it, so the result is the same bits for every thread count.
pub fn fill_rows(streams: &mut [NoiseStream], out: &mut [f32], threads: usize) {
    let rows = streams.len();
    let n = out.len().checked_div(rows).unwrap_or(0);
    if n == 0 {
        return;
    }
    let threads = threads
        .min(rows)
        .min(out.len() / MIN_VALUES_PER_THREAD)
        .max(1);
    let serial = |streams: &mut [NoiseStream], out: &mut [f32]| {
        for (row, stream) in out.chunks_exact_mut(n).zip(streams.iter_mut()) {
            stream.fill_normal(row);
        }
    };
    if threads == 1 {
        return serial(streams, out);
    }
    let per = rows.div_ceil(threads);
    // Each part is taken by whichever thread runs it; a thread the OS refuses (a process or container
    // limit) is not an error: the calling thread draws that part instead, the same bits.
    let parts: Vec<_> = streams
        .chunks_mut(per)
        .zip(out.chunks_mut(per * n))
        .map(|part| std::sync::Mutex::new(Some(part)))
        .collect();
    let run = |part: &std::sync::Mutex<Option<(&mut [NoiseStream], &mut [f32])>>| {
        let taken = part.lock().map(|mut p| p.take()).unwrap_or(None);
        if let Some((s, o)) = taken {
            serial(s, o);
        }
    };
    std::thread::scope(|scope| {
        for part in &parts[1..] {
            if std::thread::Builder::new()
                .spawn_scoped(scope, || run(part))
                .is_err()
            {
                run(part);
            }
        }
        run(&parts[0]);
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn streams_are_reproducible_and_distinct() {
        let draw = |seed, j| {
            let mut v = vec![0f32; 8];
            NoiseStream::new(seed, j).fill_normal(&mut v);
            v
        };
        assert_eq!(draw(7, 3), draw(7, 3));
        assert_ne!(draw(7, 3), draw(7, 4));
        assert_ne!(draw(7, 3), draw(8, 3));
    }

    #[test]
    fn rows_are_the_same_bits_on_any_thread_count() {
        // Rows big enough that 2, 3 and 8 threads are really used, and a row count that does not divide.
        let (rows, n) = (7, MIN_VALUES_PER_THREAD / 2 + 3);
        let draw = |threads| {
            let mut streams: Vec<_> = (0..rows as u64).map(|j| NoiseStream::new(5, j)).collect();
            let mut out = vec![0f32; rows * n];
            fill_rows(&mut streams, &mut out, threads);
            // The streams advanced as far as a serial fill takes them: the next draws agree too.
            fill_rows(&mut streams, &mut out[..rows * 3], threads);
            out
        };
        let one = draw(1);
        let mut own = vec![0f32; n];
        NoiseStream::new(5, 6).fill_normal(&mut own);
        assert_eq!(
            &one[6 * n..7 * n],
            &own[..],
            "row 6 is stream 6's first draws"
        );
        for threads in [0, 2, 3, 8, 64] {
            assert!(draw(threads) == one, "{threads} threads");
        }
        // Nothing to fill: no rows, and rows of no values.
        fill_rows(&mut [], &mut [], 4);
        fill_rows(
            &mut [NoiseStream::new(1, 0), NoiseStream::new(1, 1)],
            &mut [],
            4,
        );
    }

    #[test]
    fn draws_are_standard_normal() {
        // 200k draws: the mean has sd 1/sqrt(n) ≈ 0.0022 and the variance sd sqrt(2/n) ≈ 0.0032; 5 sd bounds.
        let mut v = vec![0f32; 200_000];
        NoiseStream::new(1, 0).fill_normal(&mut v);
        let n = v.len() as f64;
        let mean = v.iter().map(|&x| x as f64).sum::<f64>() / n;
        let var = v.iter().map(|&x| (x as f64 - mean).powi(2)).sum::<f64>() / n;
        assert!(mean.abs() < 5.0 * 0.0023, "mean {mean}");
        assert!((var - 1.0).abs() < 5.0 * 0.0032, "var {var}");
    }
}
