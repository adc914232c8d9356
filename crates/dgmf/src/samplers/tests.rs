//! Sampler tests against an exact score: data ~ N(μ, s²·I) has VE score −(x − μ)/(s² + σ²) at every σ.

use super::*;

const S: f32 = 0.5;
const SIGMA_MIN: f64 = 0.01;
const SIGMA_MAX: f64 = 10.0;

fn mu(n: usize) -> Vec<f32> {
    (0..n).map(|i| (i as f32 * 0.37).sin() * 1.5).collect()
}

/// Runs `cfg` on `rows` samples of dimension `n`; returns the final states and the NFE.
fn sample(cfg: &SamplerConfig, rows: usize, n: usize, seed: u64) -> (Vec<f32>, usize) {
    let m = mu(n);
    let mut score = |x: &[f32], sigma: f32, out: &mut [f32]| -> Result<()> {
        let v = S * S + sigma * sigma;
        for (i, (o, x)) in out.iter_mut().zip(x).enumerate() {
            *o = -(x - m[i % n]) / v;
        }
        Ok(())
    };
    let mut streams: Vec<_> = (0..rows as u64)
        .map(|j| NoiseStream::new(seed, j))
        .collect();
    let mut ctx = Ctx {
        score: &mut score,
        streams: &mut streams,
        noise_threads: 1,
        progress: None,
        nfe: 0,
    };
    let mut x = vec![0.0; rows * n];
    let sigmas = cfg.sigmas(SIGMA_MIN, SIGMA_MAX).unwrap();
    init_state(&mut ctx, &mut x, SIGMA_MAX as f32);
    let nfe = run(
        cfg,
        &sigmas,
        &mut ctx,
        &mut x,
        &mut Workspace::new(0).unwrap(),
    )
    .unwrap();
    (x, nfe)
}

/// Checks per-element means and the pooled variance against N(μ, s²).
/// Tolerances: each mean within 5 standard errors s/√M (+ `bias`·s), the pooled variance ratio within 5
/// standard errors √(2/((M−1)·n)) + `bias`, where `bias` bounds the discretization error of the sampler.
fn assert_gaussian(name: &str, x: &[f32], rows: usize, n: usize, bias: f64) {
    let m = mu(n);
    let s2 = (S * S) as f64;
    let mut ratio = 0.0;
    for e in 0..n {
        let col: Vec<f64> = (0..rows).map(|r| x[r * n + e] as f64).collect();
        let mean = col.iter().sum::<f64>() / rows as f64;
        let var = col.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (rows - 1) as f64;
        let se = (s2 / rows as f64).sqrt();
        assert!(
            (mean - m[e] as f64).abs() < 5.0 * se + bias * s2.sqrt(),
            "{name}: element {e} mean {mean} vs {}",
            m[e]
        );
        ratio += var / s2 / n as f64;
    }
    let se = (2.0 / ((rows - 1) * n) as f64).sqrt();
    assert!(
        (ratio - 1.0).abs() < 5.0 * se + bias,
        "{name}: variance ratio {ratio} (se {se})"
    );
}

#[test]
fn stochastic_samplers_reach_the_data_distribution() {
    // (sampler, steps, discretization allowance on the variance ratio)
    // Langevin with a finite step ε ≈ 2·snr²·v inflates the stationary variance by ε/(2v) ≈ snr² ≈ 2.6 %,
    // plus the spread of per-sample norms (≈ √(2/n) relative): measured 1.037–1.044 at n = 256, so pc
    // variants get a 6 % allowance; the other samplers 3 %.
    let cases = [
        ("em", 400, 0.03),
        ("reverse-diffusion", 400, 0.03),
        ("ancestral", 400, 0.03),
        ("pc", 400, 0.06),
        ("pc-em", 400, 0.06),
        ("pc-ancestral", 400, 0.06),
        ("edm", 40, 0.03),
    ];
    let (rows, n) = (500, 256);
    for (name, steps, bias) in cases {
        let mut cfg = SamplerConfig::new(SamplerKind::parse(name).unwrap());
        cfg.steps = steps;
        let (x, nfe) = sample(&cfg, rows, n, 1);
        assert_eq!(nfe, cfg.nfe(), "{name}");
        assert_gaussian(name, &x, rows, n, bias);
    }
}

/// Consistency sampling on N(μ, s²) has a closed form: with D(x, σ) = μ + k(σ)(x − μ), k = s²/(s² + σ²),
/// the deviation y = x − μ starts at σ_0·ξ − μ, each jump maps it to k_i·y + σ_{i+1}·ξ', and the final
/// denoise to k_last·y: mean −μ·Πk, variance by the same recursion.
#[test]
fn consistency_sampling_matches_its_closed_form() {
    let (rows, n) = (4000, 64);
    let m = mu(n);
    for (steps, sigma_last, denoise) in [
        (1, None, true),
        (2, Some(0.3), true),
        (2, Some(0.3), false),
        (3, None, true),
        (4, Some(2.0), true),
    ] {
        let mut cfg = SamplerConfig::new(SamplerKind::CONSISTENCY);
        (cfg.steps, cfg.sigma_last, cfg.denoise) = (steps, sigma_last, denoise);
        let sigmas = cfg.sigmas(SIGMA_MIN, SIGMA_MAX).unwrap();
        assert_eq!(sigmas.len(), steps);
        assert_eq!(sigmas[0] as f64, SIGMA_MAX);
        if steps > 1 {
            assert_eq!(sigmas[steps - 1], sigma_last.unwrap_or(SIGMA_MIN as f32));
        }
        let k = |s: f32| (S * S / (S * S + s * s)) as f64;
        let (mut gain, mut var) = (1.0, (sigmas[0] as f64).powi(2));
        for w in sigmas.windows(2) {
            gain *= k(w[0]);
            var = k(w[0]).powi(2) * var + (w[1] as f64).powi(2);
        }
        if denoise {
            gain *= k(sigmas[steps - 1]);
            var *= k(sigmas[steps - 1]).powi(2);
        }
        let (x, nfe) = sample(&cfg, rows, n, 5);
        let what = format!("steps={steps} sigma_last={sigma_last:?} denoise={denoise}");
        assert_eq!(nfe, steps - 1 + usize::from(denoise), "{what}");
        assert_eq!(nfe, cfg.nfe(), "{what}");
        let mut pooled = 0.0;
        for (e, &me) in m.iter().enumerate() {
            let col: Vec<f64> = (0..rows).map(|r| x[r * n + e] as f64).collect();
            let mean = col.iter().sum::<f64>() / rows as f64;
            let want = me as f64 * (1.0 - gain);
            let se = (var / rows as f64).sqrt();
            assert!(
                (mean - want).abs() < 5.0 * se,
                "{what}: element {e} mean {mean} vs {want}"
            );
            pooled += col.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / ((rows - 1) * n) as f64;
        }
        let se = (2.0 / ((rows - 1) * n) as f64).sqrt();
        assert!(
            (pooled / var - 1.0).abs() < 5.0 * se,
            "{what}: variance {pooled} vs {var}"
        );
    }
}

#[test]
fn sigma_last_must_lie_in_the_model_range() {
    let mut cfg = SamplerConfig::new(SamplerKind::CONSISTENCY);
    for bad in [0.001, 11.0] {
        cfg.sigma_last = Some(bad);
        let e = cfg.sigmas(SIGMA_MIN, SIGMA_MAX).unwrap_err();
        assert!(
            e.message()
                .contains("outside the model's noise range [0.01, 10]"),
            "{e}"
        );
    }
    // A sampler that does not read it runs its usual schedule to σ_min.
    let mut anc = SamplerConfig::new(SamplerKind::ANCESTRAL);
    (anc.steps, anc.sigma_last) = (5, Some(11.0));
    assert_eq!(
        *anc.sigmas(SIGMA_MIN, SIGMA_MAX).unwrap().last().unwrap(),
        SIGMA_MIN as f32
    );
    // The model's own σ_min, written in f32, is inside its range.
    cfg.sigma_last = Some(SIGMA_MIN as f32);
    assert_eq!(
        cfg.sigmas(SIGMA_MIN, SIGMA_MAX).unwrap()[1],
        SIGMA_MIN as f32
    );
}

/// The probability-flow ODE maps x_T to μ + (x_T − μ)·√(s²+σ_min²)/√(s²+σ_max²) at σ_min; the final
/// denoise step then multiplies the deviation by s²/(s²+σ_min²).
fn exact_flow(x_t: f32, m: f32) -> f32 {
    let (s2, a, b) = ((S * S) as f64, SIGMA_MIN * SIGMA_MIN, SIGMA_MAX * SIGMA_MAX);
    (m as f64 + (x_t - m) as f64 * s2 / ((s2 + a).sqrt() * (s2 + b).sqrt())) as f32
}

/// Max deviation of an ODE sampler's output from the exact flow map of each row's own x_T.
fn flow_error(name: &str, steps: usize) -> f32 {
    let (rows, n) = (16, 8);
    let m = mu(n);
    let mut cfg = SamplerConfig::new(SamplerKind::parse(name).unwrap());
    cfg.steps = steps;
    let (x, _) = sample(&cfg, rows, n, 3);
    let mut x_t = vec![0.0; rows * n];
    for (r, row) in x_t.chunks_exact_mut(n).enumerate() {
        NoiseStream::new(3, r as u64).fill_normal(row);
    }
    x.iter()
        .zip(&x_t)
        .enumerate()
        .map(|(i, (x, xi))| (x - exact_flow(xi * SIGMA_MAX as f32, m[i % n])).abs())
        .fold(0f32, f32::max)
}

#[test]
fn ode_samplers_converge_to_the_exact_flow_at_their_order() {
    // Observed order log2(e(N)/e(2N)) over N = 40, 80, 160 (measured: 1.00, 2.03–2.09, 2.04–2.09).
    for (name, order) in [("ode-euler", 1.0), ("heun", 2.0), ("dpmpp-2m", 2.0)] {
        let e: Vec<f32> = [40, 80, 160].iter().map(|&n| flow_error(name, n)).collect();
        for w in e.windows(2) {
            let observed = (w[0] / w[1]).log2() as f64;
            assert!(
                (observed - order).abs() < 0.2,
                "{name}: observed order {observed}, errors {e:?}"
            );
        }
    }
    // And the second-order solvers are accurate at practical step counts (measured 5.1e-3 / 5.2e-3).
    assert!(flow_error("heun", 40) < 1e-2);
    assert!(flow_error("dpmpp-2m", 40) < 1e-2);
}

#[test]
fn rows_are_independent_of_their_batch() {
    for name in SamplerKind::names() {
        let mut cfg = SamplerConfig::new(SamplerKind::parse(name).unwrap());
        cfg.steps = 12;
        let n = 5;
        let (batch, _) = sample(&cfg, 6, n, 9);
        // Row 4 alone, with its own stream (sample index 4).
        let m = mu(n);
        let mut score = |x: &[f32], sigma: f32, out: &mut [f32]| -> Result<()> {
            for (i, (o, x)) in out.iter_mut().zip(x).enumerate() {
                *o = -(x - m[i]) / (S * S + sigma * sigma);
            }
            Ok(())
        };
        let mut streams = vec![NoiseStream::new(9, 4)];
        let mut ctx = Ctx {
            score: &mut score,
            streams: &mut streams,
            noise_threads: 1,
            progress: None,
            nfe: 0,
        };
        let mut x = vec![0.0; n];
        init_state(&mut ctx, &mut x, SIGMA_MAX as f32);
        let sigmas = cfg.schedule.sigmas(cfg.steps, SIGMA_MIN, SIGMA_MAX);
        run(
            &cfg,
            &sigmas,
            &mut ctx,
            &mut x,
            &mut Workspace::new(n).unwrap(),
        )
        .unwrap();
        assert_eq!(&batch[4 * n..5 * n], &x[..], "{name}");
    }
}

#[test]
fn nfe_counts_match_the_documented_formulas() {
    let mut cfg = SamplerConfig::new(SamplerKind::PC);
    assert_eq!(
        cfg.nfe(),
        2000,
        "score_sde's pc-1000 costs 2000 evaluations"
    );
    cfg.denoise = false;
    assert_eq!(cfg.nfe(), 1999);
    let heun = SamplerConfig::new(SamplerKind::HEUN);
    assert_eq!(heun.nfe(), 35, "EDM's 18-step Heun costs 35 evaluations");
    for name in SamplerKind::names() {
        let mut cfg = SamplerConfig::new(SamplerKind::parse(name).unwrap());
        cfg.steps = 7;
        cfg.corrector_steps = 2;
        assert_eq!(sample(&cfg, 2, 3, 0).1, cfg.nfe(), "{name}");
    }
}

#[test]
fn progress_can_cancel_between_evaluations() {
    let mut score = |_: &[f32], _: f32, out: &mut [f32]| -> Result<()> {
        out.fill(0.0);
        Ok(())
    };
    let mut calls = 0;
    let mut progress = |nfe: usize| {
        calls = nfe;
        nfe < 3
    };
    let mut streams = vec![NoiseStream::new(0, 0)];
    let mut ctx = Ctx {
        score: &mut score,
        streams: &mut streams,
        noise_threads: 1,
        progress: Some(&mut progress),
        nfe: 0,
    };
    let cfg = SamplerConfig::new(SamplerKind::HEUN);
    let sigmas = cfg.schedule.sigmas(cfg.steps, SIGMA_MIN, SIGMA_MAX);
    let e = run(
        &cfg,
        &sigmas,
        &mut ctx,
        &mut [0.0; 4],
        &mut Workspace::new(4).unwrap(),
    )
    .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Cancelled);
    assert_eq!(
        calls, 3,
        "stops right after the evaluation that returned false"
    );
}

#[test]
fn rejects_bad_configurations() {
    let mut cfg = SamplerConfig::new(SamplerKind::HEUN);
    for steps in [0, 1, MAX_STEPS + 1, usize::MAX] {
        cfg.steps = steps;
        let e = cfg.validate().unwrap_err();
        assert!(e.message().contains("2 to 100000"), "{steps}: {e}");
    }
    // The NFE of a refused setting saturates instead of wrapping or panicking.
    cfg.steps = 0;
    assert_eq!(cfg.nfe(), usize::MAX);
    let mut pc = SamplerConfig::new(SamplerKind::PC);
    pc.corrector_steps = usize::MAX;
    assert!(pc.validate().unwrap_err().message().contains("at most 100"));
    assert_eq!(pc.nfe(), usize::MAX, "saturates, never wraps to 0");
    pc.corrector_steps = MAX_CORRECTOR_STEPS;
    pc.steps = MAX_STEPS;
    pc.validate().unwrap();
    assert_eq!(pc.nfe(), (MAX_STEPS - 1) * 101 + 100 + 1);
    let mut cfg = SamplerConfig::new(SamplerKind::PC_ANCESTRAL);
    cfg.snr = f32::NAN;
    assert!(cfg.validate().unwrap_err().message().contains("snr"));
    assert!(SamplerKind::parse("ddim")
        .unwrap_err()
        .message()
        .contains("dpmpp-2m"));
}

#[test]
fn every_sampler_name_round_trips_through_the_one_table() {
    for name in SamplerKind::names() {
        let kind: SamplerKind = name.parse().unwrap();
        assert_eq!(kind.name(), name);
        assert_eq!(kind.to_string(), name);
    }
    let e = "ddim".parse::<SamplerKind>().unwrap_err();
    assert!(
        e.message().contains("em, reverse-diffusion, ancestral, pc"),
        "{e}"
    );
}

#[test]
fn every_configuration_round_trips_through_its_spec() {
    for name in SamplerKind::names() {
        let mut c = SamplerConfig::new(SamplerKind::parse(name).unwrap());
        c.steps = 7;
        c.denoise = false;
        c.snr = 0.25;
        c.corrector_steps = 3;
        c.churn.s_churn = 5.5;
        c.sigma_last = Some(0.25);
        let back = SamplerConfig::from_spec(&c.spec()).unwrap();
        // Settings a sampler does not use are not written, so they come back as its defaults.
        let mut want = c;
        if !c.kind.uses(Setting::Snr) {
            want.snr = SamplerConfig::new(c.kind).snr;
            want.corrector_steps = SamplerConfig::new(c.kind).corrector_steps;
        }
        if c.kind != SamplerKind::EDM {
            want.churn = Churn::default();
        }
        if !c.kind.uses(Setting::SigmaLast) {
            want.sigma_last = None;
        }
        assert_eq!(back, want, "{}", c.spec());
    }
    let d = SamplerConfig::from_spec("ancestral").unwrap();
    assert_eq!(d, SamplerConfig::new(SamplerKind::ANCESTRAL));
    let e = SamplerConfig::from_spec("  heun   steps=4  schedule=geometric ").unwrap();
    assert_eq!((e.steps, e.schedule), (4, Schedule::Geometric));
}

#[test]
fn bad_specs_say_what_is_wrong() {
    for (spec, needle) in [
        ("", "empty"),
        ("ancestral steps=1", "2 to"),
        ("ancestral steps=eight", "`eight` is not a whole number"),
        ("ancestral steps=8 steps=9", "twice"),
        ("ancestral 8", "not key=value"),
        (
            "ancestral speed=8",
            "`speed` is not a setting of ancestral; its settings are steps, schedule, denoise",
        ),
        ("heun snr=0.2", "`snr` is not a setting of heun"),
        (
            "pc churn=1,2,3,4",
            "its settings are steps, schedule, denoise, snr, corrector_steps",
        ),
        ("ancestral schedule=linear", "unknown schedule"),
        ("ancestral denoise=yes", "0 or 1"),
        ("pc snr=-1", "snr"),
        ("edm churn=1,2,3", "four numbers"),
        ("edm churn=1,2,3,nan", "churn"),
        ("consistency sigma_last=low", "`low` is not a number"),
        ("consistency sigma_last=-1", "sigma_last = -1"),
        ("consistency steps=0", "1 to 100000"),
        (
            "ancestral sigma_last=1",
            "`sigma_last` is not a setting of ancestral",
        ),
        ("warp steps=8", "unknown sampler `warp`"),
    ] {
        let e = SamplerConfig::from_spec(spec).unwrap_err();
        assert!(e.message().contains(needle), "{spec:?}: {e}");
    }
    let long = format!("ancestral {}", "steps=8 ".repeat(40));
    assert!(SamplerConfig::from_spec(&long)
        .unwrap_err()
        .message()
        .contains("at most 256 bytes"));
}

/// A sampler is one descriptor and its run function: this one lives here, in no table of the library,
/// and gets defaults, NFE, spec strings, setting checks and the shared denoising step from the descriptor
/// alone.
mod toy {
    use super::*;
    use crate::samplers::{Sampler, Setting};

    /// Three evaluations per interval, the last one's score used for an Euler step on the flow ODE.
    const TOY: Sampler = Sampler {
        name: "toy",
        summary: "a test sampler",
        stochastic: false,
        default_steps: 9,
        default_schedule: Schedule::Geometric,
        min_steps: 2,
        settings: &[Setting::Snr],
        nfe: |c| c.steps.checked_sub(1)?.checked_mul(3),
        run: |_, sigmas, ctx, x, ws| {
            let n = x.len();
            for w in sigmas.windows(2) {
                let s = &mut ws.score[..n];
                for _ in 0..3 {
                    ctx.eval(x, w[0], s)?;
                }
                let c = w[0] * (w[0] - w[1]);
                x.iter_mut().zip(s.iter()).for_each(|(x, s)| *x += c * s);
            }
            Ok(())
        },
    };

    #[test]
    fn a_new_sampler_is_one_descriptor() {
        let kind = SamplerKind::of(&TOY);
        let mut cfg = SamplerConfig::new(kind);
        assert_eq!((cfg.steps, cfg.schedule), (9, Schedule::Geometric));
        assert!(!kind.is_stochastic());
        assert_eq!(
            cfg.nfe(),
            8 * 3 + 1,
            "three per interval and the shared denoising step"
        );
        cfg.steps = 5;
        assert_eq!(sample(&cfg, 2, 3, 0).1, cfg.nfe(), "the count is what runs");
        // Its spec holds its own settings and no other sampler's.
        cfg.snr = 0.5;
        assert_eq!(
            cfg.spec(),
            "toy steps=5 schedule=geometric denoise=1 snr=0.5"
        );
        let table = [&TOY];
        assert_eq!(
            SamplerConfig::from_spec_among(&table, &cfg.spec()).unwrap(),
            cfg
        );
        let e = SamplerConfig::from_spec_among(&table, "toy churn=1,2,3,4").unwrap_err();
        assert!(
            e.message()
                .contains("its settings are steps, schedule, denoise, snr"),
            "{e}"
        );
        // Not in SAMPLERS: the library's own parsers do not know it.
        assert!(SamplerKind::parse("toy").is_err());
    }
}
