//! DPM-Solver++(2M) (Lu et al. 2022) for the VE SDE: α = 1, λ = −ln σ, data prediction
//! D(x, σ) = x + σ²·s(x, σ). With r = σ_{i+1}/σ_i and h = ln(σ_i/σ_{i+1}):
//!   first step:  x ← r·x + (1 − r)·D_i
//!   later steps: x ← r·x + (1 − r)·((1 + 1/(2ρ))·D_i − 1/(2ρ)·D_{i−1}),  ρ = h_{i−1}/h_i.
//! The step to σ = 0 (x ← D) is the shared denoise step.

use super::ode::KARRAS;
use super::{one_per_interval, Ctx, Sampler, Workspace};
use crate::error::Result;

pub(super) const DPMPP_2M: Sampler = Sampler {
    name: "dpmpp-2m",
    summary: "DPM-Solver++(2M), second-order multistep on the probability-flow ODE",
    stochastic: false,
    default_steps: 18,
    default_schedule: KARRAS,
    min_steps: 2,
    settings: &[],
    nfe: one_per_interval,
    run: |_, sigmas, ctx, x, ws| sample_2m(sigmas, ctx, x, ws),
};

pub(super) fn sample_2m(
    sigmas: &[f32],
    ctx: &mut Ctx<'_>,
    x: &mut [f32],
    ws: &mut Workspace,
) -> Result<()> {
    let n = x.len();
    let mut h_last: Option<f64> = None;
    for w in sigmas.windows(2) {
        let (s0, s1) = (w[0], w[1]);
        let d = &mut ws.score[..n];
        ctx.eval(x, s0, d)?;
        let c = s0 * s0;
        // d ← D(x, σ0) = x + σ0²·s.
        d.iter_mut()
            .zip(x.iter())
            .for_each(|(d, x)| *d = x + c * *d);
        let h = (s0 as f64 / s1 as f64).ln();
        let r = s1 / s0;
        let prev = &mut ws.prev[..n];
        match h_last {
            None => {
                for (x, d) in x.iter_mut().zip(d.iter()) {
                    *x = r * *x + (1.0 - r) * d;
                }
            }
            Some(hl) => {
                let k = (1.0 / (2.0 * hl / h)) as f32;
                for ((x, d), p) in x.iter_mut().zip(d.iter()).zip(prev.iter()) {
                    *x = r * *x + (1.0 - r) * ((1.0 + k) * d - k * p);
                }
            }
        }
        prev.copy_from_slice(d);
        h_last = Some(h);
    }
    Ok(())
}
