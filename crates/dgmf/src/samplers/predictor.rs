//! Reverse-SDE predictors (Song et al. 2021, score_sde), optionally with a Langevin corrector:
//! for each level σ_i: [corrector at σ_i], then the predictor σ_i → σ_{i+1}. All three predictors are
//! x ← x + a·s(x, σ_i) + b·ξ and differ only in (a, b).

use super::langevin::Langevin;
use super::{one_per_interval, step, Ctx, Sampler, SamplerConfig, Schedule, Setting, Workspace};
use crate::error::Result;

/// A reverse-SDE predictor (used alone or inside predictor–corrector).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Predictor {
    /// Euler–Maruyama in log-σ time.
    EulerMaruyama,
    /// score_sde's reverse-diffusion predictor.
    ReverseDiffusion,
    /// score_sde's ancestral-sampling predictor for VE.
    Ancestral,
}

/// score_sde's defaults: 1000 levels on the geometric schedule.
const fn sde(name: &'static str, summary: &'static str, run: super::RunFn) -> Sampler {
    Sampler {
        name,
        summary,
        stochastic: true,
        default_steps: 1000,
        default_schedule: Schedule::Geometric,
        min_steps: 2,
        settings: &[],
        nfe: one_per_interval,
        run,
    }
}

/// A predictor with `corrector_steps` Langevin steps at every level: (steps − 1)·(k + 1) + k evaluations.
const fn pc(name: &'static str, summary: &'static str, run: super::RunFn) -> Sampler {
    Sampler {
        settings: &[Setting::Snr, Setting::CorrectorSteps],
        nfe: |c| {
            let k = c.corrector_steps;
            c.steps
                .checked_sub(1)?
                .checked_mul(k.checked_add(1)?)?
                .checked_add(k)
        },
        ..sde(name, summary, run)
    }
}

pub(super) const EM: Sampler = sde(
    "em",
    "Euler–Maruyama on the reverse SDE in log-σ time",
    |_, sigmas, ctx, x, ws| sample(Predictor::EulerMaruyama, None, sigmas, ctx, x, ws),
);
pub(super) const REVERSE_DIFFUSION: Sampler = sde(
    "reverse-diffusion",
    "score_sde's reverse-diffusion predictor",
    |_, sigmas, ctx, x, ws| sample(Predictor::ReverseDiffusion, None, sigmas, ctx, x, ws),
);
pub(super) const ANCESTRAL: Sampler = sde(
    "ancestral",
    "score_sde's ancestral sampling for VE",
    |_, sigmas, ctx, x, ws| sample(Predictor::Ancestral, None, sigmas, ctx, x, ws),
);
pub(super) const PC: Sampler = pc(
    "pc",
    "predictor–corrector: reverse diffusion + Langevin (score_sde's reference)",
    |c, sigmas, ctx, x, ws| corrected(Predictor::ReverseDiffusion, c, sigmas, ctx, x, ws),
);
pub(super) const PC_EM: Sampler = pc(
    "pc-em",
    "predictor–corrector: Euler–Maruyama + Langevin",
    |c, sigmas, ctx, x, ws| corrected(Predictor::EulerMaruyama, c, sigmas, ctx, x, ws),
);
pub(super) const PC_ANCESTRAL: Sampler = pc(
    "pc-ancestral",
    "predictor–corrector: ancestral + Langevin",
    |c, sigmas, ctx, x, ws| corrected(Predictor::Ancestral, c, sigmas, ctx, x, ws),
);

/// `p` with the configuration's Langevin corrector at every level.
fn corrected(
    p: Predictor,
    c: &SamplerConfig,
    sigmas: &[f32],
    ctx: &mut Ctx<'_>,
    x: &mut [f32],
    ws: &mut Workspace,
) -> Result<()> {
    let corrector = Langevin {
        snr: c.snr,
        steps: c.corrector_steps,
    };
    sample(p, Some(corrector), sigmas, ctx, x, ws)
}

/// The (a, b) coefficients of one predictor step from `s0` down to `s1`.
pub(super) fn coefficients(p: Predictor, s0: f32, s1: f32) -> (f32, f32) {
    let (s0, s1) = (s0 as f64, s1 as f64);
    let var = s0 * s0 - s1 * s1;
    let (a, b2) = match p {
        // dx = −d[σ²] s + √d[σ²] dw̄ with d[σ²]/dt evaluated at σ_i, in time t = ln σ: Δ = 2σ_i²·ln(σ_i/σ_{i+1}).
        Predictor::EulerMaruyama => {
            let d = 2.0 * s0 * s0 * (s0 / s1).ln();
            (d, d)
        }
        // Exact variance increment of the discrete VE chain: Δ = σ_i² − σ_{i+1}².
        Predictor::ReverseDiffusion => (var, var),
        // Ancestral sampling: mean step Δ, noise variance σ_{i+1}²·Δ/σ_i².
        Predictor::Ancestral => (var, s1 * s1 * var / (s0 * s0)),
    };
    (a as f32, b2.sqrt() as f32)
}

pub(super) fn sample(
    p: Predictor,
    corrector: Option<Langevin>,
    sigmas: &[f32],
    ctx: &mut Ctx<'_>,
    x: &mut [f32],
    ws: &mut Workspace,
) -> Result<()> {
    let n = x.len();
    for (i, &sigma) in sigmas.iter().enumerate() {
        if let Some(c) = corrector {
            c.correct(sigma, ctx, x, ws)?;
        }
        let Some(&next) = sigmas.get(i + 1) else {
            break;
        };
        let s = &mut ws.score[..n];
        ctx.eval(x, sigma, s)?;
        let noise = &mut ws.noise[..n];
        ctx.noise(noise);
        let (a, b) = coefficients(p, sigma, next);
        step(x, a, s, b, noise);
    }
    Ok(())
}
