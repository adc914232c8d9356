//! The buffers of a prediction and the arithmetic around the network: batch inputs, the ensemble
//! statistics, the score conversion, unit conversion, fallible allocation and the finiteness scan.

use crate::contract::{Contract, OutputKind};
use crate::error::{Error, Result};
use crate::runtime::{Bound, Deadline, Feeds, Half, Network};

use super::{FidelityValue, Request};

/// Converts the network's raw output into a score.
pub(super) fn to_score(kind: OutputKind, z: &[f32], sigma: f32, raw: &[f32], out: &mut [f32]) {
    match kind {
        OutputKind::Score => out.copy_from_slice(raw),
        OutputKind::Eps => {
            let k = -1.0 / sigma;
            out.iter_mut().zip(raw).for_each(|(o, e)| *o = k * e);
        }
        OutputKind::X0 => {
            let k = 1.0 / (sigma * sigma);
            out.iter_mut()
                .zip(raw.iter().zip(z))
                .for_each(|(o, (d, z))| *o = (d - z) * k);
        }
    }
}

/// u = shift + scale·z, per channel when the contract gives one value per channel.
pub(super) fn to_physical(c: &Contract, x: &mut [f32]) {
    let per = c.channel_len();
    let channels = c.shape[0];
    for sample in x.chunks_exact_mut(c.sample_len()) {
        for (ch, block) in sample.chunks_exact_mut(per).enumerate() {
            let shift = c.data_shift[if c.data_shift.len() == 1 {
                0
            } else {
                ch % channels
            }];
            let scale = c.data_scale[if c.data_scale.len() == 1 {
                0
            } else {
                ch % channels
            }];
            block.iter_mut().for_each(|v| *v = shift + scale * *v);
        }
    }
}

/// Network inputs and output for one batch, sized once for the largest batch, and the call itself.
pub(super) struct Buffers {
    sigma: Vec<f32>,
    params: Vec<f32>,
    fidelity: Vec<f32>,
    coords: Vec<f32>,
    raw: Vec<f32>,
    half: Half,
    /// Widths of a row: parameters, fidelity, coordinates, sample.
    widths: (usize, usize, usize, usize),
    /// The I/O-bound tensors of the full batch size and of the latest smaller one (a block's last call),
    /// made on first use; empty, and every call unbound, when `bind` is false.
    bound: Vec<Bound>,
    bind: bool,
}

impl Buffers {
    pub(super) fn new(c: &Contract, rows: usize, bind: bool) -> Result<Self> {
        let len = |width: usize| rows.checked_mul(width).ok_or_else(|| too_big(usize::MAX));
        Ok(Buffers {
            sigma: zeros(rows)?,
            params: zeros(len(c.params.len())?)?,
            fidelity: zeros(len(c.fidelity.width())?)?,
            coords: zeros(len(c.coords.len())?)?,
            raw: zeros(len(c.sample_len())?)?,
            half: Half::default(),
            widths: (
                c.params.len(),
                c.fidelity.width(),
                c.coords.len(),
                c.sample_len(),
            ),
            bound: Vec::with_capacity(2),
            bind,
        })
    }

    /// Runs `net` on the first `rows` rows (conditioned by [`Buffers::condition`]) at state `z` and noise
    /// level `sigma`; returns the raw output, `rows × sample_len` values.
    pub(super) fn evaluate(
        &mut self,
        net: &mut Network<'_>,
        rows: usize,
        z: &[f32],
        sigma: f32,
        member: usize,
        deadline: Option<&Deadline>,
    ) -> Result<&[f32]> {
        let (p, w, q, n) = self.widths;
        let sig = &mut self.sigma[..rows];
        sig.fill(sigma);
        let feeds = Feeds {
            rows,
            z,
            sigma: sig,
            params: &self.params[..rows * p],
            fidelity: &self.fidelity[..rows * w],
            coords: &self.coords[..rows * q],
            member: member as i64,
        };
        let raw = &mut self.raw[..rows * n];
        if !self.bind {
            net.run(&feeds, &mut self.half, deadline, raw)?;
            return Ok(raw);
        }
        let i = match self.bound.iter().position(|b| b.rows() == rows) {
            Some(i) => i,
            None => {
                // At most two sizes are held: the full batch, and the smaller last call of a block.
                if self.bound.len() == 2 {
                    let smaller = (self.bound[0].rows() > self.bound[1].rows()) as usize;
                    self.bound.remove(smaller);
                }
                let b = Bound::new(net.session, net.types, net.shape, (p, w, q), rows)?;
                self.bound.push(b);
                self.bound.len() - 1
            }
        };
        self.bound[i].run(net, &feeds, &mut self.half, deadline, raw)?;
        Ok(raw)
    }

    /// Fills the conditioning inputs of a batch whose row r belongs to query `query_of(r)`.
    pub(super) fn condition(
        &mut self,
        req: &Request,
        rows: usize,
        query_of: impl Fn(usize) -> usize,
    ) {
        let (p, w, q, _) = self.widths;
        for r in 0..rows {
            let query = &req.queries[query_of(r)];
            for (d, &v) in self.params[r * p..(r + 1) * p]
                .iter_mut()
                .zip(&query.params)
            {
                *d = v as f32;
            }
            let fid = &mut self.fidelity[r * w..(r + 1) * w];
            match query.fidelity {
                FidelityValue::Level(l) => {
                    fid.fill(0.0);
                    fid[l] = 1.0;
                }
                FidelityValue::Value(v) => fid[0] = v as f32,
            }
            for (d, &v) in self.coords[r * q..(r + 1) * q]
                .iter_mut()
                .zip(&query.coords)
            {
                *d = v as f32;
            }
        }
    }
}

/// A zeroed buffer, or an error when the allocator refuses (a memory limit set above what the machine can
/// give must not abort the host process).
pub(super) fn zeros<T: Clone + Default>(len: usize) -> Result<Vec<T>> {
    let mut v = Vec::new();
    v.try_reserve_exact(len)
        .map_err(|_| too_big(len.saturating_mul(std::mem::size_of::<T>())))?;
    v.resize(len, T::default());
    Ok(v)
}

pub(super) fn too_big(bytes: usize) -> Error {
    Error::invalid(format!(
        "cannot allocate {} for the prediction's buffers: the machine refused the memory; lower the \
         sample count, max_batch or the number of queries (the memory limit is above what is available)",
        super::validate::size_text(bytes)
    ))
}

/// Index of the first NaN or ±inf in `v`. The scan is branch-free over the exponent bits so that it
/// vectorizes (it runs on every network output; `benches/sampler_step.rs` measures it, docs/reliability.md
/// gives its cost against a network evaluation).
#[doc(hidden)]
pub fn first_non_finite(v: &[f32]) -> Option<usize> {
    const EXP: u32 = 0x7f80_0000;
    let any = v.iter().fold(0u32, |acc, x| acc.max(x.to_bits() & EXP));
    if any != EXP {
        return None;
    }
    v.iter().position(|x| !x.is_finite())
}
