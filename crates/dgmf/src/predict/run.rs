//! The batch runner: rows (query × sample) packed into network batches of at most `max_batch`, each
//! integrated by the request's sampler and handed, in physical units, to a sink (the statistics, and the
//! samples when kept).

use std::ops::Range;
use std::time::{Duration, Instant};

use ndarray::{ArrayD, IxDyn};

use super::buffers::{to_physical, to_score, zeros, Buffers};
use super::validate::{check_fidelity_kind, validate};
use super::{
    first_non_finite, EnsembleMoments, FidelityValue, Prediction, Progress, Query, Request,
};
use crate::contract::Contract;
use crate::error::{Error, Result};
use crate::model::Model;
use crate::rng::NoiseStream;
use crate::runtime::{Deadline, Network};
use crate::samplers::{self, Ctx, ScoreFn, Workspace};

/// What a run of samples cost.
struct RunStats {
    network_calls: usize,
    network_time: Duration,
}

impl Model {
    /// Runs a request. `progress` is called after each network evaluation; returning false cancels.
    pub fn predict(
        &self,
        req: &Request,
        progress: Option<&mut dyn FnMut(Progress) -> bool>,
    ) -> Result<Prediction> {
        let start = Instant::now();
        let c = self.contract();
        validate(c, req)?;
        let n = c.sample_len();
        let q = req.queries.len();
        let mut stats = EnsembleMoments::new(q, &c.shape)?;
        // `validate` bounded the sizes (buffer_bytes): the product cannot wrap.
        let mut samples = match req.keep_samples {
            true => Some(zeros::<f32>(q * req.n_samples * n)?),
            false => None,
        };
        let k = req.n_samples;
        let run = self.run_samples(req, 0..k, progress, |query, sample, x| {
            stats.add(query, x);
            if let Some(all) = samples.as_mut() {
                let row = query * k + sample;
                all[row * n..(row + 1) * n].copy_from_slice(x);
            }
        })?;
        let (mean, std) = self.finish_moments(&stats, req)?;
        Ok(Prediction {
            shape: c.shape.clone(),
            mean,
            std,
            samples: samples
                .map(|s| self.array(&[q, req.n_samples], s))
                .transpose()?,
            nfe: req.sampler.nfe(),
            network_calls: run.network_calls,
            wall: start.elapsed(),
            network_time: run.network_time,
        })
    }

    /// The statistics of samples `samples` (a sub-range of `0..req.n_samples`) of every query: sample j of
    /// query i draws its noise from stream (seed, (first_query + i)·n_samples + j) whatever the range, so the parts of an
    /// ensemble computed anywhere (threads, processes, MPI ranks) and merged with
    /// [`EnsembleMoments::merge`] equal one `predict` of all samples, up to the rounding of the merge
    /// (docs/distributed.md gives the bound). `req.keep_samples` is ignored.
    pub fn predict_moments(
        &self,
        req: &Request,
        samples: Range<usize>,
        progress: Option<&mut dyn FnMut(Progress) -> bool>,
    ) -> Result<EnsembleMoments> {
        let c = self.contract();
        validate(c, req)?;
        if samples.is_empty() || samples.end > req.n_samples {
            return Err(Error::invalid(format!(
                "samples {}..{} of an ensemble of {}: give a non-empty range within 0..{}",
                samples.start, samples.end, req.n_samples, req.n_samples
            )));
        }
        let mut stats = EnsembleMoments::new(req.queries.len(), &c.shape)?;
        self.run_samples(req, samples, progress, |query, _, x| stats.add(query, x))?;
        Ok(stats)
    }

    /// Mean and std (`[queries, *shape]`, physical units, the model's `dgmf.std_scale` applied) of merged
    /// statistics of `req`'s queries; the std is `None` unless every query has 2 or more samples.
    pub fn finish_moments(
        &self,
        moments: &EnsembleMoments,
        req: &Request,
    ) -> Result<(ArrayD<f32>, Option<ArrayD<f32>>)> {
        let fidelity: Vec<FidelityValue> = req.queries.iter().map(|q| q.fidelity).collect();
        self.finish_moments_at(moments, &fidelity)
    }

    /// [`Model::finish_moments`] given only each query's fidelity (what the std scale depends on), for
    /// statistics that arrive without their request (another process, the C API).
    pub fn finish_moments_at(
        &self,
        moments: &EnsembleMoments,
        fidelity: &[FidelityValue],
    ) -> Result<(ArrayD<f32>, Option<ArrayD<f32>>)> {
        let c = self.contract();
        if moments.shape() != c.shape.as_slice() || moments.queries() != fidelity.len() {
            return Err(Error::invalid(format!(
                "moments of {} queries of shape {:?} do not belong to these {} queries of this model \
                 (shape {:?})",
                moments.queries(),
                moments.shape(),
                fidelity.len(),
                c.shape
            )));
        }
        // The std scale is per level: a level this model does not have must not pass silently.
        for (i, f) in fidelity.iter().enumerate() {
            check_fidelity_kind(c, *f, &format!("query {i}: "))?;
        }
        let (mean, std) = moments.finish(|i| c.std_scale_for(fidelity[i].level()))?;
        let q = fidelity.len();
        Ok((
            self.array(&[q], mean)?,
            std.map(|s| self.array(&[q], s)).transpose()?,
        ))
    }

    /// `[lead.., *shape]` from a row-major buffer, without a copy.
    fn array(&self, lead: &[usize], v: Vec<f32>) -> Result<ArrayD<f32>> {
        ArrayD::from_shape_vec(IxDyn(&[lead, &self.contract().shape[..]].concat()), v)
            .map_err(|e| Error::internal(format!("result buffer and shape disagree: {e}")))
    }

    /// Integrates samples `samples` of every query (sample j's noise stream is (seed, (first_query +
    /// query) · n_samples + j), and a deep ensemble draws it with member j mod K) and hands each finished
    /// sample, in physical units, to `sink(query, sample, values)`, member by member, each in (query,
    /// sample) order.
    fn run_samples(
        &self,
        req: &Request,
        samples: Range<usize>,
        progress: Option<&mut dyn FnMut(Progress) -> bool>,
        mut sink: impl FnMut(usize, usize, &[f32]),
    ) -> Result<RunStats> {
        let c = self.contract();
        let n = c.sample_len();
        let mut run = Runner {
            c,
            req,
            plan: Plan::new(req, &samples, c.members)?,
            sigmas: req.sampler.sigmas(c.sigma_min, c.sigma_max)?,
            deadline: req.time_limit.map(Deadline::start).transpose()?,
            progress,
            stats: RunStats {
                network_calls: 0,
                network_time: Duration::ZERO,
            },
            streams: Vec::new(),
            noise_threads: self.noise_threads(),
        };
        self.with_network(|mut net| -> Result<()> {
            // Buffers for the largest batch, allocated once per request.
            let batch = run.plan.batch;
            let mut buf = Buffers::new(c, batch, !self.options().unbound_calls)?;
            let mut ws = Workspace::new(batch * n)?;
            let mut x = zeros::<f32>(batch * n)?;
            run.streams.reserve_exact(batch);
            // One member per network call: the graph selects one network for the whole batch.
            for b in 0..run.plan.blocks.len() {
                let block = run.plan.blocks[b];
                for first in (block.offset..block.offset + block.rows).step_by(batch) {
                    let rows = batch.min(block.offset + block.rows - first);
                    let x = &mut x[..rows * n];
                    run.batch(&mut net, &mut buf, &mut ws, first, x)?;
                    for (r, row) in x.chunks_exact(n).enumerate() {
                        let (query, sample, _) = run.plan.who(first + r);
                        sink(query, sample, row);
                    }
                }
            }
            Ok(())
        })??;
        Ok(run.stats)
    }

    /// Predicts one slice per coordinate value (models with one coordinate, e.g. time) and stacks them:
    /// the result's mean is `[values.len(), *shape]`.
    pub fn predict_coords(
        &self,
        params: &[f64],
        fidelity: FidelityValue,
        values: &[f64],
        template: &Request,
        progress: Option<&mut dyn FnMut(Progress) -> bool>,
    ) -> Result<Prediction> {
        let req = self.coords_request(params, fidelity, values, template)?;
        self.predict(&req, progress)
    }

    /// The request [`Model::predict_coords`] runs: one query per coordinate value, the other settings
    /// from `template` (to check it, e.g. with [`Request::validate`], before running it).
    pub fn coords_request(
        &self,
        params: &[f64],
        fidelity: FidelityValue,
        values: &[f64],
        template: &Request,
    ) -> Result<Request> {
        if self.contract().coords.len() != 1 {
            return Err(Error::invalid(format!(
                "a coordinate sweep needs a model with exactly one coordinate; this one has {}",
                self.contract().coords.len()
            )));
        }
        let queries = values
            .iter()
            .map(|&v| Query {
                params: params.to_vec(),
                fidelity,
                coords: vec![v],
            })
            .collect();
        Ok(Request {
            queries,
            ..template.clone()
        })
    }
}

/// How a run of samples is cut into batches: one block of rows per deep-ensemble member (a single network
/// is one block), each cut into network calls of at most `batch` rows.
struct Plan {
    blocks: Vec<Block>,
    /// Members (1 for a single network).
    members: usize,
    /// Rows per network call at most.
    batch: usize,
    /// Network evaluations in all, for progress.
    total: usize,
}

/// The rows of one member: for every query, the samples of the run's range that the member draws
/// (first, first + K, ...), `per_query` of them; row `offset + i·per_query + j` is query i's j-th.
#[derive(Clone, Copy)]
struct Block {
    first: usize,
    per_query: usize,
    offset: usize,
    rows: usize,
}

impl Plan {
    fn new(req: &Request, samples: &Range<usize>, members: usize) -> Result<Self> {
        // `validate` bounded every product below (buffer_bytes); checked anyway, no wrap is possible.
        let overflow =
            || Error::invalid("the request's sizes overflow: lower the sample or query count");
        let members = members.max(1);
        let mut blocks = Vec::with_capacity(members);
        let (mut offset, mut largest) = (0usize, 0usize);
        for m in 0..members {
            // The first sample of the range that member m draws, and how many it draws per query.
            let first = samples.start + (m + members - samples.start % members) % members;
            let per_query = samples.end.saturating_sub(first).div_ceil(members);
            let rows = req
                .queries
                .len()
                .checked_mul(per_query)
                .ok_or_else(overflow)?;
            if rows > 0 {
                blocks.push(Block {
                    first,
                    per_query,
                    offset,
                    rows,
                });
            }
            offset += rows;
            largest = largest.max(rows);
        }
        let batch = req.max_batch.min(largest).max(1);
        let calls: usize = blocks.iter().map(|b| b.rows.div_ceil(batch)).sum();
        let total = req
            .sampler
            .checked_nfe()
            .and_then(|nfe| nfe.checked_mul(calls))
            .ok_or_else(overflow)?;
        Ok(Plan {
            blocks,
            members,
            batch,
            total,
        })
    }

    /// Query, ensemble index and member of row `r` of the run.
    fn who(&self, r: usize) -> (usize, usize, usize) {
        let b = self.blocks.iter().rposition(|b| b.offset <= r).unwrap_or(0);
        let block = &self.blocks[b];
        let local = r - block.offset;
        let sample = block.first + (local % block.per_query) * self.members;
        (local / block.per_query, sample, sample % self.members)
    }
}

/// One run's fixed inputs and its running totals.
struct Runner<'r, 'p> {
    c: &'r Contract,
    req: &'r Request,
    plan: Plan,
    sigmas: Vec<f32>,
    deadline: Option<Deadline>,
    progress: Option<&'p mut dyn FnMut(Progress) -> bool>,
    stats: RunStats,
    /// The batch's noise streams, refilled for every batch (allocated once per run).
    streams: Vec<NoiseStream>,
    /// Threads the noise is drawn on (`Model::noise_threads`).
    noise_threads: usize,
}

impl Runner<'_, '_> {
    /// Integrates rows `first..first + x.len() / sample_len` into `x`, in physical units.
    fn batch(
        &mut self,
        net: &mut Network<'_>,
        buf: &mut Buffers,
        ws: &mut Workspace,
        first: usize,
        x: &mut [f32],
    ) -> Result<()> {
        let (c, req, n) = (self.c, self.req, self.c.sample_len());
        let rows = x.len() / n;
        let plan = &self.plan;
        buf.condition(req, rows, |r| plan.who(first + r).0);
        let member = plan.who(first).2;
        self.streams.clear();
        self.streams.extend((first..first + rows).map(|r| {
            let (query, sample, _) = plan.who(r);
            // Cannot wrap: `validate` checked the request's largest stream index.
            let global = req.first_query + query as u64;
            NoiseStream::new(req.seed, global * req.n_samples as u64 + sample as u64)
        }));
        let mut score = BatchScore {
            net,
            buf,
            c,
            rows,
            first,
            member,
            plan: &self.plan,
            deadline: self.deadline.as_ref(),
            network_time: &mut self.stats.network_time,
        };
        let (base, total) = (self.stats.network_calls, self.plan.total);
        let progress = &mut self.progress;
        let mut report = |nfe: usize| match progress.as_mut() {
            Some(p) => p(Progress {
                done: base + nfe,
                total,
            }),
            None => true,
        };
        let mut ctx = Ctx {
            score: &mut score,
            streams: &mut self.streams,
            noise_threads: self.noise_threads,
            progress: Some(&mut report),
            nfe: 0,
        };
        samplers::init_state(&mut ctx, x, c.sigma_max as f32);
        self.stats.network_calls += samplers::run(&req.sampler, &self.sigmas, &mut ctx, x, ws)?;
        to_physical(c, x);
        // Finite scores can still overflow float32 in the sampler's arithmetic or the unit conversion
        // (huge data_scale): a non-finite result is an error, never a success.
        if let Some(i) = first_non_finite(x) {
            let (query, sample, _) = self.plan.who(first + i / n);
            return Err(Error::inference(format!(
                "the prediction overflowed float32 ({}) for query {query}, sample {sample}: the model's \
                 outputs or its dgmf.data_scale/data_shift are too large for these inputs",
                x[i]
            )));
        }
        Ok(())
    }
}

/// The score of one batch as a sampler sees it: the network on the batch's conditioning at the sampler's
/// state, timed, checked for non-finite values, converted to a score.
struct BatchScore<'a, 'n> {
    net: &'a mut Network<'n>,
    buf: &'a mut Buffers,
    c: &'a Contract,
    rows: usize,
    first: usize,
    member: usize,
    plan: &'a Plan,
    deadline: Option<&'a Deadline>,
    network_time: &'a mut Duration,
}

impl ScoreFn for BatchScore<'_, '_> {
    fn score(&mut self, z: &[f32], sigma: f32, out: &mut [f32]) -> Result<()> {
        if let Some(d) = self.deadline.filter(|d| d.expired()) {
            return Err(d.error());
        }
        let t = Instant::now();
        let raw = self
            .buf
            .evaluate(self.net, self.rows, z, sigma, self.member, self.deadline)?;
        *self.network_time += t.elapsed();
        let n = self.c.sample_len();
        if let Some(i) = first_non_finite(raw) {
            let (query, sample, _) = self.plan.who(self.first + i / n);
            return Err(Error::inference(format!(
                "the network returned {} at noise level σ = {sigma} for query {query}, sample {sample} \
                 (value {} of that sample): the model is broken for these inputs, or they lie far outside \
                 its training range",
                raw[i],
                i % n
            )));
        }
        to_score(self.c.output, z, sigma, raw, out);
        Ok(())
    }
}
