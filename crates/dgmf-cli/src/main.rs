//! `dgmf`: inspect a score model and predict PDE solutions with it from the command line.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};
use dgmf::contract::{Contract, Fidelity};
use dgmf::runtime::{OptLevel, Provider, SessionOptions};
use dgmf::samplers::{SamplerConfig, SamplerKind, Schedule};
use dgmf::{Error, FidelityValue, Model, Prediction, Progress, Query, Request};

#[macro_use]
mod terminal;
mod outputs;
mod queries;
mod show;

use outputs::{check_outputs, write_outputs};
use queries::{numbers, read_queries, Budget};
use show::{info, report};
use terminal::{error_line, escape_controls, Out};

#[derive(Parser)]
#[command(
    name = "dgmf",
    version,
    about = "Diffusion-generative multi-fidelity surrogates: inspect models, predict solutions"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Show a model's contract: shapes, parameters with ranges, fidelity, noise range, provider.
    Info {
        model: PathBuf,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        rt: RuntimeArgs,
    },
    /// Predict the solution for one or many parameter vectors (mean, and std over the ensemble).
    Predict(Box<PredictArgs>),
}

#[derive(Args)]
struct RuntimeArgs {
    /// ONNX Runtime library to load (default: $DGMF_ORT_LIB, $ORT_DYLIB_PATH, the project copy, the system).
    #[arg(long, value_name = "PATH")]
    ort_lib: Option<PathBuf>,
    /// Execution provider: cpu, cuda[:DEVICE], tensorrt[:DEVICE].
    #[arg(long, default_value = "cpu")]
    provider: String,
    /// Fall back to the CPU if the provider cannot be registered (default: error).
    #[arg(long)]
    allow_fallback: bool,
    /// ONNX Runtime intra-op threads (0 = one per physical core).
    #[arg(long, default_value_t = 0)]
    threads: usize,
    /// TensorRT: build fp16 engines.
    #[arg(long)]
    trt_fp16: bool,
    /// TensorRT: cache built engines in this directory.
    #[arg(long, value_name = "DIR")]
    trt_cache: Option<PathBuf>,
}

#[derive(Args)]
struct PredictArgs {
    model: PathBuf,
    /// PDE parameters, comma separated (P values, physical units).
    #[arg(long, allow_hyphen_values = true, conflicts_with = "params_file")]
    params: Option<String>,
    /// Many queries: a .npy [n, P] or .csv file with one parameter vector per row.
    #[arg(long, value_name = "FILE")]
    params_file: Option<PathBuf>,
    /// Fidelity: a 0-based level for discrete models, a value for continuous ones.
    #[arg(long, allow_hyphen_values = true)]
    fidelity: String,
    /// Coordinates (Q values) for models with a coords input.
    #[arg(long, allow_hyphen_values = true, conflicts_with_all = ["coord_values", "coords_file"])]
    coords: Option<String>,
    /// Coordinates per query: a .npy [n, Q] or .csv file, row i going with row i of --params-file.
    #[arg(long, value_name = "FILE", conflicts_with = "coord_values")]
    coords_file: Option<PathBuf>,
    /// One-coordinate models: predict a slice at each of these values and stack them.
    #[arg(long, allow_hyphen_values = true)]
    coord_values: Option<String>,
    /// Samples per query (ensemble size; > 1 gives a std field).
    #[arg(long, default_value_t = 1)]
    samples: usize,
    /// Sampler: em, reverse-diffusion, ancestral, pc, pc-em, pc-ancestral, ode-euler, heun, edm, dpmpp-2m.
    /// Omitted: the library default, ancestral with 30 levels (30 NFE), chosen from the accuracy-per-NFE
    /// sweep (docs/performance.md).
    #[arg(long)]
    sampler: Option<SamplerKind>,
    /// Noise levels in the schedule (default: 1000 for SDE samplers, 18 for ODE samplers, 20 for edm; 30
    /// when --sampler is omitted).
    #[arg(long)]
    steps: Option<usize>,
    /// Noise schedule: geometric or karras (default depends on the sampler).
    #[arg(long)]
    schedule: Option<Schedule>,
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Langevin signal-to-noise ratio (pc samplers).
    #[arg(long)]
    snr: Option<f32>,
    /// Langevin steps per noise level (pc samplers).
    #[arg(long)]
    corrector_steps: Option<usize>,
    /// EDM stochastic churn (edm sampler): S_CHURN,S_MIN,S_MAX,S_NOISE [default: 40,0,3.4e38,1: every level].
    #[arg(
        long,
        allow_hyphen_values = true,
        value_name = "S_CHURN,S_MIN,S_MAX,S_NOISE"
    )]
    churn: Option<String>,
    /// Skip the final denoising step.
    #[arg(long)]
    no_denoise: bool,
    /// Most rows (query × sample) per network call.
    #[arg(long, default_value_t = dgmf::predict::DEFAULT_MAX_BATCH)]
    max_batch: usize,
    /// Accept inputs outside the model's declared ranges.
    #[arg(long)]
    extrapolate: bool,
    /// Refuse requests whose buffers would exceed this many MiB.
    #[arg(long, value_name = "MIB", default_value_t = dgmf::predict::DEFAULT_MEMORY_LIMIT >> 20)]
    memory_limit: usize,
    /// Stop a prediction that runs longer than this many seconds (also inside a network evaluation).
    #[arg(long, value_name = "SECONDS", allow_hyphen_values = true)]
    time_limit: Option<f64>,
    /// Write the mean field(s) here (.npy, float32).
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
    /// Write the std field(s) here (.npy, float32; needs --samples > 1).
    #[arg(long, value_name = "FILE")]
    std: Option<PathBuf>,
    /// Run the prediction this many times on the loaded model (timing; outputs are from the last run).
    #[arg(long, default_value_t = 1)]
    repeat: usize,
    /// Write a JSON summary here: sampler, NFE, network calls, wall and ONNX Runtime milliseconds.
    #[arg(long, value_name = "FILE")]
    report_json: Option<PathBuf>,
    /// Write pictures of the fields: PREFIX_mean.png (and PREFIX_std.png with --samples > 1), one panel per
    /// query and channel, viridis colours with a labelled colour bar.
    #[arg(long, value_name = "PREFIX")]
    png: Option<PathBuf>,
    /// Write every sample here (.npy, float32, [n_queries, samples, *shape]).
    #[arg(long, value_name = "FILE")]
    all_samples: Option<PathBuf>,
    /// No progress bar.
    #[arg(long, short)]
    quiet: bool,
    #[command(flatten)]
    rt: RuntimeArgs,
}

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
    }));
    match result {
        Ok(Ok(())) => ExitCode::SUCCESS,
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

fn session_options(rt: &RuntimeArgs) -> Result<SessionOptions, Error> {
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
    })
}

fn invalid(message: String) -> Error {
    Error::new(dgmf::ErrorKind::InvalidArgument, message)
}

fn predict(a: &PredictArgs) -> Result<(), Error> {
    // Everything that can be checked without the model fails here, before the model loads and runs.
    if a.repeat == 0 {
        return Err(invalid("--repeat 0: give at least 1 run".into()));
    }
    if a.std.is_some() && a.samples < 2 {
        return Err(invalid(format!(
            "--std needs --samples 2 or more (got --samples {}): one sample has no spread",
            a.samples
        )));
    }
    check_outputs(a)?;
    let model = Model::load(&a.model, &session_options(&a.rt)?)?;
    let job = build_request(a, model.contract())?;
    let (pred, walls) = run(a, &model, &job)?;
    // The files first (each written whole or not at all), then the summary on standard output.
    let written = write_outputs(a, &job.request, &pred, &walls)?;
    let mut out = Out::new();
    report(&mut out, &model, &job.request, &pred)?;
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

/// What `predict` runs: the request, or for `--coord-values` one parameter vector swept over the values.
struct Job {
    request: Request,
    sweep: Option<(Vec<f64>, Vec<f64>)>,
}

/// The `--fidelity` text as the model takes it: exactly one level index or one value.
fn fidelity_value(c: &Contract, text: &str) -> Result<FidelityValue, Error> {
    match c.fidelity {
        Fidelity::Discrete { levels, .. } => {
            Ok(FidelityValue::Level(text.trim().parse::<usize>().map_err(|_| {
                invalid(format!(
                    "--fidelity `{text}`: this model takes one 0-based level index, an integer in 0..={}",
                    levels.saturating_sub(1)
                ))
            })?))
        }
        Fidelity::Continuous { lo, hi } => match numbers("fidelity", text)?.as_slice() {
            &[v] => Ok(FidelityValue::Value(v)),
            v => Err(invalid(format!(
                "--fidelity `{text}`: this model takes one fidelity value in [{lo}, {hi}], got {}",
                v.len()
            ))),
        },
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
    };
    let params: Vec<Vec<f64>> = match (&a.params, &a.params_file) {
        (Some(p), None) => vec![numbers("params", p)?],
        (None, Some(f)) => read_queries(
            f,
            "--params-file",
            c.params.len(),
            "parameters",
            &mut budget,
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

/// The sampler: the library default, or `--sampler` with its defaults, then each given setting (the
/// engine validates them all when the request runs).
fn sampler_config(a: &PredictArgs) -> Result<SamplerConfig, Error> {
    let mut sampler = a
        .sampler
        .map_or_else(SamplerConfig::default, SamplerConfig::new);
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
    sampler.denoise = !a.no_denoise;
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
    let mut req = Request::new(queries, sampler_config(a)?);
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

/// Runs the job `--repeat` times with a progress bar; returns the last prediction and each run's wall time
/// in ms (the later runs time a warm session, as a long-running simulation sees it).
fn run(a: &PredictArgs, model: &Model, job: &Job) -> Result<(Prediction, Vec<f64>), Error> {
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
    let fidelity = job.request.queries[0].fidelity;
    let mut walls = Vec::with_capacity(a.repeat);
    let mut result = Err(invalid("no run".into()));
    for _ in 0..a.repeat {
        result = match &job.sweep {
            Some((params, values)) => {
                model.predict_coords(params, fidelity, values, &job.request, Some(&mut tick))
            }
            None => model.predict(&job.request, Some(&mut tick)),
        };
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
