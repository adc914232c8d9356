//! Noise schedules: N decreasing levels from σ_max to σ_min (both included).

/// How the N noise levels are spaced.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Schedule {
    /// Uniform in log σ: σ_i = σ_max·(σ_min/σ_max)^(i/(N−1)) — score_sde's VE discretization.
    Geometric,
    /// Karras et al. (EDM): σ_i = (σ_max^(1/ρ) + i/(N−1)·(σ_min^(1/ρ) − σ_max^(1/ρ)))^ρ.
    Karras { rho: f32 },
}

impl Schedule {
    /// The schedules by name (`karras` with EDM's ρ = 7): what the C API and the CLI accept.
    pub const NAMES: [&'static str; 2] = ["geometric", "karras"];

    /// Parses a schedule name (one of [`Schedule::NAMES`]).
    pub fn parse(name: &str) -> crate::Result<Self> {
        match name {
            "geometric" => Ok(Schedule::Geometric),
            "karras" => Ok(Schedule::Karras { rho: 7.0 }),
            other => Err(crate::Error::new(
                crate::ErrorKind::InvalidArgument,
                format!(
                    "unknown schedule `{other}`; choose one of {}",
                    Self::NAMES.join(", ")
                ),
            )),
        }
    }

    pub fn name(&self) -> &'static str {
        match self {
            Schedule::Geometric => "geometric",
            Schedule::Karras { .. } => "karras",
        }
    }

    /// The levels, computed in f64 and rounded once; the ends are exactly σ_max and σ_min (one level:
    /// σ_max alone).
    pub fn sigmas(&self, n: usize, sigma_min: f64, sigma_max: f64) -> Vec<f32> {
        assert!(n >= 1, "a schedule needs at least one level");
        if n == 1 {
            return vec![sigma_max as f32];
        }
        let last = (n - 1) as f64;
        (0..n)
            .map(|i| {
                let t = i as f64 / last;
                let s = match *self {
                    Schedule::Geometric => sigma_max * (sigma_min / sigma_max).powf(t),
                    Schedule::Karras { rho } => {
                        let r = 1.0 / rho as f64;
                        (sigma_max.powf(r) + t * (sigma_min.powf(r) - sigma_max.powf(r)))
                            .powf(rho as f64)
                    }
                };
                let s = if i == 0 {
                    sigma_max
                } else if i + 1 == n {
                    sigma_min
                } else {
                    s
                };
                s.clamp(sigma_min, sigma_max) as f32
            })
            .collect()
    }
}

impl std::str::FromStr for Schedule {
    type Err = crate::Error;
    fn from_str(name: &str) -> crate::Result<Self> {
        Schedule::parse(name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for name in Schedule::NAMES {
            assert_eq!(Schedule::parse(name).unwrap().name(), name);
        }
        let e = Schedule::parse("linear").unwrap_err();
        assert!(e.message().contains("geometric, karras"), "{e}");
    }

    #[test]
    fn ends_and_monotonicity() {
        for sched in [Schedule::Geometric, Schedule::Karras { rho: 7.0 }] {
            let s = sched.sigmas(50, 0.01, 80.0);
            assert_eq!(s[0], 80.0);
            assert_eq!(s[49], 0.01);
            assert!(
                s.windows(2).all(|w| w[1] < w[0]),
                "{sched:?} not decreasing"
            );
        }
    }

    #[test]
    fn geometric_ratios_are_constant() {
        let s = Schedule::Geometric.sigmas(11, 0.01, 100.0);
        for w in s.windows(2) {
            assert!((w[1] / w[0] - 0.398_107_17).abs() < 1e-5);
        }
    }

    #[test]
    fn karras_matches_the_closed_form_midpoint() {
        // With N = 3 the middle level is ((σmax^(1/ρ) + σmin^(1/ρ))/2)^ρ.
        let s = Schedule::Karras { rho: 7.0 }.sigmas(3, 0.002, 80.0);
        let want = ((80f64.powf(1.0 / 7.0) + 0.002f64.powf(1.0 / 7.0)) / 2.0).powi(7);
        assert!((s[1] as f64 - want).abs() < 1e-5 * want);
    }
}
