//! Reverse-SDE predictors (Song et al. 2021, score_sde), optionally with a Langevin corrector:
//! for each level σ_i: [corrector at σ_i], then the predictor σ_i → σ_{i+1}. All three predictors are
//! x ← x + a·s(x, σ_i) + b·ξ and differ only in (a, b).

use super::langevin::Langevin;
use super::{step, Ctx, Predictor, Workspace};
use crate::error::Result;

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
