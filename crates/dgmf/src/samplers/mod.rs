//! Samplers for the reverse VE SDE and its probability-flow ODE (formulas and sources: docs/samplers.md).
//!
//! Every sampler integrates a batch of independent rows from σ_max down to σ_min along a schedule, then (by
//! default) takes the final step to σ = 0, x ← x + σ_min²·s(x, σ_min) (Tweedie's denoiser; for the ODE
//! samplers this is EDM's last Euler step). They see the network only through [`ScoreFn`], so each is
//! testable with a closure.

mod config;
mod dpmpp;
mod edm;
mod langevin;
mod ode;
mod predictor;
pub mod schedule;

pub use config::{
    Churn, SamplerConfig, DEFAULT_EDM_STEPS, DEFAULT_STEPS, MAX_CORRECTOR_STEPS, MAX_STEPS,
};
pub use schedule::Schedule;

use crate::error::{Error, ErrorKind, Result};
use crate::rng::NoiseStream;

/// The score of `rows` stacked samples at one shared noise level: `out ← ∇x log p_σ(x)`.
pub trait ScoreFn {
    fn score(&mut self, x: &[f32], sigma: f32, out: &mut [f32]) -> Result<()>;
}

impl<F: FnMut(&[f32], f32, &mut [f32]) -> Result<()>> ScoreFn for F {
    fn score(&mut self, x: &[f32], sigma: f32, out: &mut [f32]) -> Result<()> {
        self(x, sigma, out)
    }
}

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

/// Which sampler to run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SamplerKind {
    /// A reverse-SDE predictor alone.
    Sde(Predictor),
    /// A predictor plus `corrector_steps` Langevin corrector steps at every noise level.
    Pc(Predictor),
    OdeEuler,
    Heun,
    Edm,
    DpmPp2m,
}

/// Every sampler by name: the one table `parse`, `name`, `NAMES`, the C API and the CLI go through.
const TABLE: [(&str, SamplerKind); 10] = [
    ("em", SamplerKind::Sde(Predictor::EulerMaruyama)),
    (
        "reverse-diffusion",
        SamplerKind::Sde(Predictor::ReverseDiffusion),
    ),
    ("ancestral", SamplerKind::Sde(Predictor::Ancestral)),
    ("pc", SamplerKind::Pc(Predictor::ReverseDiffusion)),
    ("pc-em", SamplerKind::Pc(Predictor::EulerMaruyama)),
    ("pc-ancestral", SamplerKind::Pc(Predictor::Ancestral)),
    ("ode-euler", SamplerKind::OdeEuler),
    ("heun", SamplerKind::Heun),
    ("edm", SamplerKind::Edm),
    ("dpmpp-2m", SamplerKind::DpmPp2m),
];

impl SamplerKind {
    /// All sampler names the CLI and C API accept.
    pub const NAMES: [&'static str; 10] = {
        let mut names = [""; 10];
        let mut i = 0;
        while i < TABLE.len() {
            names[i] = TABLE[i].0;
            i += 1;
        }
        names
    };

    pub fn parse(name: &str) -> Result<Self> {
        TABLE
            .iter()
            .find(|(n, _)| *n == name)
            .map(|&(_, kind)| kind)
            .ok_or_else(|| {
                Error::invalid(format!(
                    "unknown sampler `{name}`; choose one of {}",
                    Self::NAMES.join(", ")
                ))
            })
    }

    pub fn name(self) -> &'static str {
        TABLE
            .iter()
            .find(|&&(_, kind)| kind == self)
            .map_or("unknown", |&(n, _)| n)
    }

    /// Whether the sampler injects noise after the initial draw.
    pub fn is_stochastic(self) -> bool {
        !matches!(
            self,
            SamplerKind::OdeEuler | SamplerKind::Heun | SamplerKind::DpmPp2m
        )
    }
}

impl std::str::FromStr for SamplerKind {
    type Err = Error;
    fn from_str(name: &str) -> Result<Self> {
        SamplerKind::parse(name)
    }
}

impl std::fmt::Display for SamplerKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Scratch buffers sized for the largest row batch of a request, allocated once and reused every step.
#[derive(Debug, Default)]
pub struct Workspace {
    score: Vec<f32>,
    noise: Vec<f32>,
    tmp: Vec<f32>,
    prev: Vec<f32>,
}

impl Workspace {
    /// As `new`, but an allocation failure is an error instead of an abort.
    pub fn try_new(len: usize) -> Result<Self> {
        let mut ws = Workspace::default();
        for b in [&mut ws.score, &mut ws.noise, &mut ws.tmp, &mut ws.prev] {
            b.try_reserve_exact(len).map_err(|_| {
                Error::invalid(format!(
                    "cannot allocate the sampler's workspace ({len} values per buffer): lower max_batch"
                ))
            })?;
            b.resize(len, 0.0);
        }
        Ok(ws)
    }

    pub fn new(len: usize) -> Self {
        Workspace {
            score: vec![0.0; len],
            noise: vec![0.0; len],
            tmp: vec![0.0; len],
            prev: vec![0.0; len],
        }
    }

    fn ensure(&mut self, len: usize) {
        for b in [
            &mut self.score,
            &mut self.noise,
            &mut self.tmp,
            &mut self.prev,
        ] {
            if b.len() < len {
                b.resize(len, 0.0);
            }
        }
    }
}

/// What a sampler sees of the outside world: the score, the rows' noise streams, NFE accounting, and a
/// progress hook that may cancel between network evaluations.
pub struct Ctx<'a> {
    pub score: &'a mut dyn ScoreFn,
    pub streams: &'a mut [NoiseStream],
    /// Called after every network evaluation with the evaluations done so far; returning false cancels.
    pub progress: Option<&'a mut dyn FnMut(usize) -> bool>,
    pub nfe: usize,
}

impl Ctx<'_> {
    fn eval(&mut self, x: &[f32], sigma: f32, out: &mut [f32]) -> Result<()> {
        self.score.score(x, sigma, out)?;
        self.nfe += 1;
        if let Some(p) = self.progress.as_mut() {
            if !p(self.nfe) {
                return Err(Error::new(
                    ErrorKind::Cancelled,
                    "the run was cancelled by the progress callback",
                ));
            }
        }
        Ok(())
    }

    /// Fills each row of `out` from that row's own stream.
    fn noise(&mut self, out: &mut [f32]) {
        let n = out.len() / self.streams.len();
        for (row, stream) in out.chunks_exact_mut(n).zip(self.streams.iter_mut()) {
            stream.fill_normal(row);
        }
    }
}

/// Draws the initial state x_T = σ_max·ξ, one row per stream.
pub fn init_state(ctx: &mut Ctx<'_>, x: &mut [f32], sigma_max: f32) {
    ctx.noise(x);
    x.iter_mut().for_each(|v| *v *= sigma_max);
}

/// Runs `cfg` on the rows of `x` (one row per stream) from its current state; returns the NFE.
pub fn run(
    cfg: &SamplerConfig,
    sigmas: &[f32],
    ctx: &mut Ctx<'_>,
    x: &mut [f32],
    ws: &mut Workspace,
) -> Result<usize> {
    cfg.validate()?;
    ws.ensure(x.len());
    let start = ctx.nfe;
    match cfg.kind {
        SamplerKind::Sde(p) => predictor::sample(p, None, sigmas, ctx, x, ws)?,
        SamplerKind::Pc(p) => {
            let corrector = langevin::Langevin {
                snr: cfg.snr,
                steps: cfg.corrector_steps,
            };
            predictor::sample(p, Some(corrector), sigmas, ctx, x, ws)?
        }
        SamplerKind::OdeEuler => ode::euler(sigmas, ctx, x, ws)?,
        SamplerKind::Heun => ode::heun(sigmas, ctx, x, ws)?,
        SamplerKind::Edm => edm::sample(cfg.churn, sigmas, ctx, x, ws)?,
        SamplerKind::DpmPp2m => dpmpp::sample_2m(sigmas, ctx, x, ws)?,
    }
    if cfg.denoise {
        denoise(sigmas[sigmas.len() - 1], ctx, x, ws)?;
    }
    Ok(ctx.nfe - start)
}

/// The final step to σ = 0: x ← x + σ²·s(x, σ), the posterior mean E[x₀ | x_σ] (Tweedie).
fn denoise(sigma: f32, ctx: &mut Ctx<'_>, x: &mut [f32], ws: &mut Workspace) -> Result<()> {
    let s = &mut ws.score[..x.len()];
    ctx.eval(x, sigma, s)?;
    let c = sigma * sigma;
    x.iter_mut().zip(s.iter()).for_each(|(x, s)| *x += c * s);
    Ok(())
}

/// x ← x + a·s + b·ξ, the shape of every Euler-type SDE step.
fn step(x: &mut [f32], a: f32, s: &[f32], b: f32, noise: &[f32]) {
    for ((x, s), n) in x.iter_mut().zip(s).zip(noise) {
        *x += a * s + b * n;
    }
}

#[cfg(test)]
mod tests;
