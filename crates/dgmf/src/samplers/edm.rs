//! EDM's stochastic sampler (Karras et al. 2022, Algorithm 2): at each level, "churn" — raise the noise to
//! σ̂ = σ_i(1 + γ) by adding fresh noise — then take a Heun step from σ̂ to σ_{i+1}.
//! γ = min(S_churn/N, √2 − 1) for σ_i ∈ [S_min, S_max], else 0; σ̂ is capped at the model's σ_max so the
//! network is never queried outside its trained range.

use super::ode::{heun_step, KARRAS};
use super::{two_per_interval, Churn, Ctx, Sampler, Setting, Workspace, DEFAULT_EDM_STEPS};
use crate::error::Result;

pub(super) const EDM: Sampler = Sampler {
    name: "edm",
    summary: "EDM's stochastic sampler (Algorithm 2): churn, then a Heun step",
    stochastic: true,
    default_steps: DEFAULT_EDM_STEPS,
    default_schedule: KARRAS,
    min_steps: 2,
    settings: &[Setting::Churn],
    nfe: two_per_interval,
    run: |c, sigmas, ctx, x, ws| sample(c.churn, sigmas, ctx, x, ws),
};

pub(super) fn sample(
    churn: Churn,
    sigmas: &[f32],
    ctx: &mut Ctx<'_>,
    x: &mut [f32],
    ws: &mut Workspace,
) -> Result<()> {
    let n = x.len();
    let sigma_max = sigmas[0];
    let gamma_max = (churn.s_churn / sigmas.len() as f32).min(std::f32::consts::SQRT_2 - 1.0);
    for w in sigmas.windows(2) {
        let (s0, s1) = (w[0], w[1]);
        let gamma = if (churn.s_min..=churn.s_max).contains(&s0) {
            gamma_max
        } else {
            0.0
        };
        let s_hat = (s0 * (1.0 + gamma)).min(sigma_max);
        if s_hat > s0 {
            let noise = &mut ws.noise[..n];
            ctx.noise(noise);
            let b = ((s_hat as f64).powi(2) - (s0 as f64).powi(2)).sqrt() as f32 * churn.s_noise;
            x.iter_mut()
                .zip(noise.iter())
                .for_each(|(x, xi)| *x += b * xi);
        }
        heun_step(s_hat, s1, ctx, x, ws)?;
    }
    Ok(())
}
