//! `dgmf`: inspect a score model and predict PDE solutions with it from the command line.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};
use dgmf::contract::{Contract, Fidelity};
use dgmf::runtime::{OptLevel, Provider, SessionOptions};
use dgmf::samplers::{SamplerConfig, SamplerKind, Schedule};
use dgmf::{Error, FidelityValue, Model, Prediction, Progress, Query, Request};
use dgmf_cli::npy;

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
    sampler: Option<String>,
    /// Noise levels in the schedule (default: 1000 for SDE samplers, 18 for ODE samplers, 20 for edm; 30
    /// when --sampler is omitted).
    #[arg(long)]
    steps: Option<usize>,
    /// Noise schedule: geometric or karras (default depends on the sampler).
    #[arg(long)]
    schedule: Option<String>,
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

/// `s` safe to print on a terminal (the library's one rule, `dgmf::error::printable`): controls, DEL, C1
/// controls and the bidi controls become visible `\u{..}` escapes.
fn escape_controls(s: &str) -> std::borrow::Cow<'_, str> {
    dgmf::error::printable(s)
}

/// A multi-line message (clap's usage errors) as one printable line: the lines are joined, then controls are
/// escaped.
fn error_line(message: &str) -> String {
    let mut line = String::new();
    // Indented lines after one ending in ':' are a list ("Tried:" and each path): joined with ", ".
    let mut in_list = false;
    for raw in message.lines() {
        let part = raw.trim();
        if part.is_empty() {
            continue;
        }
        let indented = raw.starts_with(char::is_whitespace);
        if !line.is_empty() {
            line.push_str(if line.ends_with(':') {
                " "
            } else if indented && in_list {
                ", "
            } else {
                "; "
            });
        }
        in_list = part.ends_with(':') || (indented && in_list);
        line.push_str(part);
    }
    escape_controls(&line).into_owned()
}

/// Standard output for results: each line is written with controls escaped, and a failed write (a closed
/// pipe, a full disk) is an error rather than a panic.
struct Out(std::io::StdoutLock<'static>);

impl Out {
    fn new() -> Self {
        Out(std::io::stdout().lock())
    }
    fn line(&mut self, text: &str) -> Result<(), Error> {
        use std::io::Write;
        writeln!(self.0, "{}", escape_controls(text))
            .and_then(|()| self.0.flush())
            .map_err(|e| {
                Error::new(
                    dgmf::ErrorKind::Io,
                    format!("cannot write to standard output: {e}"),
                )
            })
    }
}

/// `say!(out, "format", args...)`: one escaped line on standard output; returns from the function on a
/// write error.
macro_rules! say {
    ($out:expr, $($arg:tt)*) => {
        $out.line(&format!($($arg)*))?
    };
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

/// One field of a number list: a finite number. `Err` says what is wrong with it.
fn number(field: &str) -> Result<f64, String> {
    let t = field.trim();
    if t.is_empty() {
        return Err("an empty value".into());
    }
    match t.parse::<f64>() {
        Ok(v) if v.is_finite() => Ok(v),
        Ok(_) => Err(format!(
            "`{t}` is not a finite number (NaN and infinity are not accepted)"
        )),
        Err(_) => Err(format!("`{t}` is not a number")),
    }
}

/// A comma-separated list of finite numbers from the option `--{what}`.
fn numbers(what: &str, text: &str) -> Result<Vec<f64>, Error> {
    text.split(',')
        .map(|t| {
            number(t).map_err(|why| {
                invalid(format!(
                    "--{what}: {why} (in `{text}`); give comma-separated numbers"
                ))
            })
        })
        .collect()
}

fn info(path: &Path, json: bool, rt: &RuntimeArgs) -> Result<(), Error> {
    let model = Model::load(path, &session_options(rt)?)?;
    let c = model.contract();
    let mut out = Out::new();
    if json {
        // `json_text` escapes every control character, so the text is printable as it is.
        return out.line(&json_text(&info_json(&model)));
    }
    let rtm = model.runtime();
    say!(out, "model      {}", model.source());
    if let Some(name) = &c.name {
        say!(out, "name       {name}");
    }
    if let Some(d) = &c.description {
        say!(out, "about      {d}");
    }
    let h = model.header();
    say!(
        out,
        "onnx       IR {}, opset {}",
        h.ir_version,
        h.default_opset().map_or("-".into(), |o| o.to_string())
    );
    say!(
        out,
        "shape      [{}] ({} values per sample)",
        join(&c.shape),
        c.sample_len()
    );
    say!(
        out,
        "output     {} (VE SDE, sigma in [{}, {}])",
        c.output.as_str(),
        c.sigma_min,
        c.sigma_max
    );
    say!(out, "params     {}", c.params.len());
    for p in &c.params {
        say!(out, "  {:<12} [{}, {}]", p.name, p.min, p.max);
    }
    match &c.fidelity {
        Fidelity::Discrete { levels, labels } => {
            let l = labels
                .as_ref()
                .map(|l| format!(" ({})", l.join(", ")))
                .unwrap_or_default();
            say!(
                out,
                "fidelity   discrete, {levels} levels 0..={}{l}",
                levels - 1
            );
        }
        Fidelity::Continuous { lo, hi } => say!(out, "fidelity   continuous in [{lo}, {hi}]"),
    }
    if !c.coords.is_empty() {
        say!(out, "coords     {}", c.coords.len());
        for k in &c.coords {
            say!(out, "  {:<12} [{}, {}]", k.name, k.min, k.max);
        }
    }
    say!(
        out,
        "data       u = shift + scale*z, shift [{}], scale [{}]",
        join(&c.data_shift),
        join(&c.data_scale)
    );
    say!(out, "types      z {:?}, output {:?}", c.io.z, c.io.output);
    say!(out, "provider   {}", model.provider());
    say!(
        out,
        "runtime    ONNX Runtime {} ({})",
        rtm.version,
        rtm.path.display()
    );
    Ok(())
}

fn join<T: std::fmt::Display>(v: &[T]) -> String {
    v.iter()
        .map(|x| x.to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

/// A JSON document as text that is safe to print: serde_json escapes C0 controls; the other characters
/// that act on a terminal (DEL, C1, line separators, bidi controls — `dgmf::error::is_unsafe_char`) can only
/// stand inside strings, where `\uXXXX` is their JSON escape.
fn json_text(value: &serde_json::Value) -> String {
    let text = value.to_string();
    let mut out = String::with_capacity(text.len());
    for ch in text.chars() {
        if dgmf::error::is_unsafe_char(ch) {
            out.push_str(&format!("\\u{:04x}", ch as u32));
        } else {
            out.push(ch);
        }
    }
    out
}

fn vars_json(vars: &[dgmf::contract::Variable]) -> serde_json::Value {
    vars.iter()
        .map(|v| serde_json::json!({"name": v.name, "min": v.min, "max": v.max}))
        .collect()
}

fn info_json(model: &Model) -> serde_json::Value {
    let c: &Contract = model.contract();
    let fidelity = match &c.fidelity {
        Fidelity::Discrete { levels, labels } => {
            serde_json::json!({"kind": "discrete", "levels": levels, "labels": labels})
        }
        Fidelity::Continuous { lo, hi } => {
            serde_json::json!({"kind": "continuous", "lo": lo, "hi": hi})
        }
    };
    serde_json::json!({
        "source": model.source(),
        "name": c.name,
        "description": c.description,
        "contract": dgmf::contract::CONTRACT_VERSION,
        "sde": "ve",
        "output": c.output.as_str(),
        "sigma_min": c.sigma_min,
        "sigma_max": c.sigma_max,
        "shape": c.shape,
        "params": vars_json(&c.params),
        "fidelity": fidelity,
        "coords": vars_json(&c.coords),
        "data_shift": c.data_shift,
        "data_scale": c.data_scale,
        "provider": model.provider(),
        "ort_version": model.runtime().version,
        "ir_version": model.header().ir_version,
    })
}

/// Bytes one query row of `width` values takes in memory (the values plus the `Vec` holding them).
fn row_bytes(width: usize) -> u64 {
    (width as u64)
        .saturating_mul(8)
        .saturating_add(std::mem::size_of::<Vec<f64>>() as u64)
}

/// Longest CSV line read: generous for any row of numbers, bounded so one line cannot take the memory.
fn max_line_bytes(width: usize) -> usize {
    (1usize << 20).max(width.saturating_mul(128))
}

/// Whether a CSV field can be a column name: not empty and not starting like a number (so a typo such as
/// `0.2x` or `nan` is never mistaken for a name).
fn is_name(field: &str) -> bool {
    match field.chars().next() {
        None => false,
        Some(c) => {
            !(c.is_ascii_digit() || matches!(c, '+' | '-' | '.')) && field.parse::<f64>().is_err()
        }
    }
}

/// Memory for the query rows read from files: they must fit in the request's memory limit together.
struct Budget {
    limit: u64,
    used: u64,
}

impl Budget {
    fn left(&self) -> u64 {
        self.limit.saturating_sub(self.used)
    }
    /// The error for a file whose rows would take `need` (a phrase with the number of bytes).
    fn exceeded(&self, flag: &str, path: &Path, need: &str) -> Error {
        invalid(format!(
            "{flag} {}: {need}, more than the memory limit (--memory-limit {} MiB) leaves for the queries: \
             split the queries into smaller runs or raise --memory-limit",
            path.display(),
            self.limit >> 20
        ))
    }
}

/// Reads a query file (`flag` names it in messages: "--params-file"): a `.npy` array [n, width] (or [width]
/// for one row), or CSV text with `width` comma-separated numbers per line. Only regular files are read,
/// and the rows must fit in what is left of `budget` (checked from the file's size before reading).
fn read_queries(
    path: &Path,
    flag: &str,
    width: usize,
    noun: &str,
    budget: &mut Budget,
) -> Result<Vec<Vec<f64>>, Error> {
    let bad = |why: String| invalid(format!("{flag} {}: {why}", path.display()));
    if width == 0 {
        return Err(bad(format!("the model takes no {noun}; leave {flag} out")));
    }
    let rows: Vec<Vec<f64>> = if path.extension().is_some_and(|e| e == "npy") {
        let r = npy::NpyReader::open(path, flag)?;
        let shape = r.shape().to_vec();
        let n = match shape.as_slice() {
            [n, cols] if *cols == width => *n,
            [cols] if *cols == width => 1,
            _ => {
                return Err(bad(format!(
                "array of shape {shape:?}; expected [n_queries, {width}] ({width} {noun} per row)"
            )))
            }
        };
        // The flat values, then the same values as rows.
        let need = (r.len() as u64)
            .saturating_mul(8)
            .saturating_add((n as u64).saturating_mul(row_bytes(width)));
        if need > budget.left() {
            let what = format!("its {n} rows of {width} values need {need} bytes in memory");
            return Err(budget.exceeded(flag, path, &what));
        }
        let v = r.read_f64()?;
        let rows: Vec<Vec<f64>> = v.chunks_exact(width).map(<[f64]>::to_vec).collect();
        for (i, row) in rows.iter().enumerate() {
            if let Some(j) = row.iter().position(|x| !x.is_finite()) {
                return Err(bad(format!(
                    "row {i}, column {j} is {}: NaN and infinity are not accepted",
                    row[j]
                )));
            }
        }
        rows
    } else {
        read_csv(path, flag, width, noun, budget)?
    };
    if rows.is_empty() {
        return Err(bad("no queries in the file".into()));
    }
    budget.used = budget
        .used
        .saturating_add((rows.len() as u64).saturating_mul(row_bytes(width)));
    Ok(rows)
}

/// CSV query rows, read line by line. A leading UTF-8 BOM is skipped; blank lines and `#` comments are
/// skipped; the first other line is a header when every field is a name ([`is_name`]); every other line
/// must hold exactly `width` finite numbers, or the file is refused with the line number and the field.
fn read_csv(
    path: &Path,
    flag: &str,
    width: usize,
    noun: &str,
    budget: &Budget,
) -> Result<Vec<Vec<f64>>, Error> {
    use std::io::{BufRead, Read};
    let bad = |why: String| invalid(format!("{flag} {}: {why}", path.display()));
    let left = budget.left();
    let (file, len) = dgmf::input_file::open_regular(path, flag, dgmf::ErrorKind::Io)?;
    if len > left {
        return Err(budget.exceeded(flag, path, &format!("it holds {len} bytes")));
    }
    // `take`: a file that grows while it is read stops at the budget instead of being read without end.
    let mut reader = std::io::BufReader::new(file.take(left.saturating_add(1)));
    let max_line = max_line_bytes(width);
    let (mut rows, mut used, mut read) = (Vec::new(), 0u64, 0u64);
    let mut seen_first = false;
    let mut line = Vec::new();
    for line_no in 1.. {
        line.clear();
        let n = (&mut reader)
            .take(max_line as u64 + 1)
            .read_until(b'\n', &mut line)
            .map_err(|e| bad(format!("line {line_no}: {e}")))?;
        if n == 0 {
            break;
        }
        read += n as u64;
        if read > left {
            return Err(budget.exceeded(flag, path, "it grew while being read"));
        }
        if line.len() > max_line {
            return Err(bad(format!(
                "line {line_no} is longer than {max_line} bytes: not a row of {width} numbers"
            )));
        }
        let text = std::str::from_utf8(&line)
            .map_err(|_| bad(format!("line {line_no} is not UTF-8 text")))?;
        let text = if line_no == 1 {
            text.strip_prefix('\u{feff}').unwrap_or(text)
        } else {
            text
        };
        let text = text.trim();
        if text.is_empty() || text.starts_with('#') {
            continue;
        }
        let fields: Vec<&str> = text.split(',').map(str::trim).collect();
        let first = !seen_first;
        seen_first = true;
        if first && fields.iter().all(|f| is_name(f)) {
            if fields.len() != width {
                return Err(bad(format!(
                    "line {line_no}: the header names {} columns, expected {width} ({noun})",
                    fields.len()
                )));
            }
            continue;
        }
        let row = fields
            .iter()
            .enumerate()
            .map(|(j, f)| {
                number(f).map_err(|why| {
                    bad(format!(
                        "line {line_no}, field {}: {why}; each row must be {width} comma-separated numbers{}",
                        j + 1,
                        if first {
                            " (a header line holds only names, none starting like a number)"
                        } else {
                            ""
                        }
                    ))
                })
            })
            .collect::<Result<Vec<f64>, Error>>()?;
        if row.len() != width {
            return Err(bad(format!(
                "line {line_no}: {} values, expected {width} ({noun})",
                row.len()
            )));
        }
        used = used.saturating_add(row_bytes(width));
        if used > left {
            let what = format!("its first {} rows need {used} bytes", rows.len() + 1);
            return Err(budget.exceeded(flag, path, &what));
        }
        rows.push(row);
    }
    Ok(rows)
}
/// The output files a request names, with their flags.
fn outputs(a: &PredictArgs) -> Vec<(&'static str, &Path)> {
    [
        ("--out", &a.out),
        ("--std", &a.std),
        ("--all-samples", &a.all_samples),
        ("--report-json", &a.report_json),
    ]
    .into_iter()
    .filter_map(|(flag, p)| p.as_deref().map(|p| (flag, p)))
    .collect()
}

/// Checks, before the model is loaded and the (possibly long) prediction runs, that every output can be
/// written: its directory exists and accepts a new file (tried, so a read-only file system or missing
/// permission shows now, for root too), the path is not a directory or a device, and no two flags name
/// the same file (compared as canonical directory + file name, so `./a.npy` and `a.npy` are one file).
fn check_outputs(a: &PredictArgs) -> Result<(), Error> {
    let mut seen: Vec<(&str, &Path, PathBuf)> = Vec::new();
    for (flag, path) in outputs(a) {
        let bad = |why: String| {
            Error::new(
                dgmf::ErrorKind::Io,
                format!("{flag} {}: {why}", path.display()),
            )
        };
        let name = match path.file_name() {
            Some(n) if !path.as_os_str().as_encoded_bytes().ends_with(b"/") => n,
            _ => {
                return Err(bad(
                    "not a file name: give a path that ends in a file name, such as out.npy".into(),
                ))
            }
        };
        let dir = match path.parent() {
            Some(d) if !d.as_os_str().is_empty() => d,
            _ => Path::new("."),
        };
        let cannot = |why: String| {
            bad(format!(
                "cannot write into the directory {}: {why}; create it or choose another path",
                dir.display()
            ))
        };
        let meta = std::fs::metadata(dir).map_err(|e| cannot(e.to_string()))?;
        if !meta.is_dir() {
            return Err(cannot("it is not a directory".into()));
        }
        let canonical = std::fs::canonicalize(dir).map_err(|e| cannot(e.to_string()))?;
        let target = canonical.join(name);
        if let Ok(m) = std::fs::symlink_metadata(&target) {
            if m.is_dir() {
                return Err(bad(
                    "it is a directory: give a file path, such as DIR/out.npy".into(),
                ));
            }
            if !m.is_file() && !m.file_type().is_symlink() {
                return Err(bad(
                    "it is not a regular file (a device, FIFO or socket): outputs are written to a \
                     temporary file that then replaces the target, so name a regular file"
                        .into(),
                ));
            }
        }
        // The same kind of file as the real write creates; removed again at once.
        tempfile::Builder::new()
            .prefix(".dgmf-")
            .suffix(".tmp")
            .tempfile_in(&canonical)
            .map_err(|e| cannot(e.to_string()))?;
        if let Some((other, other_path, _)) = seen.iter().find(|(_, _, t)| *t == target) {
            return Err(invalid(format!(
                "{other} {} and {flag} {} name the same file: give each output its own path",
                other_path.display(),
                path.display()
            )));
        }
        seen.push((flag, path, target));
    }
    Ok(())
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
    let mut sampler = match a.sampler.as_deref() {
        Some(name) => SamplerConfig::new(SamplerKind::parse(name)?),
        None => SamplerConfig::default(),
    };
    if let Some(s) = a.steps {
        sampler.steps = s;
    }
    if let Some(name) = a.schedule.as_deref() {
        sampler.schedule = Schedule::parse(name)?;
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
    req.time_limit = match a.time_limit {
        None => None,
        Some(s) => Some(
            std::time::Duration::try_from_secs_f64(s)
                .ok()
                .filter(|d| !d.is_zero())
                .ok_or_else(|| {
                    invalid(format!(
                        "--time-limit {s}: give a positive finite number of seconds"
                    ))
                })?,
        ),
    };
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

/// Writes the output files that were asked for; returns the report lines naming them.
fn write_outputs(
    a: &PredictArgs,
    req: &Request,
    pred: &Prediction,
    walls: &[f64],
) -> Result<Vec<String>, Error> {
    let n_q = pred.mean.len() / pred.shape.iter().product::<usize>().max(1);
    let mut shape = vec![n_q];
    shape.extend(&pred.shape);
    let mut written = Vec::new();
    if let Some(path) = &a.report_json {
        let json = report_json(req, pred, n_q, walls);
        npy::write_atomically(path, |w| w.write_all(json.as_bytes()))?;
    }
    if let Some(path) = &a.out {
        npy::write_f32(path, &shape, &pred.mean)?;
        written.push(format!("mean       -> {} {:?}", path.display(), shape));
    }
    if let Some(path) = &a.std {
        let std = pred.std.as_ref().ok_or_else(|| {
            Error::new(
                dgmf::ErrorKind::Internal,
                "the prediction has no std field although --samples is 2 or more",
            )
        })?;
        npy::write_f32(path, &shape, std)?;
        written.push(format!("std        -> {} {:?}", path.display(), shape));
    }
    if let Some(path) = &a.all_samples {
        let all = pred.samples.as_ref().ok_or_else(|| {
            Error::new(
                dgmf::ErrorKind::Internal,
                "the prediction kept no samples although --all-samples was given",
            )
        })?;
        let mut s = vec![n_q, req.n_samples];
        s.extend(&pred.shape);
        npy::write_f32(path, &s, all)?;
        written.push(format!("samples    -> {} {:?}", path.display(), s));
    }
    Ok(written)
}

fn report_json(req: &Request, p: &Prediction, n_queries: usize, walls: &[f64]) -> String {
    let ms = |d: std::time::Duration| d.as_secs_f64() * 1e3;
    let value = serde_json::json!({
        "sampler": req.sampler.kind.name(),
        "steps": req.sampler.steps,
        "queries": n_queries,
        "samples": req.n_samples,
        "nfe": p.nfe,
        "network_calls": p.network_calls,
        "wall_ms": ms(p.wall),
        "ort_ms": ms(p.network_time),
        "wall_ms_runs": walls,
    });
    json_text(&value) + "\n"
}

fn report(out: &mut Out, model: &Model, req: &Request, p: &Prediction) -> Result<(), Error> {
    let stats = |v: &[f32]| {
        let (mut lo, mut hi, mut sum) = (f32::INFINITY, f32::NEG_INFINITY, 0f64);
        for &x in v {
            lo = lo.min(x);
            hi = hi.max(x);
            sum += x as f64;
        }
        format!("min {lo:.5}  max {hi:.5}  avg {:.5}", sum / v.len() as f64)
    };
    let n_q = p.mean.len() / model.contract().sample_len();
    let ms = |d: std::time::Duration| d.as_secs_f64() * 1e3;
    say!(
        out,
        "sampler    {} ({} levels, {} schedule), {} queries x {} samples, seed {}",
        req.sampler.kind.name(),
        req.sampler.steps,
        req.sampler.schedule.name(),
        n_q,
        req.n_samples,
        req.seed
    );
    say!(
        out,
        "nfe        {} per sample, {} network calls",
        p.nfe,
        p.network_calls
    );
    let engine = p.wall.saturating_sub(p.network_time);
    say!(
        out,
        "wall       {:.1} ms ({:.1} ms in ONNX Runtime, {:.1}%), provider {}",
        ms(p.wall),
        ms(p.network_time),
        100.0 * p.network_time.as_secs_f64() / p.wall.as_secs_f64().max(1e-12),
        model.provider()
    );
    // The engine's own cost (sampler arithmetic, noise, batching, unit conversion) next to ORT's.
    say!(
        out,
        "engine     {:.3} ms outside ONNX Runtime = {:.2}% of the ONNX Runtime time",
        ms(engine),
        100.0 * engine.as_secs_f64() / p.network_time.as_secs_f64().max(1e-12)
    );
    say!(out, "mean       {}", stats(&p.mean));
    if let Some(s) = &p.std {
        say!(out, "std        {}", stats(s));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn controls_are_escaped_and_text_is_kept() {
        assert!(matches!(
            escape_controls("plain, ünïcode ✓"),
            std::borrow::Cow::Borrowed(_)
        ));
        for (raw, shown) in [
            ("\x1b[31mred", "\\u{1b}[31mred"),
            ("a\0b\tc\nd\re", "a\\u{0}b\\u{9}c\\u{a}d\\u{d}e"),
            ("del\x7f", "del\\u{7f}"),
            (
                "csi\u{9b}2J \u{80} \u{9f} \u{a0}",
                "csi\\u{9b}2J \\u{80} \\u{9f} \u{a0}",
            ),
            (
                "\u{202a}\u{202e}\u{2066}\u{2069}\u{2029}",
                "\\u{202a}\\u{202e}\\u{2066}\\u{2069}\\u{2029}",
            ),
        ] {
            assert_eq!(escape_controls(raw), shown, "{raw:?}");
        }
        assert_eq!(
            json_text(&serde_json::json!("\x1b\u{9b}\u{202e}\x7f\"\\é")),
            "\"\\u001b\\u009b\\u202e\\u007f\\\"\\\\é\""
        );
    }

    #[test]
    fn error_messages_become_one_line() {
        assert_eq!(
            error_line("could not be loaded. Tried:\n  /a (env): not found\n  /b (project): bad\nTo fix: run x"),
            "could not be loaded. Tried: /a (env): not found, /b (project): bad; To fix: run x"
        );
        assert_eq!(
            error_line("name `a\x1b[2J`\nfake line"),
            "name `a\\u{1b}[2J`; fake line"
        );
    }

    #[test]
    fn names_and_numbers_in_csv_fields() {
        for f in ["a", "param_1", "\"b\"", "x0"] {
            assert!(is_name(f), "{f}");
        }
        for f in [
            "",
            "0.1",
            "0.2x",
            "-a",
            "+1",
            ".5",
            "nan",
            "NaN",
            "inf",
            "-Infinity",
            "1e5",
        ] {
            assert!(!is_name(f), "{f}");
        }
        assert_eq!(number(" 0.25 "), Ok(0.25));
        assert!(number("nan").unwrap_err().contains("not a finite number"));
        assert!(number("1e400").unwrap_err().contains("not a finite number"));
        assert!(number("").unwrap_err().contains("empty"));
    }
}
