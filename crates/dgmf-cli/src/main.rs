//! `dgmf`: inspect a score model and predict PDE solutions with it from the command line.

use std::borrow::Cow;
use std::process::ExitCode;

use clap::Parser;
use dgmf::contract::Contract;
use dgmf::runtime::{OptLevel, Provider, SessionOptions};
use dgmf::samplers::SamplerConfig;
use dgmf::{Error, FidelityValue, Model, Prediction, Progress, Query, Request};

mod args;
#[macro_use]
mod terminal;
mod calibrate;
mod outputs;
mod queries;
mod reference;
mod show;

use args::{Cli, Command, PredictArgs, RuntimeArgs, SamplerArgs};
use calibrate::calibrate;
use outputs::{check_outputs, write_outputs};
use queries::{numbers, read_queries, Budget};
use show::{info, report};
use terminal::{error_line, escape_controls, Out};

fn main() -> ExitCode {
    // A bug must still end in one `dgmf: error:` line and exit status 1, not a backtrace.
    std::panic::set_hook(Box::new(|info| {
        let what = info
            .payload()
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown panic".into());
        let at = info
            .location()
            .map(|l| format!(" at {}:{}", l.file(), l.line()))
            .unwrap_or_default();
        eprintln!(
            "dgmf: error: internal error (a bug in dgmf, please report it): {}{at}",
            escape_controls(&what)
        );
    }));
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => return usage_error(e),
    };
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| match cli.command {
        Command::Info { model, json, rt } => info(&model, json, &rt),
        Command::Predict(args) => predict(&args),
        Command::Calibrate(args) => calibrate(&args),
        Command::Samplers => {
            let mut out = terminal::Out::new();
            dgmf::samplers::listing()
                .iter()
                .try_for_each(|line| out.line(line))
        }
    }));
    match result {
        Ok(Ok(())) => ExitCode::SUCCESS,
        Ok(Err(e)) if e.kind() == dgmf::ErrorKind::Io && e.message() == terminal::READER_CLOSED => {
            ExitCode::SUCCESS
        }
        Ok(Err(e)) => {
            // Library messages are single, escaped lines already (dgmf::Error::new); escaping again is a
            // no-op that keeps this line safe whatever builds the error.
            eprintln!("dgmf: error: {}", escape_controls(e.message()));
            ExitCode::FAILURE
        }
        // The panic hook has printed the message.
        Err(_) => ExitCode::FAILURE,
    }
}

/// A command-line parse error as one `dgmf: error:` line with exit status 1 (clap's own rendering spans
/// several lines and exits with 2). `--help` and `--version` print as usual.
fn usage_error(e: clap::Error) -> ExitCode {
    use clap::error::ErrorKind as K;
    match e.kind() {
        K::DisplayHelp | K::DisplayVersion => {
            let _ = e.print();
            return ExitCode::SUCCESS;
        }
        K::DisplayHelpOnMissingArgumentOrSubcommand => {
            eprintln!(
                "dgmf: error: no command given: use `dgmf info MODEL` or `dgmf predict MODEL ...` (see dgmf --help)"
            );
            return ExitCode::FAILURE;
        }
        _ => {}
    }
    let rendered = e.render().to_string();
    // Drop the usage block and the "For more information" line; keep the message and any tip.
    let message = rendered.split("\nUsage:").next().unwrap_or(&rendered);
    let message = message
        .lines()
        .filter(|l| !l.trim_start().starts_with("For more information"))
        .collect::<Vec<_>>()
        .join("\n");
    let message = message.trim().trim_start_matches("error:").trim();
    eprintln!("dgmf: error: {} (see --help)", error_line(message));
    ExitCode::FAILURE
}

pub(crate) fn session_options(rt: &RuntimeArgs) -> Result<SessionOptions, Error> {
    let mut provider = Provider::parse(&rt.provider)?;
    if let Provider::TensorRt {
        fp16, engine_cache, ..
    } = &mut provider
    {
        *fp16 = rt.trt_fp16;
        engine_cache.clone_from(&rt.trt_cache);
    } else if rt.trt_fp16 || rt.trt_cache.is_some() {
        return Err(Error::new(
            dgmf::ErrorKind::InvalidArgument,
            "--trt-fp16 and --trt-cache apply to --provider tensorrt only",
        ));
    }
    Ok(SessionOptions {
        ort_lib: rt.ort_lib.clone(),
        provider,
        allow_fallback: rt.allow_fallback,
        intra_threads: rt.threads,
        opt_level: OptLevel::All,
        max_sessions: 0,
        unbound_calls: rt.unbound_calls,
        noise_threads: rt.noise_threads,
    })
}

pub(crate) fn invalid(message: String) -> Error {
    Error::new(dgmf::ErrorKind::InvalidArgument, message)
}

fn predict(a: &PredictArgs) -> Result<(), Error> {
    // Everything that can be checked without the model fails here, before the model loads and runs.
    if a.repeat == 0 {
        return Err(invalid("--repeat 0: give at least 1 run".into()));
    }
    if a.std.is_some() {
        Request::check_std_samples(a.samples).map_err(|e| e.context("--std"))?;
    }
    check_outputs(a)?;
    let model = Model::load(&a.model, &session_options(&a.rt)?)?;
    let job = build_request(a, model.contract())?;
    // The request that runs, checked whole first: the warnings below are for a request that runs, and an
    // error is best read alone.
    let runs = match &job.sweep {
        Some((params, values)) => Cow::Owned(model.coords_request(
            params,
            job.request.queries[0].fidelity,
            values,
            &job.request,
        )?),
        None => Cow::Borrowed(&job.request),
    };
    runs.validate(model.contract())?;
    let reference = a
        .reference
        .as_deref()
        .map(|path| {
            reference::load(
                path,
                model.contract(),
                runs.queries.len(),
                runs.memory_limit as u64,
            )
        })
        .transpose()?;
    warn_costly_sampler(a, model.contract(), &runs);
    warn_uneven_members(model.contract(), runs.n_samples, "the mean and std are");
    let (pred, walls) = run(a, &model, &runs)?;
    // The files first (each written whole or not at all), then the summary on standard output.
    let reference = reference.map(|r| reference::Compared::new(r, &pred));
    let written = write_outputs(a, model.contract(), &job, &pred, &walls, reference.as_ref())?;
    let mut out = Out::new();
    report(&mut out, &model, &job.request, &pred)?;
    if let Some(r) = &reference {
        for line in reference::summary(&pred, r) {
            out.line(&line)?;
        }
    }
    if walls.len() > 1 {
        let list: Vec<String> = walls.iter().map(|w| format!("{w:.1}")).collect();
        say!(
            out,
            "runs       {} ms (--repeat {})",
            list.join(", "),
            walls.len()
        );
    }
    for line in &written {
        out.line(line)?;
    }
    Ok(())
}

/// A model may declare a sampler (`dgmf.sampler`) far dearer than the library default, up to ~10⁷
/// network evaluations per sample within the limits: say so before it runs, with its cost, so a user who
/// did not choose it is not left waiting without a word.
fn warn_costly_sampler(a: &PredictArgs, c: &Contract, req: &Request) {
    const FACTOR: usize = 10;
    let default = SamplerConfig::default().nfe();
    let nfe = req.sampler.nfe();
    if a.sampling.sampler.is_none() && c.sampler.is_some() && nfe > FACTOR * default {
        let calls = nfe.saturating_mul(req.queries.len().saturating_mul(req.n_samples));
        eprintln!(
            "dgmf: warning: the model's dgmf.sampler `{}` costs {nfe} network evaluations per sample \
             ({calls} in all), {}x the library default's {default}; name --sampler (and --steps) to choose \
             another",
            escape_controls(&req.sampler.spec()),
            nfe / default
        );
    }
}

/// A deep ensemble draws sample j with member j mod K: with fewer samples than members some never draw,
/// and with a count that is not a multiple of K the first members weigh more. Legal, and often a slip: say
/// so, with the count that weighs them alike.
pub(crate) fn warn_uneven_members(c: &Contract, samples: usize, what: &str) {
    let k = c.members;
    if k < 2 || samples % k == 0 {
        return;
    }
    let members = |a: usize, b: usize| match a == b {
        true => format!("member {a} draws"),
        false => format!("members {a} to {b} draw"),
    };
    let how = if samples < k {
        format!("{} no sample", members(samples, k - 1))
    } else {
        format!(
            "{} one sample more than the others",
            members(0, samples % k - 1)
        )
    };
    eprintln!(
        "dgmf: warning: the model is a deep ensemble of {k} networks and {samples} {} not weigh them \
         alike ({how}), so {what} those of another mixture; use a multiple of {k}, e.g. --samples {}",
        if samples == 1 { "sample does" } else { "samples do" },
        c.balanced_samples(samples)
    );
}

/// What `predict` runs: the request, or for `--coord-values` one parameter vector swept over the values.
pub(crate) struct Job {
    pub(crate) request: Request,
    /// `--coord-values`: the parameter vector and the coordinate values it is swept over.
    pub(crate) sweep: Option<(Vec<f64>, Vec<f64>)>,
}

/// The `--fidelity` text as the model takes it: exactly one number, converted by the engine's rule.
fn fidelity_value(c: &Contract, text: &str) -> Result<FidelityValue, Error> {
    let place = format!("--fidelity `{text}`");
    match numbers("fidelity", text)?.as_slice() {
        &[v] => c.fidelity_value(v).map_err(|e| e.context(place)),
        v => Err(invalid(format!(
            "{place}: give one fidelity (a level index or value), got {} numbers",
            v.len()
        ))),
    }
}

/// Rows of numbers, one per query.
type Rows = Vec<Vec<f64>>;

/// The parameter rows and their coordinate rows, from the flags or the query files (which must fit in the
/// memory limit together).
fn query_rows(a: &PredictArgs, c: &Contract) -> Result<(Rows, Rows), Error> {
    let mut budget = Budget {
        limit: (a.memory_limit as u64).saturating_mul(1 << 20),
        used: 0,
        per_query: dgmf::predict::query_bytes(c) as u64,
    };
    let params: Vec<Vec<f64>> = match (&a.params, &a.params_file) {
        (Some(p), None) => vec![numbers("params", p)?],
        (None, Some(f)) => read_queries(
            f,
            "--params-file",
            c.params.len(),
            "parameters",
            &mut budget,
            true,
        )?,
        _ => {
            return Err(invalid(
                "give --params v1,v2,... or --params-file FILE".into(),
            ))
        }
    };
    let coords: Vec<Vec<f64>> = match (&a.coords, &a.coords_file) {
        (Some(t), _) => vec![numbers("coords", t)?; params.len()],
        (None, Some(f)) => {
            let rows = read_queries(
                f,
                "--coords-file",
                c.coords.len(),
                "coordinates",
                &mut budget,
                false,
            )?;
            if rows.len() != params.len() {
                return Err(invalid(format!(
                    "--coords-file {} has {} rows but there are {} parameter rows: give one coords row per query",
                    f.display(),
                    rows.len(),
                    params.len()
                )));
            }
            rows
        }
        (None, None) => vec![Vec::new(); params.len()],
    };
    Ok((params, coords))
}

/// The sampler: the model's recommended one (`dgmf.sampler`, else the library default), or `--sampler`
/// with its defaults, then each given setting (the engine validates them all when the request runs).
pub(crate) fn sampler_config(a: &SamplerArgs, c: &Contract) -> Result<SamplerConfig, Error> {
    let mut sampler = a
        .sampler
        .map_or_else(|| c.recommended_sampler(), SamplerConfig::new);
    if let Some(s) = a.steps {
        sampler.steps = s;
    }
    if let Some(schedule) = a.schedule {
        sampler.schedule = schedule;
    }
    if let Some(s) = a.snr {
        sampler.snr = s;
    }
    if let Some(k) = a.corrector_steps {
        sampler.corrector_steps = k;
    }
    if let Some(c) = a.churn.as_deref() {
        match numbers("churn", c)?.as_slice() {
            &[s_churn, s_min, s_max, s_noise] => {
                sampler.churn = dgmf::samplers::Churn {
                    s_churn: s_churn as f32,
                    s_min: s_min as f32,
                    s_max: s_max as f32,
                    s_noise: s_noise as f32,
                }
            }
            v => {
                return Err(invalid(format!(
                    "--churn takes four numbers S_CHURN,S_MIN,S_MAX,S_NOISE; got {}",
                    v.len()
                )))
            }
        }
    }
    if let Some(v) = a.sigma_last {
        sampler.sigma_last = Some(v);
    }
    if a.no_denoise {
        sampler.denoise = false;
    }
    Ok(sampler)
}

fn build_request(a: &PredictArgs, c: &Contract) -> Result<Job, Error> {
    let fidelity = fidelity_value(c, &a.fidelity)?;
    let (params, coords) = query_rows(a, c)?;
    let coord_values = a
        .coord_values
        .as_deref()
        .map(|v| numbers("coord-values", v))
        .transpose()?;
    if coord_values.is_some() && params.len() != 1 {
        return Err(invalid(
            "--coord-values takes a single --params vector".into(),
        ));
    }
    let sweep = coord_values.map(|values| (params[0].clone(), values));
    let queries: Vec<Query> = params
        .into_iter()
        .zip(coords)
        .map(|(params, coords)| Query {
            params,
            fidelity,
            coords,
        })
        .collect();
    let mut req = Request::new(queries, sampler_config(&a.sampling, c)?);
    req.n_samples = a.samples;
    req.seed = a.seed;
    req.max_batch = a.max_batch;
    req.allow_extrapolation = a.extrapolate;
    req.keep_samples = a.all_samples.is_some();
    req.memory_limit = a.memory_limit.saturating_mul(1 << 20);
    req.time_limit = a
        .time_limit
        .map(|s| dgmf::predict::time_limit(s).map_err(|e| invalid(format!("--time-limit: {e}"))))
        .transpose()?;
    Ok(Job {
        request: req,
        sweep,
    })
}

/// Runs the request `--repeat` times with a progress bar; returns the last prediction and each run's wall
/// time in ms (the later runs time a warm session, as a long-running simulation sees it).
fn run(a: &PredictArgs, model: &Model, req: &Request) -> Result<(Prediction, Vec<f64>), Error> {
    let bar = (!a.quiet).then(|| {
        let bar = indicatif::ProgressBar::new(0);
        bar.set_style(
            indicatif::ProgressStyle::with_template(
                "{spinner} [{elapsed_precise}] {bar:40} {pos}/{len} evaluations",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        bar
    });
    let mut tick = |p: Progress| {
        if let Some(b) = &bar {
            b.set_length(p.total as u64);
            b.set_position(p.done as u64);
        }
        true
    };
    let mut walls = Vec::with_capacity(a.repeat);
    let mut result = Err(invalid("no run".into()));
    for _ in 0..a.repeat {
        result = model.predict(req, Some(&mut tick));
        match &result {
            Ok(p) => walls.push(p.wall.as_secs_f64() * 1e3),
            Err(_) => break,
        }
    }
    if let Some(b) = &bar {
        b.finish_and_clear();
    }
    Ok((result?, walls))
}
