//! Multistep consistency sampling (Song et al. 2023, "Consistency Models", Algorithm 1): at each level
//! jump to the denoised estimate D(x, σ_i) = x + σ_i²·s(x, σ_i), then re-noise it to the next level,
//! x ← D(x, σ_i) + σ_{i+1}·ξ. The answer is the shared final denoise step at the last level. Made for
//! few-step students (`dgmf-train distill`), whose denoiser at a high σ is already a sample; for a plain
//! score model the first jump lands near the posterior mean.
//!
//! The levels run from σ_max down to `sigma_last` (the model's σ_min when unset): with `steps=2` the
//! second and last evaluation is at `sigma_last`, which is where a student's distillation puts it.
//! `steps=1` is the one-step sampler, D(σ_max·ξ, σ_max).

use super::{Ctx, Sampler, Schedule, Setting, Workspace};
use crate::error::Result;

pub(super) const CONSISTENCY: Sampler = Sampler {
    name: "consistency",
    summary:
        "multistep consistency sampling: denoise, re-noise to the next level (Song et al. 2023)",
    stochastic: true,
    default_steps: 2,
    default_schedule: Schedule::Geometric,
    min_steps: 1,
    settings: &[Setting::SigmaLast],
    nfe: |c| c.steps.checked_sub(1),
    run: |_, sigmas, ctx, x, ws| jumps(sigmas, ctx, x, ws),
};

fn jumps(sigmas: &[f32], ctx: &mut Ctx<'_>, x: &mut [f32], ws: &mut Workspace) -> Result<()> {
    let n = x.len();
    for w in sigmas.windows(2) {
        let (s0, s1) = (w[0], w[1]);
        let s = &mut ws.score[..n];
        ctx.eval(x, s0, s)?;
        let noise = &mut ws.noise[..n];
        ctx.noise(noise);
        let c = s0 * s0;
        for ((x, s), z) in x.iter_mut().zip(s.iter()).zip(noise.iter()) {
            *x += c * s + s1 * z;
        }
    }
    Ok(())
}
