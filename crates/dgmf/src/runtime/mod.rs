//! ONNX Runtime: locating the library, session options and execution providers, and the session pool
//! that lets many host threads share one model.

mod binding;
mod deadline;
mod locate;
mod pool;
mod session;

pub(crate) use binding::Bound;
pub(crate) use deadline::Deadline;
pub use locate::{loaded, runtime, Runtime, FETCH_HINT, MIN_ORT_MINOR, TESTED_ORT_VERSION};
pub(crate) use pool::Pool;
pub(crate) use session::{build_session, describe, Feeds, Half, Network};

use std::path::PathBuf;

use crate::error::{Error, Result};

/// Where the network runs.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Provider {
    #[default]
    Cpu,
    /// CUDA on the given device (cargo feature `cuda`).
    Cuda { device_id: i32 },
    /// TensorRT on the given device (cargo feature `tensorrt`); optional fp16 and engine cache directory.
    TensorRt {
        device_id: i32,
        fp16: bool,
        engine_cache: Option<PathBuf>,
    },
}

impl Provider {
    /// Parses `cpu`, `cuda`, `cuda:1`, `tensorrt`, `tensorrt:0`.
    pub fn parse(text: &str) -> Result<Self> {
        let (name, device) = match text.split_once(':') {
            Some((n, d)) => {
                let id = d.parse::<i32>().ok().filter(|&d| d >= 0).ok_or_else(|| {
                    Error::invalid(format!(
                        "provider `{text}`: the device id `{d}` is not a non-negative integer"
                    ))
                })?;
                (n, id)
            }
            None => (text, 0),
        };
        match name {
            "cpu" if !text.contains(':') => Ok(Provider::Cpu),
            "cuda" => Ok(Provider::Cuda { device_id: device }),
            "tensorrt" => Ok(Provider::TensorRt { device_id: device, fp16: false, engine_cache: None }),
            _ => Err(Error::invalid(format!(
                "unknown execution provider `{text}`; choose cpu, cuda[:DEVICE] or tensorrt[:DEVICE]"
            ))),
        }
    }

    pub fn name(&self) -> &'static str {
        match self {
            Provider::Cpu => "cpu",
            Provider::Cuda { .. } => "cuda",
            Provider::TensorRt { .. } => "tensorrt",
        }
    }
}

/// ONNX Runtime graph optimization level.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OptLevel {
    Disable,
    Basic,
    Extended,
    #[default]
    All,
}

/// Most ONNX Runtime intra-op threads per session, and most sessions per model: far above any machine
/// libdgmf runs on, low enough that a garbage count (e.g. a negative int cast to size_t) is refused
/// instead of spawning a million threads.
pub const MAX_THREADS: usize = 1024;

/// How a model's sessions are created.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SessionOptions {
    /// ONNX Runtime library to load (see the search order in docs/runtime.md); `None` searches.
    pub ort_lib: Option<PathBuf>,
    pub provider: Provider,
    /// Use the CPU when the requested provider cannot be registered, instead of failing.
    pub allow_fallback: bool,
    /// Intra-op threads per session; 0 lets ONNX Runtime choose (one per physical core).
    pub intra_threads: usize,
    pub opt_level: OptLevel,
    /// Most sessions the pool may hold (one per concurrently predicting host thread); 0 = number of CPUs.
    pub max_sessions: usize,
    /// Call the network without I/O binding: every call creates its input values and ONNX Runtime
    /// allocates its output, as before I/O binding (for comparisons, `benches/predict.rs`; the results
    /// are the same bits).
    pub unbound_calls: bool,
    /// Threads the engine draws a batch's noise on; 0 chooses ([`SessionOptions::noise_threads`]).
    pub noise_threads: usize,
}

impl SessionOptions {
    /// Threads the engine draws a batch's noise on (`rng::fill_rows`; the same bits for every count):
    /// `noise_threads`, or when 0, one on the CPU provider (ONNX Runtime's own threads hold the cores and
    /// spin between calls: measured, two noise threads took 1.6–1.7× as long as one, docs/performance.md
    /// §10) and `intra_threads` on a GPU provider (one per CPU the process may use when that is 0).
    pub fn noise_threads(&self, on_cpu: bool) -> usize {
        match (self.noise_threads, on_cpu, self.intra_threads) {
            (0, true, _) => 1,
            (0, false, 0) => std::thread::available_parallelism().map_or(1, |n| n.get()),
            (0, false, n) | (n, _, _) => n,
        }
    }

    /// Rejects thread and session counts above [`MAX_THREADS`].
    pub fn validate(&self) -> Result<()> {
        for (what, v) in [
            ("intra_threads", self.intra_threads),
            ("max_sessions", self.max_sessions),
            ("noise_threads", self.noise_threads),
        ] {
            if v > MAX_THREADS {
                return Err(Error::invalid(format!(
                    "{what} = {v}; at most {MAX_THREADS} (0 lets libdgmf choose)"
                )));
            }
        }
        Ok(())
    }
}
