//! Samplers for the reverse VE SDE and its probability-flow ODE (formulas and sources: docs/samplers.md).
//!
//! Every sampler integrates a batch of independent rows from σ_max down to σ_min along a schedule, then (by
//! default) takes the final step to σ = 0, x ← x + σ_min²·s(x, σ_min) (Tweedie's denoiser; for the ODE
//! samplers this is EDM's last Euler step). They see the network only through [`ScoreFn`], so each is
//! testable with a closure.

mod dpmpp;
mod edm;
mod langevin;
mod ode;
mod predictor;
pub mod schedule;

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

/// EDM's stochastic-churn settings (Karras et al. 2022, Algorithm 2).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Churn {
    pub s_churn: f32,
    pub s_min: f32,
    pub s_max: f32,
    pub s_noise: f32,
}

impl Default for Churn {
    /// Churn at every level (S_min = 0, S_max = f32::MAX), γ at its cap √2 − 1 for N ≤ 96, S_noise = 1.
    /// Why not EDM's ImageNet-64 window [0.05, 50]: σ is in the model's normalized units and σ_max is
    /// model-dependent (≈ 20–110 for the shipped models), and churn over the whole range measured best on
    /// them (docs/performance.md, "Accuracy per NFE").
    fn default() -> Self {
        Churn {
            s_churn: 40.0,
            s_min: 0.0,
            s_max: f32::MAX,
            s_noise: 1.0,
        }
    }
}

/// Most noise levels a schedule may have (score_sde uses 1000–2000).
pub const MAX_STEPS: usize = 100_000;
/// Most Langevin steps per noise level.
pub const MAX_CORRECTOR_STEPS: usize = 100;

/// Noise levels of `edm`'s defaults (`SamplerConfig::new(SamplerKind::Edm)`): 20 levels = 39 network
/// evaluations. The library default is [`SamplerConfig::default`].
pub const DEFAULT_EDM_STEPS: usize = 20;

/// A complete sampler configuration. `SamplerConfig::new(kind)` gives the documented defaults.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SamplerConfig {
    pub kind: SamplerKind,
    /// Number of noise levels in the schedule, σ_max … σ_min (≥ 2).
    pub steps: usize,
    pub schedule: Schedule,
    /// Langevin signal-to-noise ratio (pc only).
    pub snr: f32,
    /// Langevin steps per noise level (pc only).
    pub corrector_steps: usize,
    /// Take the final step to σ = 0 (x ← x + σ_min²·s).
    pub denoise: bool,
    /// Churn (edm only).
    pub churn: Churn,
}

/// Noise levels of the library's default configuration (ancestral sampling, geometric schedule): 30 NFE.
pub const DEFAULT_STEPS: usize = 30;

impl Default for SamplerConfig {
    /// The library's default: `ancestral` on the geometric schedule with 30 levels (30 NFE, with the final
    /// denoising step). On the shipped models it is within 10 % of — or better than — score_sde's
    /// 2000-NFE `pc`, the only setting within 40 NFE found to be (docs/performance.md). `new(Ancestral)`
    /// keeps score_sde's N = 1000.
    fn default() -> Self {
        SamplerConfig {
            steps: DEFAULT_STEPS,
            ..SamplerConfig::new(SamplerKind::Sde(Predictor::Ancestral))
        }
    }
}

impl SamplerConfig {
    /// Defaults per kind: the SDE samplers follow score_sde (geometric schedule, N = 1000, snr 0.16, one
    /// corrector step); the ODE samplers follow EDM (Karras schedule, ρ = 7, N = 18); `edm` uses N = 20
    /// (39 NFE). The library-wide default configuration is [`SamplerConfig::default`].
    pub fn new(kind: SamplerKind) -> Self {
        let ode_like = matches!(
            kind,
            SamplerKind::OdeEuler | SamplerKind::Heun | SamplerKind::Edm | SamplerKind::DpmPp2m
        );
        SamplerConfig {
            kind,
            steps: match kind {
                SamplerKind::Edm => DEFAULT_EDM_STEPS,
                _ if ode_like => 18,
                _ => 1000,
            },
            schedule: if ode_like {
                Schedule::Karras { rho: 7.0 }
            } else {
                Schedule::Geometric
            },
            snr: 0.16,
            corrector_steps: 1,
            denoise: true,
            churn: Churn::default(),
        }
    }

    /// Rejects settings no sampler can run with.
    pub fn validate(&self) -> Result<()> {
        if !(2..=MAX_STEPS).contains(&self.steps) {
            return Err(Error::invalid(format!(
                "steps = {}; a schedule needs 2 to {MAX_STEPS} noise levels",
                self.steps
            )));
        }
        if self.corrector_steps > MAX_CORRECTOR_STEPS {
            return Err(Error::invalid(format!(
                "corrector steps = {}; at most {MAX_CORRECTOR_STEPS} Langevin steps per noise level",
                self.corrector_steps
            )));
        }
        if let Schedule::Karras { rho } = self.schedule {
            if !(rho.is_finite() && rho > 0.0) {
                return Err(Error::invalid(format!(
                    "Karras rho = {rho}; it must be a positive number"
                )));
            }
        }
        // snr and churn are checked whatever the sampler, so that a setting is refused when it is made,
        // not later when the configuration is switched to a sampler that uses it.
        if !(self.snr.is_finite() && self.snr > 0.0) {
            return Err(Error::invalid(format!(
                "snr = {}; it must be a positive number",
                self.snr
            )));
        }
        let c = self.churn;
        if !([c.s_churn, c.s_min, c.s_max, c.s_noise]
            .iter()
            .all(|v| v.is_finite() && *v >= 0.0))
        {
            return Err(Error::invalid(
                "EDM churn settings must be finite and non-negative",
            ));
        }
        Ok(())
    }

    /// Network evaluations per row batch (the NFE of one prediction). Saturates at `usize::MAX` for
    /// settings `validate` refuses, so it never overflows.
    pub fn nfe(&self) -> usize {
        self.checked_nfe().unwrap_or(usize::MAX)
    }

    /// The NFE, or `None` if it does not fit a `usize` (only for settings `validate` refuses).
    pub fn checked_nfe(&self) -> Option<usize> {
        let levels = self.steps.checked_sub(1)?;
        let last = usize::from(self.denoise);
        let k = self.corrector_steps;
        match self.kind {
            SamplerKind::Sde(_) | SamplerKind::OdeEuler | SamplerKind::DpmPp2m => {
                levels.checked_add(last)
            }
            SamplerKind::Pc(_) => levels
                .checked_mul(k.checked_add(1)?)?
                .checked_add(k)?
                .checked_add(last),
            SamplerKind::Heun | SamplerKind::Edm => levels.checked_mul(2)?.checked_add(last),
        }
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
