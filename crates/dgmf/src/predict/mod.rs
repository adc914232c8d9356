//! Predictions: queries × samples packed into network batches, integrated by a sampler, reduced to a
//! mean and a standard deviation per query in physical units.

mod buffers;
mod moments;
mod validate;

pub use buffers::first_non_finite;
use buffers::{to_physical, to_score, zeros, Buffers};
pub use moments::EnsembleMoments;
pub use validate::query_bytes;
use validate::{check_fidelity_kind, validate};

use std::ops::Range;
use std::time::{Duration, Instant};

use ndarray::{ArrayD, ArrayView2, IxDyn};

use crate::contract::Contract;
use crate::error::{Error, Result};
use crate::model::Model;
use crate::rng::NoiseStream;
use crate::runtime::Deadline;
use crate::samplers::{self, Ctx, SamplerConfig, Workspace};

/// The fidelity of a query: a level index for discrete models, a value for continuous ones.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum FidelityValue {
    Level(usize),
    Value(f64),
}

impl FidelityValue {
    /// The discrete level, or `None` for a continuous value (what [`Contract::std_scale_for`] takes).
    pub fn level(&self) -> Option<usize> {
        match self {
            FidelityValue::Level(l) => Some(*l),
            FidelityValue::Value(_) => None,
        }
    }
}

/// One point of the PDE parameter space to predict.
#[derive(Debug, Clone, PartialEq)]
pub struct Query {
    /// P parameters in physical units.
    pub params: Vec<f64>,
    pub fidelity: FidelityValue,
    /// Q coordinates (empty for models without coords).
    pub coords: Vec<f64>,
}

/// A prediction request. `Request::new` gives the defaults.
#[derive(Debug, Clone, PartialEq)]
pub struct Request {
    pub queries: Vec<Query>,
    /// Samples per query (the ensemble size).
    pub n_samples: usize,
    pub sampler: SamplerConfig,
    pub seed: u64,
    /// Index of the first query in a larger numbering: query i of this request draws the noise of query
    /// `first_query + i`, streams (seed, (first_query + i)·n_samples + j). A sweep split across calls or
    /// MPI ranks sets it to each part's global offset, so every query gets the same samples as in one call.
    pub first_query: u64,
    /// Most rows (query × sample pairs) per network call.
    pub max_batch: usize,
    /// Accept parameters, fidelity values and coordinates outside the model's declared ranges.
    pub allow_extrapolation: bool,
    /// Return every sample, not only mean and std.
    pub keep_samples: bool,
    /// Most bytes the request's buffers may take; a request above it is refused before anything is
    /// allocated (it guards a host process against absurd sample counts or batch sizes).
    pub memory_limit: usize,
    /// Stop the prediction with `Cancelled` once it has run this long — also in the middle of a network
    /// evaluation, through ONNX Runtime's terminate flag (a model that never finishes cannot hold the
    /// caller). `None`: no limit.
    pub time_limit: Option<Duration>,
}

/// Shortest and longest time limit, in seconds: a nanosecond (the clock's resolution) and a thousand
/// years (anything longer is "no limit", which is spelled as none).
pub const TIME_LIMIT_RANGE: (f64, f64) = (1e-9, 3.15e10);

/// A time limit given in seconds (the C API and the CLI take it so), within [`TIME_LIMIT_RANGE`].
pub fn time_limit(seconds: f64) -> Result<Duration> {
    let (lo, hi) = TIME_LIMIT_RANGE;
    if !(lo..=hi).contains(&seconds) {
        // `{:e}`: a 1e300 or a denormal prints in a few characters, not hundreds of digits.
        return Err(Error::invalid(format!(
            "time limit {seconds:e} s is outside {lo:e} ..= {hi:e} s (a nanosecond to a thousand years): \
             give a number of seconds in that range"
        )));
    }
    Ok(Duration::from_secs_f64(seconds))
}

/// Default rows per network call.
pub const DEFAULT_MAX_BATCH: usize = 64;
/// Default bound on a request's buffers: 4 GiB.
pub const DEFAULT_MEMORY_LIMIT: usize = 4 << 30;

impl Request {
    pub fn new(queries: Vec<Query>, sampler: SamplerConfig) -> Self {
        Request {
            queries,
            n_samples: 1,
            sampler,
            seed: 0,
            first_query: 0,
            max_batch: DEFAULT_MAX_BATCH,
            allow_extrapolation: false,
            keep_samples: false,
            memory_limit: DEFAULT_MEMORY_LIMIT,
            time_limit: None,
        }
    }
}

impl Query {
    /// One query per row of `params` (`[n, P]`), with its row of `coords` (`[n, Q]`, `None` for models
    /// without coordinates) and `fidelity` (one value for every row, or one per row).
    pub fn rows(
        params: ArrayView2<f64>,
        fidelity: &[FidelityValue],
        coords: Option<ArrayView2<f64>>,
    ) -> Result<Vec<Query>> {
        let n = params.nrows();
        if fidelity.len() != 1 && fidelity.len() != n {
            return Err(Error::invalid(format!(
                "{} fidelity values for {n} parameter rows: give one, or one per row",
                fidelity.len()
            )));
        }
        if let Some(c) = coords.filter(|c| c.nrows() != n) {
            return Err(Error::invalid(format!(
                "{} coordinate rows for {n} parameter rows: give one per row",
                c.nrows()
            )));
        }
        Ok((0..n)
            .map(|i| Query {
                params: params.row(i).to_vec(),
                fidelity: fidelity[if fidelity.len() == 1 { 0 } else { i }],
                coords: coords.map_or_else(Vec::new, |c| c.row(i).to_vec()),
            })
            .collect())
    }
}

impl Request {
    /// A request for the rows of `params` (see [`Query::rows`]) with the default settings.
    pub fn from_arrays(
        params: ArrayView2<f64>,
        fidelity: &[FidelityValue],
        coords: Option<ArrayView2<f64>>,
        sampler: SamplerConfig,
    ) -> Result<Request> {
        Ok(Request::new(
            Query::rows(params, fidelity, coords)?,
            sampler,
        ))
    }

    /// Checks the request against a model's contract without running anything (what `predict` does first).
    pub fn validate(&self, contract: &Contract) -> Result<()> {
        validate(contract, self)
    }
}

/// Where a run stands, for progress reporting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Progress {
    /// Network evaluations done (over all batches).
    pub done: usize,
    pub total: usize,
}

/// The result of a request, in physical units (data_shift + data_scale·z).
#[derive(Debug, Clone, PartialEq)]
pub struct Prediction {
    /// Per-sample dims.
    pub shape: Vec<usize>,
    /// `[n_queries, *shape]` (standard layout: `mean.as_slice()` is the row-major buffer).
    pub mean: ArrayD<f32>,
    /// `[n_queries, *shape]`: the sample standard deviation (n − 1 denominator); `None` for one sample.
    pub std: Option<ArrayD<f32>>,
    /// `[n_queries, n_samples, *shape]` when `keep_samples` was set.
    pub samples: Option<ArrayD<f32>>,
    /// Network evaluations per sample trajectory (the sampler's NFE).
    pub nfe: usize,
    /// Network calls made (NFE × batches).
    pub network_calls: usize,
    pub wall: Duration,
    /// Time spent inside ONNX Runtime.
    pub network_time: Duration,
}

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
        let run = self.run_samples(req, 0..req.n_samples, progress, |row, query, x| {
            stats.add(query, x);
            if let Some(all) = samples.as_mut() {
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
        self.run_samples(req, samples, progress, |_, query, x| stats.add(query, x))?;
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

    /// Integrates samples `samples` of every query (row r of the run is query r / k, sample
    /// samples.start + r % k, k = samples.len(); its noise stream is (seed, (first_query + query)·n_samples + sample)) and
    /// hands each finished sample, in physical units, to `sink(row, query, values)` in row order.
    fn run_samples(
        &self,
        req: &Request,
        samples: Range<usize>,
        progress: Option<&mut dyn FnMut(Progress) -> bool>,
        mut sink: impl FnMut(usize, usize, &[f32]),
    ) -> Result<RunStats> {
        let c = self.contract();
        let n = c.sample_len();
        let k = samples.len();
        // `validate` bounded every product below (buffer_bytes); checked anyway, no wrap is possible.
        let overflow =
            || Error::invalid("the request's sizes overflow: lower the sample or query count");
        let rows_total = req.queries.len().checked_mul(k).ok_or_else(overflow)?;
        let batch = req.max_batch.min(rows_total);
        let n_batches = rows_total.div_ceil(batch);
        let total = req
            .sampler
            .checked_nfe()
            .and_then(|nfe| nfe.checked_mul(n_batches))
            .ok_or_else(overflow)?;
        let sigmas = req
            .sampler
            .schedule
            .sigmas(req.sampler.steps, c.sigma_min, c.sigma_max);
        // Query and ensemble index of row r of this run.
        let who = |r: usize| (r / k, samples.start + r % k);
        let mut network_time = Duration::ZERO;
        let mut done = 0usize;
        let mut progress = progress;

        let deadline = req.time_limit.map(Deadline::start).transpose()?;
        self.with_network(|mut net| -> Result<()> {
            // Buffers for the largest batch, allocated once per request.
            let mut buf = Buffers::new(c, batch)?;
            let mut ws = Workspace::try_new(batch * n)?;
            let mut streams = Vec::with_capacity(batch);
            for first in (0..rows_total).step_by(batch) {
                let rows = batch.min(rows_total - first);
                buf.condition(c, req, first, rows, k);
                streams.clear();
                streams.extend((first..first + rows).map(|r| {
                    let (query, sample) = who(r);
                    // Cannot wrap: `validate` checked the request's largest stream index.
                    let global = req.first_query + query as u64;
                    NoiseStream::new(req.seed, global * req.n_samples as u64 + sample as u64)
                }));
                let Buffers {
                    x,
                    sigma,
                    params,
                    fidelity,
                    coords,
                    raw,
                    half,
                } = &mut buf;
                let x = &mut x[..rows * n];
                let (p, w, q) = (c.params.len(), c.fidelity.width(), c.coords.len());
                let mut score = |z: &[f32], s: f32, out: &mut [f32]| -> Result<()> {
                    let sig = &mut sigma[..rows];
                    sig.fill(s);
                    if let Some(d) = deadline.as_ref().filter(|d| d.expired()) {
                        return Err(d.error());
                    }
                    let t = Instant::now();
                    let cond = (q > 0).then(|| (&coords[..rows * q], q));
                    let raw = &mut raw[..rows * n];
                    net.run(
                        rows,
                        z,
                        sig,
                        (&params[..rows * p], p),
                        (&fidelity[..rows * w], w),
                        cond,
                        half,
                        deadline.as_ref(),
                        raw,
                    )?;
                    network_time += t.elapsed();
                    if let Some(i) = first_non_finite(raw) {
                        let (query, sample) = who(first + i / n);
                        return Err(Error::inference(format!(
                            "the network returned {} at noise level σ = {s} for query {query}, sample {sample} \
                             (value {} of that sample): the model is broken for these inputs, or they lie far \
                             outside its training range",
                            raw[i],
                            i % n
                        )));
                    }
                    to_score(c.output, z, s, raw, out);
                    Ok(())
                };
                let base = done;
                let mut report = |nfe: usize| match progress.as_mut() {
                    Some(p) => p(Progress {
                        done: base + nfe,
                        total,
                    }),
                    None => true,
                };
                let mut ctx = Ctx {
                    score: &mut score,
                    streams: &mut streams,
                    progress: Some(&mut report),
                    nfe: 0,
                };
                samplers::init_state(&mut ctx, x, c.sigma_max as f32);
                done += samplers::run(&req.sampler, &sigmas, &mut ctx, x, &mut ws)?;
                to_physical(c, x);
                // Finite scores can still overflow float32 in the sampler's arithmetic or the unit
                // conversion (huge data_scale): a non-finite result is an error, never a success.
                if let Some(i) = first_non_finite(x) {
                    let (query, sample) = who(first + i / n);
                    return Err(Error::inference(format!(
                        "the prediction overflowed float32 ({}) for query {query}, sample {sample}: the model's \
                         outputs or its dgmf.data_scale/data_shift are too large for these inputs",
                        x[i]
                    )));
                }
                for (r, row) in x.chunks_exact(n).enumerate() {
                    sink(first + r, who(first + r).0, row);
                }
            }
            Ok(())
        })??;
        Ok(RunStats {
            network_calls: done,
            network_time,
        })
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
        self.predict(
            &Request {
                queries,
                ..template.clone()
            },
            progress,
        )
    }
}
