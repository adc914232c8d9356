//! Building one ONNX Runtime session, and running the score network on a row batch.

use half::f16;
use ort::session::builder::GraphOptimizationLevel;
use ort::session::{Session, SessionInputValue};
use ort::value::{TensorElementType, TensorRef, ValueType};

use super::{OptLevel, Provider, Runtime, SessionOptions};
use crate::contract::{ElemType, TensorSpec};
use crate::error::{Error, ErrorKind, Result};

fn ort_err(what: &str) -> impl Fn(String) -> Error + '_ {
    move |e| {
        Error::new(
            ErrorKind::ModelLoad,
            format!("ONNX Runtime could not {what}: {e}"),
        )
    }
}

/// Where ONNX Runtime is told external data lives: below a character device, so no such path exists.
const NO_EXTERNAL_DATA_DIR: &str = "/dev/null/libdgmf-loads-no-external-data";

/// Creates a session on `bytes`; returns it with the name of the provider actually in use.
pub(crate) fn build_session(
    rt: &Runtime,
    bytes: &[u8],
    opts: &SessionOptions,
) -> Result<(Session, String)> {
    let mut builder = Session::builder(&rt.env)
        .map_err(|e| ort_err("create session options")(e.to_string()))?
        .with_optimization_level(match opts.opt_level {
            OptLevel::Disable => GraphOptimizationLevel::Disable,
            OptLevel::Basic => GraphOptimizationLevel::Level1,
            OptLevel::Extended => GraphOptimizationLevel::Level2,
            OptLevel::All => GraphOptimizationLevel::All,
        })
        .map_err(|e| ort_err("set the optimization level")(e.to_string()))?;
    if opts.intra_threads > 0 {
        builder = builder
            .with_intra_threads(opts.intra_threads)
            .map_err(|e| ort_err("set the intra-op thread count")(e.to_string()))?;
    }
    // Belt and braces behind the header walk (onnx_header.rs), which refuses external data: parse the
    // bytes as ONNX protobuf only (never ONNX Runtime's own .ort format), and resolve any external data
    // against a directory that cannot exist (a path below /dev/null), so that ONNX Runtime itself fails
    // instead of opening a file named by the model.
    for (key, value) in [
        ("session.load_model_format", "ONNX"),
        (
            "session.model_external_initializers_file_folder_path",
            NO_EXTERNAL_DATA_DIR,
        ),
    ] {
        builder = builder
            .with_config_entry(key, value)
            .map_err(|e| ort_err("set a session option")(e.to_string()))?;
    }
    let mut active = opts.provider.name().to_string();
    if opts.provider != Provider::Cpu {
        match register(builder.clone(), &opts.provider) {
            Ok(b) => builder = b,
            Err(why) if opts.allow_fallback => active = format!("cpu (fallback: {why})"),
            Err(why) => return Err(Error::new(ErrorKind::ProviderUnavailable, why)),
        }
    }
    let session = builder
        .commit_from_memory(bytes)
        .map_err(|e| ort_err("load the model")(e.to_string()))?;
    Ok((session, active))
}

/// Registers a GPU provider, failing loudly (ort's default is to fall back to the CPU silently).
#[allow(unused_variables, unreachable_code)]
fn register(
    builder: ort::session::builder::SessionBuilder,
    provider: &Provider,
) -> std::result::Result<ort::session::builder::SessionBuilder, String> {
    let unavailable = |feature: &str| {
        format!(
            "execution provider `{}` was requested but this libdgmf was built without the `{feature}` cargo \
             feature; rebuild with `cargo build --release --features dgmf/{feature}` (`make CARGO_FEATURES=dgmf/{feature}`) or use the cpu provider",
            provider.name()
        )
    };
    let dispatch: ort::ep::ExecutionProviderDispatch = match provider {
        Provider::Cpu => return Ok(builder),
        // TF32 off: ONNX Runtime's CUDA provider turns it on by default, which rounds convolution inputs
        // to 10 mantissa bits. Measured on an H200 (docs/performance.md, "GPU"): with it, single
        // topopt pixels differed from the CPU result by up to 13 %; without it, by 1e-5, at no
        // measurable cost for these small networks.
        #[cfg(feature = "cuda")]
        Provider::Cuda { device_id } => ort::ep::CUDA::default()
            .with_device_id(*device_id)
            .with_tf32(false)
            .build()
            .error_on_failure(),
        #[cfg(not(feature = "cuda"))]
        Provider::Cuda { .. } => return Err(unavailable("cuda")),
        #[cfg(feature = "tensorrt")]
        Provider::TensorRt {
            device_id,
            fp16,
            engine_cache,
        } => {
            let mut trt = ort::ep::TensorRT::default()
                .with_device_id(*device_id)
                .with_fp16(*fp16);
            if let Some(dir) = engine_cache {
                trt = trt
                    .with_engine_cache(true)
                    .with_engine_cache_path(dir.display().to_string());
            }
            trt.build().error_on_failure()
        }
        #[cfg(not(feature = "tensorrt"))]
        Provider::TensorRt { .. } => return Err(unavailable("tensorrt")),
    };
    builder.with_execution_providers([dispatch]).map_err(|e| {
        // ONNX Runtime ends its messages with a newline; the hint covers both causes seen on a GPU
        // machine (a missing library, a device index the machine does not have).
        format!(
            "execution provider `{}` could not be registered: {} (check the device index, and that the GPU \
             build of ONNX Runtime and its CUDA/TensorRT libraries are on the library path)",
            provider.name(),
            e.to_string().trim_end()
        )
    })
}

/// A model's inputs and outputs, in contract terms.
pub(crate) type Signature = (Vec<TensorSpec>, Vec<TensorSpec>);

/// Reads the input/output descriptions of a session.
pub(crate) fn describe(session: &Session) -> Result<Signature> {
    let spec = |o: &ort::value::Outlet| TensorSpec {
        name: o.name().to_string(),
        elem: match o.dtype() {
            ValueType::Tensor {
                ty: TensorElementType::Float32,
                ..
            } => Ok(ElemType::F32),
            ValueType::Tensor {
                ty: TensorElementType::Float16,
                ..
            } => Ok(ElemType::F16),
            ValueType::Tensor { ty, .. } => Err(format!("{ty:?}").to_lowercase()),
            other => Err(format!("{other:?}")),
        },
        dims: match o.dtype() {
            ValueType::Tensor { shape, .. } => Some(shape.to_vec()),
            _ => None,
        },
    };
    Ok((
        session.inputs().iter().map(spec).collect(),
        session.outputs().iter().map(spec).collect(),
    ))
}

/// Conversion buffers for float16 models, reused across calls.
#[derive(Default)]
pub(crate) struct Half {
    bufs: [Vec<f16>; 5],
}

impl Half {
    fn convert(&mut self, slot: usize, data: &[f32]) -> &[f16] {
        let b = &mut self.bufs[slot];
        b.clear();
        b.extend(data.iter().map(|&v| f16::from_f32(v)));
        b
    }
}

/// The network's inputs for one call, in contract roles.
pub(crate) struct Network<'a> {
    pub session: &'a mut Session,
    pub types: &'a crate::contract::IoTypes,
    pub shape: &'a [usize],
}

/// One call's inputs, in contract roles: `rows` stacked rows of each (`params` rows × P, `fidelity` rows ×
/// its width, `coords` rows × Q, empty for a model without coordinates).
pub(crate) struct Feeds<'a> {
    pub rows: usize,
    pub z: &'a [f32],
    pub sigma: &'a [f32],
    pub params: &'a [f32],
    pub fidelity: &'a [f32],
    pub coords: &'a [f32],
    /// The deep-ensemble member every row of the call uses (models with a `member` input).
    pub member: i64,
}

impl Network<'_> {
    /// Runs the network on `feeds`; `out` receives the raw output (f32) in row-major order.
    pub fn run(
        &mut self,
        feeds: &Feeds<'_>,
        half: &mut Half,
        deadline: Option<&super::Deadline>,
        out: &mut [f32],
    ) -> Result<()> {
        let rows = feeds.rows;
        let member = [feeds.member];
        let mut z_shape = Vec::with_capacity(self.shape.len() + 1);
        z_shape.push(rows);
        z_shape.extend_from_slice(self.shape);
        let t = self.types;
        let width = |v: &[f32]| v.len() / rows.max(1);
        let mut feeds_list: Vec<(&str, ElemType, Vec<usize>, &[f32])> = vec![
            ("z", t.z, z_shape, feeds.z),
            ("sigma", t.sigma, vec![rows], feeds.sigma),
            (
                "params",
                t.params,
                vec![rows, width(feeds.params)],
                feeds.params,
            ),
            (
                "fidelity",
                t.fidelity,
                vec![rows, width(feeds.fidelity)],
                feeds.fidelity,
            ),
        ];
        if let Some(ct) = t.coords {
            feeds_list.push(("coords", ct, vec![rows, width(feeds.coords)], feeds.coords));
        }
        let feeds = feeds_list;
        // float16 models get converted copies; float32 inputs are passed as views without copying.
        for (slot, f) in feeds.iter().enumerate() {
            if f.1 == ElemType::F16 {
                half.convert(slot, f.3);
            }
        }
        let mut inputs: Vec<(&str, SessionInputValue<'_>)> = Vec::with_capacity(feeds.len());
        for (slot, (name, elem, shape, data)) in feeds.iter().enumerate() {
            let value: SessionInputValue<'_> = match elem {
                ElemType::F32 => TensorRef::from_array_view((shape.clone(), *data))
                    .map_err(run_err)?
                    .into(),
                ElemType::F16 => TensorRef::from_array_view((shape.clone(), &half.bufs[slot][..]))
                    .map_err(run_err)?
                    .into(),
            };
            inputs.push((name, value));
        }
        if let Some(rank) = t.member {
            let shape = vec![1usize; rank];
            inputs.push((
                "member",
                TensorRef::from_array_view((shape, &member[..]))
                    .map_err(run_err)?
                    .into(),
            ));
        }
        let outputs = match deadline {
            Some(d) => self
                .session
                .run_with_options(inputs, d.run_options())
                .map_err(|e| if d.expired() { d.error() } else { run_err(e) })?,
            None => self.session.run(inputs).map_err(run_err)?,
        };
        read_output(self.types.output, self.shape, &outputs[0], rows, out)
    }
}

/// Copies the output value (`[rows, *shape]`, f32 or f16) into `out` as f32.
fn read_output(
    elem: ElemType,
    sample: &[usize],
    value: &ort::value::DynValue,
    rows: usize,
    out: &mut [f32],
) -> Result<()> {
    let expected = rows * sample.iter().product::<usize>();
    match elem {
        ElemType::F32 => {
            let (shape, data) = value.try_extract_tensor::<f32>().map_err(run_err)?;
            check_dims(shape, rows, sample)?;
            out[..expected].copy_from_slice(&data[..expected]);
        }
        ElemType::F16 => {
            let (shape, data) = value.try_extract_tensor::<f16>().map_err(run_err)?;
            check_dims(shape, rows, sample)?;
            out[..expected]
                .iter_mut()
                .zip(data)
                .for_each(|(o, d)| *o = d.to_f32());
        }
    }
    Ok(())
}

/// The output must be `[rows, *shape]` exactly: a permutation of the dims has the right length but puts
/// every value in the wrong place.
fn check_dims(got: &ort::value::Shape, rows: usize, shape: &[usize]) -> Result<()> {
    let want = std::iter::once(rows).chain(shape.iter().copied());
    let same = got.len() == shape.len() + 1
        && got
            .iter()
            .zip(want)
            .all(|(&g, w)| g >= 0 && g as usize == w);
    if !same {
        let want: Vec<String> = std::iter::once(rows)
            .chain(shape.iter().copied())
            .map(|d| d.to_string())
            .collect();
        return Err(Error::inference(format!(
            "the network returned an output of dims {:?} where [{}] (batch, then dgmf.shape) was expected",
            got.iter().collect::<Vec<_>>(),
            want.join(", ")
        )));
    }
    Ok(())
}

pub(super) fn run_err(e: impl std::fmt::Display) -> Error {
    Error::inference(format!("ONNX Runtime failed to run the network: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::onnx_header::tests::{cat, int, ld};
    use crate::runtime::{runtime, OptLevel};

    /// y = x + w for x: float[4], with w's data "external": in `location`, relative to the working
    /// directory (where ONNX Runtime resolves it for a model given as bytes).
    fn add_external(location: &str) -> Vec<u8> {
        let float4 = ld(2, &ld(1, &cat(&[int(1, 1), ld(2, &ld(1, &int(1, 4)))])));
        let w = cat(&[
            int(1, 4),
            int(2, 1),
            ld(8, b"w"),
            ld(13, &cat(&[ld(1, b"location"), ld(2, location.as_bytes())])),
            int(14, 1),
        ]);
        let node = cat(&[ld(1, b"x"), ld(1, b"w"), ld(2, b"y"), ld(4, b"Add")]);
        let graph = cat(&[
            ld(1, &node),
            ld(2, b"g"),
            ld(5, &w),
            ld(11, &cat(&[ld(1, b"x"), float4.clone()])),
            ld(12, &cat(&[ld(1, b"y"), float4])),
        ]);
        cat(&[
            int(1, 10),
            ld(7, &graph),
            ld(8, &cat(&[ld(1, b""), int(2, 17)])),
        ])
    }

    /// If the header walk ever missed an external reference, ONNX Runtime itself must refuse to read it.
    #[test]
    fn onnx_runtime_is_told_to_resolve_no_external_data() {
        // Relative to the working directory (cargo runs unit tests in the crate's directory).
        let secret = std::env::current_dir()
            .unwrap()
            .join("dgmf-external-secret.bin");
        std::fs::write(
            &secret,
            [0u8, 0, 128, 63, 0, 0, 0, 64, 0, 0, 64, 64, 0, 0, 128, 64],
        )
        .unwrap();
        let bytes = add_external("dgmf-external-secret.bin");
        let rt = runtime(None).expect("ONNX Runtime (scripts/fetch-ort.sh)");
        // Without graph optimizations ONNX Runtime would read the file at session creation.
        let opts = SessionOptions {
            opt_level: OptLevel::Disable,
            intra_threads: 1,
            ..Default::default()
        };
        let Err(e) = build_session(rt, &bytes, &opts) else {
            panic!("ONNX Runtime loaded a model with external data");
        };
        assert!(
            e.message().contains("External data path")
                && e.message().contains(NO_EXTERNAL_DATA_DIR),
            "{e}"
        );
        std::fs::remove_file(&secret).unwrap();
    }
}
