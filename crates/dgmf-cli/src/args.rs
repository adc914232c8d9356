//! The command line: clap's definitions of `dgmf info` and `dgmf predict` and their flags (the help text
//! users read is here).

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};
use dgmf::samplers::{SamplerKind, Schedule};

#[derive(Parser)]
#[command(
    name = "dgmf",
    version,
    about = "Diffusion-generative multi-fidelity surrogates: inspect models, predict solutions"
)]
pub(crate) struct Cli {
    #[command(subcommand)]
    pub(crate) command: Command,
}

#[derive(Subcommand)]
pub(crate) enum Command {
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
    /// List the samplers: name, default levels and schedule, network evaluations at the defaults, method.
    Samplers,
    /// Measure how well the ensemble std matches the actual error on held-out solutions, fit the std
    /// scale that makes ±2σ cover 95.45 % of the points (split-conformal), and write it into a copy of
    /// the model (`dgmf.std_scale`).
    Calibrate(Box<CalibrateArgs>),
}

#[derive(Args)]
pub(crate) struct CalibrateArgs {
    pub(crate) model: PathBuf,
    /// Directory of held-out cases, disjoint from the training data: params.npy [n, P], fidelity.npy [n],
    /// u.npy [n, *shape] (the reference solutions), and coords.npy [n, Q] if the model takes coordinates;
    /// optional case.npy [n] groups rows into cases for the per-case statistics.
    #[arg(long, value_name = "DIR")]
    pub(crate) data: PathBuf,
    /// Write the model with the fitted dgmf.std_scale here (may be MODEL itself; written atomically).
    /// Without it, only the report.
    #[arg(long, value_name = "FILE")]
    pub(crate) out: Option<PathBuf>,
    /// Ensemble size per case (the std is calibrated for this size and sampler; default 16, rounded up to
    /// a multiple of a deep ensemble's member count so that every member draws alike).
    #[arg(long)]
    pub(crate) samples: Option<usize>,
    // The sampler to calibrate (default: the model's recommended one). With --out, the model is written
    // with it as its recommended sampler (dgmf.sampler, every setting): the fitted scale holds for it.
    #[command(flatten)]
    pub(crate) sampling: SamplerArgs,
    #[arg(long, default_value_t = 0)]
    pub(crate) seed: u64,
    /// Use at most this many rows of the data (the first ones).
    #[arg(long)]
    pub(crate) limit: Option<usize>,
    /// Also write the report as JSON.
    #[arg(long, value_name = "FILE")]
    pub(crate) report_json: Option<PathBuf>,
    #[command(flatten)]
    pub(crate) rt: RuntimeArgs,
}

/// Which sampler and its settings: the same flags for every command that samples (`predict`,
/// `calibrate`), turned into a `SamplerConfig` in one place (`sampler_config` in main.rs).
#[derive(Args)]
pub(crate) struct SamplerArgs {
    /// Sampler (`dgmf samplers` lists them). Omitted: the model's recommended sampler (dgmf.sampler,
    /// shown by `dgmf info`; its std calibration holds for it), else the library default, ancestral with
    /// 30 levels (docs/samplers.md).
    #[arg(long, value_parser = sampler_names())]
    pub(crate) sampler: Option<SamplerKind>,
    /// Noise levels in the schedule (default: the sampler's, `dgmf samplers` lists them; the recommended
    /// sampler's when --sampler is omitted).
    #[arg(long)]
    pub(crate) steps: Option<usize>,
    /// Noise schedule: geometric or karras (default depends on the sampler).
    #[arg(long)]
    pub(crate) schedule: Option<Schedule>,
    /// Langevin signal-to-noise ratio (pc samplers).
    #[arg(long)]
    pub(crate) snr: Option<f32>,
    /// Langevin steps per noise level (pc samplers).
    #[arg(long)]
    pub(crate) corrector_steps: Option<usize>,
    /// EDM stochastic churn (edm sampler): S_CHURN,S_MIN,S_MAX,S_NOISE [default: 40,0,3.4e38,1: every level].
    #[arg(
        long,
        allow_hyphen_values = true,
        value_name = "S_CHURN,S_MIN,S_MAX,S_NOISE"
    )]
    pub(crate) churn: Option<String>,
    /// Last noise level of the schedule, in the model's σ units (consistency sampler) [default: the
    /// model's σ_min, `dgmf info` shows it].
    #[arg(long)]
    pub(crate) sigma_last: Option<f32>,
    /// Skip the final denoising step.
    #[arg(long)]
    pub(crate) no_denoise: bool,
}

#[derive(Args)]
pub(crate) struct RuntimeArgs {
    /// ONNX Runtime library to load (default: $DGMF_ORT_LIB, $ORT_DYLIB_PATH, the project copy, the system).
    #[arg(long, value_name = "PATH")]
    pub(crate) ort_lib: Option<PathBuf>,
    /// Execution provider: cpu, cuda[:DEVICE], tensorrt[:DEVICE].
    #[arg(long, default_value = "cpu")]
    pub(crate) provider: String,
    /// Fall back to the CPU if the provider cannot be registered (default: error).
    #[arg(long)]
    pub(crate) allow_fallback: bool,
    /// ONNX Runtime intra-op threads (0 = one per physical core).
    #[arg(long, default_value_t = 0)]
    pub(crate) threads: usize,
    /// Threads libdgmf draws a large batch's noise on (0 = 1 on the cpu provider, --threads on a GPU
    /// provider). The results are the same for every count.
    #[arg(long, default_value_t = 0)]
    pub(crate) noise_threads: usize,
    /// Call the network without ONNX Runtime's I/O binding, as before it (for comparisons: the same
    /// results, bench/gpu.py times both).
    #[arg(long)]
    pub(crate) unbound_calls: bool,
    /// TensorRT: build fp16 engines.
    #[arg(long)]
    pub(crate) trt_fp16: bool,
    /// TensorRT: cache built engines in this directory.
    #[arg(long, value_name = "DIR")]
    pub(crate) trt_cache: Option<PathBuf>,
}

#[derive(Args)]
pub(crate) struct PredictArgs {
    pub(crate) model: PathBuf,
    /// PDE parameters, comma separated (P values, physical units).
    #[arg(long, allow_hyphen_values = true, conflicts_with = "params_file")]
    pub(crate) params: Option<String>,
    /// Many queries: a .npy [n, P] or .csv file with one parameter vector per row.
    #[arg(long, value_name = "FILE")]
    pub(crate) params_file: Option<PathBuf>,
    /// Fidelity: a 0-based level for discrete models, a value for continuous ones.
    #[arg(long, allow_hyphen_values = true)]
    pub(crate) fidelity: String,
    /// Coordinates (Q values) for models with a coords input.
    #[arg(long, allow_hyphen_values = true, conflicts_with_all = ["coord_values", "coords_file"])]
    pub(crate) coords: Option<String>,
    /// Coordinates per query: a .npy [n, Q] or .csv file, row i going with row i of --params-file.
    #[arg(long, value_name = "FILE", conflicts_with = "coord_values")]
    pub(crate) coords_file: Option<PathBuf>,
    /// One-coordinate models: predict a slice at each of these values and stack them.
    #[arg(long, allow_hyphen_values = true)]
    pub(crate) coord_values: Option<String>,
    /// Samples per query (ensemble size; > 1 gives a std field).
    #[arg(long, default_value_t = 1)]
    pub(crate) samples: usize,
    #[command(flatten)]
    pub(crate) sampling: SamplerArgs,
    #[arg(long, default_value_t = 0)]
    pub(crate) seed: u64,
    /// Most rows (query × sample) per network call.
    #[arg(long, default_value_t = dgmf::predict::DEFAULT_MAX_BATCH)]
    pub(crate) max_batch: usize,
    /// Accept inputs outside the model's declared ranges.
    #[arg(long)]
    pub(crate) extrapolate: bool,
    /// Refuse requests whose buffers would exceed this many MiB.
    #[arg(long, value_name = "MIB", default_value_t = dgmf::predict::DEFAULT_MEMORY_LIMIT >> 20)]
    pub(crate) memory_limit: usize,
    /// Stop a prediction that runs longer than this many seconds (also inside a network evaluation).
    #[arg(long, value_name = "SECONDS", allow_hyphen_values = true)]
    pub(crate) time_limit: Option<f64>,
    /// Write the mean field(s) here (.npy, float32).
    #[arg(long, value_name = "FILE")]
    pub(crate) out: Option<PathBuf>,
    /// Write the std field(s) here (.npy, float32; needs --samples > 1).
    #[arg(long, value_name = "FILE")]
    pub(crate) std: Option<PathBuf>,
    /// Run the prediction this many times on the loaded model (timing; outputs are from the last run).
    #[arg(long, default_value_t = 1)]
    pub(crate) repeat: usize,
    /// Write a JSON summary here: sampler, NFE, network calls, wall and ONNX Runtime milliseconds, and per
    /// query the RMS of its std field (`std_rms`, null with one sample: the fallback policy's number).
    #[arg(long, value_name = "FILE")]
    pub(crate) report_json: Option<PathBuf>,
    /// Write pictures of the fields: PREFIX_mean.png (and PREFIX_std.png with --samples > 1), one panel per
    /// query and channel with its parameters as caption, a title (model, field, fidelity, sampler), axes
    /// (node (0, 0) at the lower left, the last axis to the right) and a colour bar (viridis).
    #[arg(long, value_name = "PREFIX")]
    pub(crate) png: Option<PathBuf>,
    /// A known answer for the queries (.npy, [n_queries, *shape] or [*shape] for one query; e.g. a converged
    /// solve): the summary gives the mean's relative L2 error against it (and, with --samples > 1, the
    /// share of values within ±1σ and ±2σ), and the --png pictures show it beside the mean, and
    /// |mean − reference| beside the std, on the same colour scale.
    #[arg(long, value_name = "FILE")]
    pub(crate) reference: Option<PathBuf>,
    /// Write every sample here (.npy, float32, [n_queries, samples, *shape]).
    #[arg(long, value_name = "FILE")]
    pub(crate) all_samples: Option<PathBuf>,
    /// No progress bar.
    #[arg(long, short)]
    pub(crate) quiet: bool,
    #[command(flatten)]
    pub(crate) rt: RuntimeArgs,
}

/// `--sampler`'s choices, from the engine's sampler table (clap lists them in the help and in errors).
fn sampler_names() -> impl clap::builder::TypedValueParser<Value = SamplerKind> {
    use clap::builder::TypedValueParser;
    clap::builder::PossibleValuesParser::new(SamplerKind::names())
        .try_map(|name: String| SamplerKind::parse(&name).map_err(|e| e.message().to_string()))
}
