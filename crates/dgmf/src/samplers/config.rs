//! A sampler configuration: which sampler, its schedule and settings, their defaults and their bounds
//! (`validate`, the one place every door — Rust, C, CLI — checks them), and the NFE they cost.
use super::{SamplerKind, Schedule, Setting};
use crate::error::{Error, Result};

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

/// Noise levels of `edm`'s defaults (`SamplerConfig::new(SamplerKind::EDM)`): 20 levels = 39 network
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
    /// The schedule's last level, in the model's σ units (consistency only); `None`: the model's σ_min.
    pub sigma_last: Option<f32>,
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
            ..SamplerConfig::new(SamplerKind::ANCESTRAL)
        }
    }
}

impl SamplerConfig {
    /// Defaults per kind: the SDE samplers follow score_sde (geometric schedule, N = 1000, snr 0.16, one
    /// corrector step); the ODE samplers follow EDM (Karras schedule, ρ = 7, N = 18); `edm` uses N = 20
    /// (39 NFE). The library-wide default configuration is [`SamplerConfig::default`].
    pub fn new(kind: SamplerKind) -> Self {
        let s = kind.sampler();
        SamplerConfig {
            kind,
            steps: s.default_steps,
            schedule: s.default_schedule,
            snr: 0.16,
            corrector_steps: 1,
            denoise: true,
            churn: Churn::default(),
            sigma_last: None,
        }
    }

    /// Rejects settings no sampler can run with.
    pub fn validate(&self) -> Result<()> {
        let min = self.kind.sampler().min_steps;
        if !(min..=MAX_STEPS).contains(&self.steps) {
            return Err(Error::invalid(format!(
                "steps = {}; {} needs {min} to {MAX_STEPS} noise levels",
                self.steps, self.kind
            )));
        }
        if let Some(v) = self.sigma_last {
            if !(v.is_finite() && v > 0.0) {
                return Err(Error::invalid(format!(
                    "sigma_last = {v}; it must be a positive number (a noise level of the model)"
                )));
            }
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
        (self.kind.sampler().nfe)(self)?.checked_add(usize::from(self.denoise))
    }

    /// The noise levels this configuration runs through for a model trained on [σ_min, σ_max]: the
    /// schedule from σ_max down to σ_min, or to `sigma_last` where the sampler reads it; a `sigma_last`
    /// outside the model's range is refused, naming the range.
    pub fn sigmas(&self, sigma_min: f64, sigma_max: f64) -> Result<Vec<f32>> {
        self.validate()?;
        let last = match self.sigma_last {
            Some(v) if self.kind.uses(Setting::SigmaLast) => {
                // Compared in f32, the precision the level is given in: `sigma_last` copied from the
                // model's own σ_min must pass.
                if !(sigma_min as f32..=sigma_max as f32).contains(&v) {
                    return Err(Error::invalid(format!(
                        "sigma_last = {v} is outside the model's noise range [{sigma_min}, {sigma_max}]; \
                         choose a level inside it (or leave it unset for sigma_min)"
                    )));
                }
                f64::from(v).clamp(sigma_min, sigma_max)
            }
            _ => sigma_min,
        };
        Ok(self.schedule.sigmas(self.steps, last, sigma_max))
    }
}

/// The spec keys of every sampler; the others are the sampler's [`Setting`]s.
const COMMON: [&str; 3] = ["steps", "schedule", "denoise"];

/// Most bytes of a sampler spec (`dgmf.sampler`): a spec is a short line, never a document.
const MAX_SPEC_LEN: usize = 256;

impl SamplerConfig {
    /// The configuration as a one-line spec, the form a model stores as its recommended sampler
    /// (`dgmf.sampler`) and [`SamplerConfig::from_spec`] reads: the sampler's name, then `key=value`
    /// for every setting that sampler uses, e.g. `ancestral steps=8 schedule=geometric denoise=1`.
    pub fn spec(&self) -> String {
        let mut s = format!(
            "{} steps={} schedule={} denoise={}",
            self.kind.name(),
            self.steps,
            self.schedule.name(),
            u8::from(self.denoise)
        );
        for setting in self.kind.sampler().settings {
            let c = self.churn;
            s += &match setting {
                Setting::Snr => format!(" snr={}", self.snr),
                Setting::CorrectorSteps => format!(" corrector_steps={}", self.corrector_steps),
                Setting::Churn => {
                    format!(" churn={},{},{},{}", c.s_churn, c.s_min, c.s_max, c.s_noise)
                }
                Setting::SigmaLast => match self.sigma_last {
                    Some(v) => format!(" sigma_last={v}"),
                    None => String::new(),
                },
            };
        }
        s
    }

    /// Reads a spec written by [`SamplerConfig::spec`]: a sampler name, then any of `steps=N`,
    /// `schedule=geometric|karras`, `denoise=0|1`, `snr=X`, `corrector_steps=K`,
    /// `churn=S_CHURN,S_MIN,S_MAX,S_NOISE`, `sigma_last=X`, separated by spaces. Settings not named keep the sampler's
    /// defaults ([`SamplerConfig::new`]); the result is validated like any configuration.
    pub fn from_spec(spec: &str) -> Result<Self> {
        if spec.len() > MAX_SPEC_LEN {
            return Err(Error::invalid(format!(
                "sampler spec is {} bytes long; a spec is at most {MAX_SPEC_LEN} bytes",
                spec.len()
            )));
        }
        Self::from_spec_among(super::SAMPLERS, spec)
    }

    /// [`SamplerConfig::from_spec`] with the sampler looked up in `table` (a sampler under test).
    #[doc(hidden)]
    pub fn from_spec_among(table: &[&'static super::Sampler], spec: &str) -> Result<Self> {
        let mut words = spec.split_whitespace();
        let name = words
            .next()
            .ok_or_else(|| Error::invalid("sampler spec is empty (no sampler name)"))?;
        let mut c = SamplerConfig::new(SamplerKind::parse_in(table, name)?);
        let mut seen = Vec::new();
        for word in words {
            let (key, value) = word.split_once('=').ok_or_else(|| {
                Error::invalid(format!(
                    "sampler spec `{spec}`: `{word}` is not key=value (e.g. steps=8)"
                ))
            })?;
            if seen.contains(&key) {
                return Err(Error::invalid(format!(
                    "sampler spec `{spec}` sets `{key}` twice"
                )));
            }
            seen.push(key);
            c.set(spec, key, value)?;
        }
        c.validate()?;
        Ok(c)
    }

    /// Sets one `key=value` of `spec` (which names it in messages); the key must be one the sampler reads.
    fn set(&mut self, spec: &str, key: &str, value: &str) -> Result<()> {
        let c = self;
        let bad = |what: &str| {
            Error::invalid(format!(
                "sampler spec `{spec}`: {key}=`{value}` is not {what}"
            ))
        };
        let setting = Setting::ALL
            .into_iter()
            .find(|s| s.key() == key && c.kind.uses(*s));
        match (key, setting) {
            ("steps", _) => c.steps = value.parse().map_err(|_| bad("a whole number"))?,
            ("schedule", _) => c.schedule = Schedule::parse(value)?,
            ("denoise", _) => {
                c.denoise = match value {
                    "1" => true,
                    "0" => false,
                    _ => return Err(bad("0 or 1")),
                }
            }
            (_, Some(Setting::Snr)) => c.snr = value.parse().map_err(|_| bad("a number"))?,
            (_, Some(Setting::CorrectorSteps)) => {
                c.corrector_steps = value.parse().map_err(|_| bad("a whole number"))?
            }
            (_, Some(Setting::Churn)) => {
                let v: Vec<f32> = value
                    .split(',')
                    .map(|x| x.parse().map_err(|_| bad("four numbers")))
                    .collect::<Result<_>>()?;
                let [s_churn, s_min, s_max, s_noise] = v[..] else {
                    return Err(bad("four numbers S_CHURN,S_MIN,S_MAX,S_NOISE"));
                };
                c.churn = Churn {
                    s_churn,
                    s_min,
                    s_max,
                    s_noise,
                };
            }
            (_, Some(Setting::SigmaLast)) => {
                c.sigma_last = Some(value.parse().map_err(|_| bad("a number"))?)
            }
            (_, None) => {
                let keys: Vec<&str> = COMMON
                    .iter()
                    .copied()
                    .chain(c.kind.sampler().settings.iter().map(|s| s.key()))
                    .collect();
                return Err(Error::invalid(format!(
                    "sampler spec `{spec}`: `{key}` is not a setting of {}; its settings are {}",
                    c.kind,
                    keys.join(", ")
                )));
            }
        }
        Ok(())
    }
}
