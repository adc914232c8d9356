//! A loaded score model: its validated contract plus a pool of ONNX Runtime sessions.

use std::path::Path;
use std::sync::Arc;

use crate::contract::Contract;
use crate::error::{Error, ErrorKind, Result};
use crate::onnx_header::{read_header, OnnxHeader};
use crate::runtime::{self, build_session, describe, Network, Pool, Runtime, SessionOptions};
use crate::samplers::SamplerConfig;

/// A dgmf score model. Cheap to clone; `Send + Sync`: many threads may predict with one model at once,
/// each on its own pooled session.
#[derive(Clone)]
pub struct Model {
    inner: Arc<Inner>,
}

struct Inner {
    contract: Contract,
    header: OnnxHeader,
    bytes: Arc<[u8]>,
    opts: SessionOptions,
    provider: String,
    /// Threads a prediction draws its noise on, resolved once for the provider in use.
    noise_threads: usize,
    runtime: &'static Runtime,
    pool: Pool,
    source: String,
}

impl std::fmt::Debug for Model {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Model")
            .field("source", &self.inner.source)
            .field("provider", &self.inner.provider)
            .finish()
    }
}

impl Model {
    /// Loads a model file.
    pub fn load(path: impl AsRef<Path>, opts: &SessionOptions) -> Result<Model> {
        let path = path.as_ref();
        let bytes = crate::input_file::read_bounded(
            path,
            crate::input_file::MAX_MODEL_BYTES,
            "model file",
            ErrorKind::ModelLoad,
        )?;
        Self::load_bytes(bytes.into(), opts, path.display().to_string())
            .map_err(|e| Error::new(e.kind(), format!("{}: {}", path.display(), e.message())))
    }

    /// Loads a model from an in-memory ONNX file (the bytes are copied).
    pub fn from_bytes(bytes: &[u8], opts: &SessionOptions) -> Result<Model> {
        if bytes.len() as u64 > crate::input_file::MAX_MODEL_BYTES {
            return Err(Error::new(
                ErrorKind::ModelLoad,
                format!(
                    "the model is {} bytes, more than the {} an ONNX protobuf file can hold (2 GiB)",
                    bytes.len(),
                    crate::input_file::MAX_MODEL_BYTES
                ),
            ));
        }
        Self::load_bytes(bytes.into(), opts, "<memory>".into())
    }

    fn load_bytes(bytes: Arc<[u8]>, opts: &SessionOptions, source: String) -> Result<Model> {
        // Read the header before touching ONNX Runtime: garbage and too-new models get a precise error.
        opts.validate()?;
        let header = read_header(&bytes)?;
        header.check_supported()?;
        let runtime = runtime::runtime(opts.ort_lib.as_deref())?;
        let (session, provider) = build_session(runtime, &bytes, opts)?;
        // The metadata comes from our own decode of the file, so that entries ONNX Runtime would drop
        // (non-UTF-8, duplicates) are contract errors rather than silently absent.
        let meta = crate::contract::metadata_map(&header.metadata)?;
        let (inputs, outputs) = describe(&session)?;
        let contract = Contract::from_parts(&meta, &inputs, &outputs)?;
        let max = match opts.max_sessions {
            0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
            n => n,
        };
        let pool = Pool::new(session, max);
        // A GPU provider that fell back to the CPU counts as the CPU.
        let noise_threads = opts.noise_threads(provider.starts_with("cpu"));
        let inner = Inner {
            contract,
            header,
            bytes,
            opts: opts.clone(),
            provider,
            noise_threads,
            runtime,
            pool,
            source,
        };
        Ok(Model {
            inner: Arc::new(inner),
        })
    }

    pub fn contract(&self) -> &Contract {
        &self.inner.contract
    }

    /// The sampler to use when the caller names none: the model's `dgmf.sampler` (the one its
    /// `dgmf.std_scale` was calibrated with), else the library default [`SamplerConfig::default`].
    pub fn recommended_sampler(&self) -> SamplerConfig {
        self.inner.contract.recommended_sampler()
    }

    /// The arithmetic the network was exported for: `int8` when the graph holds integer-quantization
    /// operators (a QDQ copy: int8 convolutions, float elsewhere), `fp16` when its inputs are float16,
    /// else `fp32`.
    pub fn precision(&self) -> &'static str {
        if self.inner.header.quantized {
            "int8"
        } else if self.inner.contract.io.z == crate::contract::ElemType::F16 {
            "fp16"
        } else {
            "fp32"
        }
    }

    /// ONNX IR version and opsets of the file.
    pub fn header(&self) -> &OnnxHeader {
        &self.inner.header
    }

    /// The execution provider in use (`cpu`, `cuda`, `tensorrt`, or `cpu (fallback: …)`).
    pub fn provider(&self) -> &str {
        &self.inner.provider
    }

    pub fn runtime(&self) -> &'static Runtime {
        self.inner.runtime
    }

    pub fn options(&self) -> &SessionOptions {
        &self.inner.opts
    }

    /// Threads a prediction draws its noise on: [`SessionOptions::noise_threads`] for the provider in
    /// use (a GPU provider that fell back to the CPU counts as the CPU).
    pub fn noise_threads(&self) -> usize {
        self.inner.noise_threads
    }

    /// Where the model came from (a path or `<memory>`).
    pub fn source(&self) -> &str {
        &self.inner.source
    }

    /// Sessions the pool has created so far (one per concurrently predicting thread).
    pub fn sessions(&self) -> usize {
        self.inner.pool.created()
    }

    /// Runs `f` with exclusive use of one pooled session.
    pub(crate) fn with_network<T>(&self, f: impl FnOnce(Network<'_>) -> T) -> Result<T> {
        let inner = &*self.inner;
        let make = || build_session(inner.runtime, &inner.bytes, &inner.opts).map(|(s, _)| s);
        inner.pool.with(make, |session| {
            f(Network {
                session,
                types: &inner.contract.io,
                shape: &inner.contract.shape,
            })
        })
    }
}
