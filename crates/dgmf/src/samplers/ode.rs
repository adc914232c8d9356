//! Probability-flow ODE solvers: dx/dσ = −σ·s(x, σ) (Karras et al. 2022, eq. 1 with σ(t) = t).
//! `euler` is first order; `heun` is EDM's Algorithm 1 (second order; the step to σ = 0 is the
//! final Euler step, taken by the shared denoise step).

use super::{one_per_interval, two_per_interval, Ctx, Sampler, Schedule, Workspace};
use crate::error::Result;

/// EDM's defaults for the ODE solvers: 18 levels on the Karras schedule (ρ = 7).
pub(super) const KARRAS: Schedule = Schedule::Karras { rho: 7.0 };

pub(super) const EULER: Sampler = Sampler {
    name: "ode-euler",
    summary: "Euler on the probability-flow ODE (first order)",
    stochastic: false,
    default_steps: 18,
    default_schedule: KARRAS,
    min_steps: 2,
    settings: &[],
    nfe: one_per_interval,
    run: |_, sigmas, ctx, x, ws| euler(sigmas, ctx, x, ws),
};

pub(super) const HEUN: Sampler = Sampler {
    name: "heun",
    summary: "Heun on the probability-flow ODE (EDM Algorithm 1, second order)",
    nfe: two_per_interval,
    run: |_, sigmas, ctx, x, ws| heun(sigmas, ctx, x, ws),
    ..EULER
};

pub(super) fn euler(
    sigmas: &[f32],
    ctx: &mut Ctx<'_>,
    x: &mut [f32],
    ws: &mut Workspace,
) -> Result<()> {
    let n = x.len();
    for w in sigmas.windows(2) {
        let (s0, s1) = (w[0], w[1]);
        let s = &mut ws.score[..n];
        ctx.eval(x, s0, s)?;
        // x ← x + (σ1 − σ0)·d with d = −σ0·s.
        let c = s0 * (s0 - s1);
        x.iter_mut().zip(s.iter()).for_each(|(x, s)| *x += c * s);
    }
    Ok(())
}

pub(super) fn heun(
    sigmas: &[f32],
    ctx: &mut Ctx<'_>,
    x: &mut [f32],
    ws: &mut Workspace,
) -> Result<()> {
    for w in sigmas.windows(2) {
        heun_step(w[0], w[1], ctx, x, ws)?;
    }
    Ok(())
}

/// One Heun step from σ0 to σ1 > 0: Euler predictor, then the trapezoidal correction.
pub(super) fn heun_step(
    s0: f32,
    s1: f32,
    ctx: &mut Ctx<'_>,
    x: &mut [f32],
    ws: &mut Workspace,
) -> Result<()> {
    let n = x.len();
    let (d0, x1) = (&mut ws.score[..n], &mut ws.tmp[..n]);
    ctx.eval(x, s0, d0)?;
    let h = s1 - s0;
    // d0 ← −σ0·s(x, σ0); x1 ← x + h·d0.
    for ((d, x1), x) in d0.iter_mut().zip(x1.iter_mut()).zip(x.iter()) {
        *d *= -s0;
        *x1 = x + h * *d;
    }
    let d1 = &mut ws.prev[..n];
    ctx.eval(x1, s1, d1)?;
    for ((x, d0), d1) in x.iter_mut().zip(d0.iter()).zip(d1.iter()) {
        *x += 0.5 * h * (d0 - s1 * d1);
    }
    Ok(())
}
