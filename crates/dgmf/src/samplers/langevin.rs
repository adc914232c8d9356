//! The Langevin corrector of predictor–corrector sampling (score_sde, VE: α = 1).
//!
//! One step: ε = 2·(snr·‖ξ‖/‖s‖)², x ← x + ε·s + √(2ε)·ξ. The norms are taken per sample, not averaged over
//! the batch as score_sde does, so a prediction never depends on what else shares its batch.

use super::{Ctx, Workspace};
use crate::error::Result;

#[derive(Debug, Clone, Copy)]
pub(super) struct Langevin {
    pub snr: f32,
    pub steps: usize,
}

impl Langevin {
    pub fn correct(
        &self,
        sigma: f32,
        ctx: &mut Ctx<'_>,
        x: &mut [f32],
        ws: &mut Workspace,
    ) -> Result<()> {
        let n = x.len();
        let row = n / ctx.streams.len();
        for _ in 0..self.steps {
            let s = &mut ws.score[..n];
            ctx.eval(x, sigma, s)?;
            let noise = &mut ws.noise[..n];
            ctx.noise(noise);
            for ((x, s), xi) in x
                .chunks_exact_mut(row)
                .zip(s.chunks_exact(row))
                .zip(noise.chunks_exact(row))
            {
                let s_norm = norm(s);
                // A zero score means the sample already sits at a mode: no step (ε would be infinite).
                if s_norm == 0.0 {
                    continue;
                }
                let r = self.snr as f64 * norm(xi) / s_norm;
                let eps = 2.0 * r * r;
                super::step(x, eps as f32, s, (2.0 * eps).sqrt() as f32, xi);
            }
        }
        Ok(())
    }
}

fn norm(v: &[f32]) -> f64 {
    v.iter()
        .map(|&a| (a as f64) * (a as f64))
        .sum::<f64>()
        .sqrt()
}
