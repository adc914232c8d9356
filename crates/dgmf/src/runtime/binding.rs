//! ONNX Runtime I/O binding: one batch size's input and output tensors, allocated once per prediction and
//! bound to the session. A network call writes the state into tensors ONNX Runtime already holds and reads
//! the output from the tensor it wrote in place: no value is created and no output allocated per call
//! (on a GPU provider these are the buffers that stay on the device; docs/performance.md, "GPU").

use half::f16;
use ort::session::{IoBinding, Session};
use ort::value::Tensor;

use super::session::{run_err, Feeds, Half, Network};
use super::Deadline;
use crate::contract::{ElemType, IoTypes};
use crate::error::Result;

/// The bound tensors of calls of `rows` rows on one session.
pub(crate) struct Bound {
    rows: usize,
    binding: IoBinding,
    /// z, sigma, params, fidelity and (when the model has them) coords, in that order.
    inputs: Vec<(&'static str, Slot)>,
    member: Option<Tensor<i64>>,
    output: Slot,
}

/// One tensor in the element type the model declares; the engine's side is always f32.
enum Slot {
    F32(Tensor<f32>),
    F16(Tensor<f16>),
}

impl Slot {
    fn new(session: &Session, elem: ElemType, shape: Vec<usize>) -> Result<Slot> {
        let alloc = session.allocator();
        Ok(match elem {
            ElemType::F32 => Slot::F32(Tensor::new(alloc, shape).map_err(run_err)?),
            ElemType::F16 => Slot::F16(Tensor::new(alloc, shape).map_err(run_err)?),
        })
    }

    fn write(&mut self, data: &[f32]) -> Result<()> {
        match self {
            Slot::F32(t) => copy_into(t.try_extract_tensor_mut().map_err(run_err)?.1, data, |v| v),
            Slot::F16(t) => copy_into(
                t.try_extract_tensor_mut().map_err(run_err)?.1,
                data,
                f16::from_f32,
            ),
        }
    }

    fn read(&self, out: &mut [f32]) -> Result<()> {
        match self {
            Slot::F32(t) => copy_into(out, t.try_extract_tensor().map_err(run_err)?.1, |v| v),
            Slot::F16(t) => copy_into(out, t.try_extract_tensor().map_err(run_err)?.1, f16::to_f32),
        }
    }

    fn bind_input(&self, binding: &mut IoBinding, name: &str) -> Result<()> {
        match self {
            Slot::F32(t) => binding.bind_input(name, t),
            Slot::F16(t) => binding.bind_input(name, t),
        }
        .map_err(run_err)
    }
}

/// Copies `src` into `dst`, converting each value. A bound tensor and the engine's buffer always have the
/// same length (both are `rows` × a contract width): an internal error, never a panic, if that ever broke.
fn copy_into<S: Copy, D>(dst: &mut [D], src: &[S], convert: impl Fn(S) -> D) -> Result<()> {
    if dst.len() != src.len() {
        return Err(crate::error::Error::internal(format!(
            "a bound tensor and the call's buffer hold {} and {} values",
            dst.len(),
            src.len()
        )));
    }
    dst.iter_mut().zip(src).for_each(|(d, &s)| *d = convert(s));
    Ok(())
}

impl Bound {
    /// Tensors for calls of `rows` rows of a model with these input types, sample shape and widths
    /// (parameters, fidelity, coordinates), bound to `session`'s inputs and its one output.
    pub(crate) fn new(
        session: &Session,
        types: &IoTypes,
        shape: &[usize],
        widths: (usize, usize, usize),
        rows: usize,
    ) -> Result<Bound> {
        let sample: Vec<usize> = std::iter::once(rows).chain(shape.iter().copied()).collect();
        let (p, w, q) = widths;
        let mut inputs = vec![
            ("z", Slot::new(session, types.z, sample.clone())?),
            ("sigma", Slot::new(session, types.sigma, vec![rows])?),
            ("params", Slot::new(session, types.params, vec![rows, p])?),
            (
                "fidelity",
                Slot::new(session, types.fidelity, vec![rows, w])?,
            ),
        ];
        if let Some(ct) = types.coords {
            inputs.push(("coords", Slot::new(session, ct, vec![rows, q])?));
        }
        let member = match types.member {
            Some(rank) => {
                Some(Tensor::new(session.allocator(), vec![1usize; rank]).map_err(run_err)?)
            }
            None => None,
        };
        let mut output = Slot::new(session, types.output, sample)?;
        let mut binding = session.create_binding().map_err(run_err)?;
        let name = session.outputs()[0].name().to_string();
        match &mut output {
            Slot::F32(t) => binding.bind_output(name, t.view_mut()),
            Slot::F16(t) => binding.bind_output(name, t.view_mut()),
        }
        .map_err(run_err)?;
        Ok(Bound {
            rows,
            binding,
            inputs,
            member,
            output,
        })
    }

    pub(crate) fn rows(&self) -> usize {
        self.rows
    }

    /// Runs the network on `feeds` (exactly `rows` rows) through the binding; `out` receives the output.
    pub(crate) fn run(
        &mut self,
        net: &mut Network<'_>,
        feeds: &Feeds<'_>,
        half: &mut Half,
        deadline: Option<&Deadline>,
        out: &mut [f32],
    ) -> Result<()> {
        let session = &mut *net.session;
        let data = [
            feeds.z,
            feeds.sigma,
            feeds.params,
            feeds.fidelity,
            feeds.coords,
        ];
        for ((name, slot), data) in self.inputs.iter_mut().zip(data) {
            slot.write(data)?;
            // Bound again each call: a GPU provider copies an input to the device when it is bound, so
            // this is when the new state must be there (on the CPU it is a reference, not a copy).
            slot.bind_input(&mut self.binding, name)?;
        }
        if let Some(m) = self.member.as_mut() {
            m.try_extract_tensor_mut::<i64>().map_err(run_err)?.1[0] = feeds.member;
            self.binding.bind_input("member", m).map_err(run_err)?;
        }
        let result = match deadline {
            Some(d) => session.run_binding_with_options(&self.binding, d.run_options()),
            None => session.run_binding(&self.binding),
        }
        .map(drop);
        if result.is_err() {
            if let Some(d) = deadline.filter(|d| d.expired()) {
                return Err(d.error());
            }
            // Most likely an output of other dims than the bound one's (a broken or input-dependent
            // graph): the same call unbound either succeeds, or fails in the engine's own words
            // (`check_dims` names the dims), not in ONNX Runtime's.
            return net.run(feeds, half, deadline, out);
        }
        self.output.read(out)
    }
}
