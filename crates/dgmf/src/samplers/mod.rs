//! Samplers for the reverse VE SDE and its probability-flow ODE (formulas and sources: docs/samplers.md).
//!
//! Every sampler integrates a batch of independent rows from σ_max down to σ_min along a schedule, then (by
//! default) takes the final step to σ = 0, x ← x + σ_min²·s(x, σ_min) (Tweedie's denoiser; for the ODE
//! samplers this is EDM's last Euler step). They see the network only through [`ScoreFn`], so each is
//! testable with a closure.

mod config;
mod consistency;
mod dpmpp;
mod edm;
mod langevin;
mod ode;
mod predictor;
pub mod schedule;

pub use config::{
    Churn, SamplerConfig, DEFAULT_EDM_STEPS, DEFAULT_STEPS, MAX_CORRECTOR_STEPS, MAX_STEPS,
};
pub use predictor::Predictor;
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

/// A sampler setting beyond the three every sampler has (`steps`, `schedule`, `denoise`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Setting {
    /// Langevin signal-to-noise ratio (`snr`).
    Snr,
    /// Langevin steps per noise level (`corrector_steps`).
    CorrectorSteps,
    /// EDM's stochastic churn (`churn`: four numbers).
    Churn,
    /// The last noise level of the schedule when it is not the model's σ_min (`sigma_last`).
    SigmaLast,
}

impl Setting {
    pub const ALL: [Setting; 4] = [
        Setting::Snr,
        Setting::CorrectorSteps,
        Setting::Churn,
        Setting::SigmaLast,
    ];

    /// The setting's key in a sampler spec (`dgmf.sampler`).
    pub fn key(self) -> &'static str {
        match self {
            Setting::Snr => "snr",
            Setting::CorrectorSteps => "corrector_steps",
            Setting::Churn => "churn",
            Setting::SigmaLast => "sigma_last",
        }
    }
}

/// Everything the library knows about one sampler. Each sampler's file defines its descriptor and
/// [`SAMPLERS`] lists them: parsing, spec strings, defaults, NFE, the CLI's choices, `dgmf samplers` and
/// the sampler list in the C header all follow from it. Adding a sampler is a file and a row.
#[derive(Debug)]
pub struct Sampler {
    /// The name the CLI, the C API and `dgmf.sampler` use.
    pub name: &'static str,
    /// One line for listings: the method and its source.
    pub summary: &'static str,
    /// Whether it injects noise after the initial draw (an ODE solver does not).
    pub stochastic: bool,
    /// Default number of noise levels ([`SamplerConfig::new`]).
    pub default_steps: usize,
    /// Default schedule.
    pub default_schedule: Schedule,
    /// Fewest noise levels it runs with (2 for a schedule with an interval; 1 where one level is a method).
    pub min_steps: usize,
    /// The settings it reads beyond steps, schedule and denoise (a spec may set only these).
    pub settings: &'static [Setting],
    /// Network evaluations over the schedule (`steps` levels), without the final denoising step; `None`
    /// when the count does not fit a `usize`.
    pub nfe: fn(&SamplerConfig) -> Option<usize>,
    /// Integrates the rows of `x` along `sigmas` (σ_max … σ_min); the final denoising step is shared.
    pub run: RunFn,
}

/// A sampler's integration loop: (configuration, schedule, context, state, scratch).
pub type RunFn = fn(&SamplerConfig, &[f32], &mut Ctx<'_>, &mut [f32], &mut Workspace) -> Result<()>;

/// Every sampler the library offers, in the order listings show them.
pub const SAMPLERS: &[&Sampler] = &[
    &predictor::EM,
    &predictor::REVERSE_DIFFUSION,
    &predictor::ANCESTRAL,
    &predictor::PC,
    &predictor::PC_EM,
    &predictor::PC_ANCESTRAL,
    &ode::EULER,
    &ode::HEUN,
    &edm::EDM,
    &dpmpp::DPMPP_2M,
    &consistency::CONSISTENCY,
];

/// NFE of the samplers that evaluate the network once per interval of the schedule.
fn one_per_interval(c: &SamplerConfig) -> Option<usize> {
    c.steps.checked_sub(1)
}

/// NFE of the samplers that evaluate it twice per interval (Heun steps).
fn two_per_interval(c: &SamplerConfig) -> Option<usize> {
    c.steps.checked_sub(1)?.checked_mul(2)
}

/// Which sampler to run: a handle to its [`Sampler`] descriptor (compared by name).
#[derive(Clone, Copy)]
pub struct SamplerKind(&'static Sampler);

impl SamplerKind {
    pub const EM: SamplerKind = SamplerKind(&predictor::EM);
    pub const REVERSE_DIFFUSION: SamplerKind = SamplerKind(&predictor::REVERSE_DIFFUSION);
    pub const ANCESTRAL: SamplerKind = SamplerKind(&predictor::ANCESTRAL);
    pub const PC: SamplerKind = SamplerKind(&predictor::PC);
    pub const PC_EM: SamplerKind = SamplerKind(&predictor::PC_EM);
    pub const PC_ANCESTRAL: SamplerKind = SamplerKind(&predictor::PC_ANCESTRAL);
    pub const ODE_EULER: SamplerKind = SamplerKind(&ode::EULER);
    pub const HEUN: SamplerKind = SamplerKind(&ode::HEUN);
    pub const EDM: SamplerKind = SamplerKind(&edm::EDM);
    pub const DPMPP_2M: SamplerKind = SamplerKind(&dpmpp::DPMPP_2M);
    pub const CONSISTENCY: SamplerKind = SamplerKind(&consistency::CONSISTENCY);

    /// A kind for any descriptor, listed in [`SAMPLERS`] or not (a sampler under test).
    pub const fn of(sampler: &'static Sampler) -> Self {
        SamplerKind(sampler)
    }

    /// The sampler's descriptor.
    pub fn sampler(self) -> &'static Sampler {
        self.0
    }

    /// Every sampler of [`SAMPLERS`].
    pub fn all() -> impl Iterator<Item = SamplerKind> {
        SAMPLERS.iter().map(|s| SamplerKind(s))
    }

    /// The names of [`SAMPLERS`], in order.
    pub fn names() -> impl Iterator<Item = &'static str> {
        SAMPLERS.iter().map(|s| s.name)
    }

    pub fn parse(name: &str) -> Result<Self> {
        Self::parse_in(SAMPLERS, name)
    }

    /// The sampler called `name` among `table`.
    pub fn parse_in(table: &[&'static Sampler], name: &str) -> Result<Self> {
        table
            .iter()
            .find(|s| s.name == name)
            .map(|s| SamplerKind(s))
            .ok_or_else(|| {
                let names: Vec<&str> = table.iter().map(|s| s.name).collect();
                Error::invalid(format!(
                    "unknown sampler `{name}`; choose one of {}",
                    names.join(", ")
                ))
            })
    }

    pub fn name(self) -> &'static str {
        self.0.name
    }

    /// Whether the sampler injects noise after the initial draw.
    pub fn is_stochastic(self) -> bool {
        self.0.stochastic
    }

    /// Whether the sampler reads `setting`.
    pub fn uses(self, setting: Setting) -> bool {
        self.0.settings.contains(&setting)
    }
}

impl PartialEq for SamplerKind {
    fn eq(&self, other: &Self) -> bool {
        self.0.name == other.0.name
    }
}
impl Eq for SamplerKind {}

impl std::fmt::Debug for SamplerKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SamplerKind({})", self.0.name)
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

/// One line per sampler of [`SAMPLERS`]: name, defaults, NFE at the defaults, summary (`dgmf samplers`
/// prints it; scripts/gen-header.sh writes it into the C header's sampler list).
pub fn listing() -> Vec<String> {
    let d = SamplerConfig::default();
    let default = format!(
        "default: {} ({} NFE), when the caller names no sampler and the model recommends none",
        d.spec(),
        d.nfe()
    );
    SamplerKind::all()
        .map(|k| {
            let s = k.sampler();
            let c = SamplerConfig::new(k);
            let own: Vec<&str> = s.settings.iter().map(|k| k.key()).collect();
            format!(
                "{:<17} {} levels, {}, {} NFE{}: {}{}",
                s.name,
                s.default_steps,
                s.default_schedule.name(),
                c.nfe(),
                if s.stochastic { "" } else { ", deterministic" },
                s.summary,
                if own.is_empty() {
                    String::new()
                } else {
                    format!(" (settings: {})", own.join(", "))
                }
            )
        })
        .chain(std::iter::once(default))
        .collect()
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
    /// Buffers of `len` values each; an allocation failure is an error, never an abort of the host.
    pub fn new(len: usize) -> Result<Self> {
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
    /// Threads the noise is drawn on (`rng::fill_rows`: the same bits for any count; 1 draws on the calling
    /// thread only).
    pub noise_threads: usize,
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
        crate::rng::fill_rows(self.streams, out, self.noise_threads);
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
    (cfg.kind.sampler().run)(cfg, sigmas, ctx, x, ws)?;
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
