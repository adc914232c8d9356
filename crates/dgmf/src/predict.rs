//! Predictions: queries × samples packed into network batches, integrated by a sampler, reduced to a
//! mean and a standard deviation per query in physical units.

use std::time::{Duration, Instant};

use ndarray::{ArrayD, ArrayView2, IxDyn};

use crate::contract::{Contract, Fidelity, OutputKind};
use crate::error::{Error, Result};
use crate::model::Model;
use crate::rng::NoiseStream;
use crate::runtime::{Deadline, Half};
use crate::samplers::{self, Ctx, SamplerConfig, Workspace};

/// The fidelity of a query: a level index for discrete models, a value for continuous ones.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum FidelityValue {
    Level(usize),
    Value(f64),
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
        // `validate` bounded every product below (buffer_bytes); checked anyway, no wrap is possible.
        let overflow =
            || Error::invalid("the request's sizes overflow: lower the sample or query count");
        let rows_total = req
            .queries
            .len()
            .checked_mul(req.n_samples)
            .ok_or_else(overflow)?;
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

        let mut stats = Moments::new(req.queries.len(), n)?;
        let mut samples = match req.keep_samples {
            true => Some(zeros::<f32>(rows_total * n)?),
            false => None,
        };
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
                buf.condition(c, req, first, rows);
                streams.clear();
                streams.extend((first..first + rows).map(|j| NoiseStream::new(req.seed, j as u64)));
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
                        let row = first + i / n;
                        return Err(Error::inference(format!(
                            "the network returned {} at noise level σ = {s} for query {}, sample {} (value {} \
                             of that sample): the model is broken for these inputs, or they lie far outside \
                             its training range",
                            raw[i],
                            row / req.n_samples,
                            row % req.n_samples,
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
                    let row = first + i / n;
                    return Err(Error::inference(format!(
                        "the prediction overflowed float32 ({}) for query {}, sample {}: the model's outputs or \
                         its dgmf.data_scale/data_shift are too large for these inputs",
                        x[i],
                        row / req.n_samples,
                        row % req.n_samples
                    )));
                }
                for (r, row) in x.chunks_exact(n).enumerate() {
                    stats.add((first + r) / req.n_samples, row);
                }
                if let Some(all) = samples.as_mut() {
                    all[first * n..(first + rows) * n].copy_from_slice(x);
                }
            }
            Ok(())
        })??;

        let (mean, std) = stats.finish(req.n_samples)?;
        // The buffers become arrays without a copy.
        let dims = |lead: &[usize]| IxDyn(&[lead, &c.shape[..]].concat());
        let array = |lead: &[usize], v: Vec<f32>| {
            ArrayD::from_shape_vec(dims(lead), v)
                .map_err(|e| Error::internal(format!("result buffer and shape disagree: {e}")))
        };
        let q = req.queries.len();
        Ok(Prediction {
            shape: c.shape.clone(),
            mean: array(&[q], mean)?,
            std: std.map(|s| array(&[q], s)).transpose()?,
            samples: samples.map(|s| array(&[q, req.n_samples], s)).transpose()?,
            nfe: req.sampler.nfe(),
            network_calls: done,
            wall: start.elapsed(),
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

/// Converts the network's raw output into a score.
fn to_score(kind: OutputKind, z: &[f32], sigma: f32, raw: &[f32], out: &mut [f32]) {
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
fn to_physical(c: &Contract, x: &mut [f32]) {
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

/// Per-query running mean and sum of squared deviations (Welford, f64), fed in sample order so the result
/// does not depend on batching.
struct Moments {
    n: usize,
    count: Vec<usize>,
    mean: Vec<f64>,
    m2: Vec<f64>,
}

impl Moments {
    fn new(queries: usize, n: usize) -> Result<Self> {
        let len = queries.checked_mul(n).ok_or_else(|| too_big(usize::MAX))?;
        Ok(Moments {
            n,
            count: zeros(queries)?,
            mean: zeros(len)?,
            m2: zeros(len)?,
        })
    }

    fn add(&mut self, query: usize, row: &[f32]) {
        self.count[query] += 1;
        let k = self.count[query] as f64;
        let range = query * self.n..(query + 1) * self.n;
        for ((m, m2), &v) in self.mean[range.clone()]
            .iter_mut()
            .zip(&mut self.m2[range])
            .zip(row)
        {
            let d = v as f64 - *m;
            *m += d / k;
            *m2 += d * (v as f64 - *m);
        }
    }

    fn finish(self, samples: usize) -> Result<(Vec<f32>, Option<Vec<f32>>)> {
        let mut mean = Vec::new();
        mean.try_reserve_exact(self.mean.len())
            .map_err(|_| too_big(self.mean.len() * 4))?;
        mean.extend(self.mean.iter().map(|&m| m as f32));
        let std = if samples > 1 {
            let mut std = Vec::new();
            std.try_reserve_exact(self.m2.len())
                .map_err(|_| too_big(self.m2.len() * 4))?;
            let denom = (samples - 1) as f64;
            std.extend(self.m2.iter().map(|&m2| (m2 / denom).sqrt() as f32));
            Some(std)
        } else {
            None
        };
        Ok((mean, std))
    }
}

/// Network inputs for one batch, sized once for the largest batch.
struct Buffers {
    x: Vec<f32>,
    sigma: Vec<f32>,
    params: Vec<f32>,
    fidelity: Vec<f32>,
    coords: Vec<f32>,
    raw: Vec<f32>,
    half: Half,
}

impl Buffers {
    fn new(c: &Contract, rows: usize) -> Result<Self> {
        let len = |width: usize| rows.checked_mul(width).ok_or_else(|| too_big(usize::MAX));
        Ok(Buffers {
            x: zeros(len(c.sample_len())?)?,
            sigma: zeros(rows)?,
            params: zeros(len(c.params.len())?)?,
            fidelity: zeros(len(c.fidelity.width())?)?,
            coords: zeros(len(c.coords.len())?)?,
            raw: zeros(len(c.sample_len())?)?,
            half: Half::default(),
        })
    }

    /// Fills the conditioning inputs of rows `first..first + rows` (row j is sample j % S of query j / S).
    fn condition(&mut self, c: &Contract, req: &Request, first: usize, rows: usize) {
        let (p, w, q) = (c.params.len(), c.fidelity.width(), c.coords.len());
        for r in 0..rows {
            let query = &req.queries[(first + r) / req.n_samples];
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

/// Bytes the buffers of `req` will take (network batch buffers, sampler workspace, statistics, outputs),
/// or `None` on overflow.
fn buffer_bytes(c: &Contract, req: &Request) -> Option<usize> {
    let n = c.sample_len();
    let rows = req.queries.len().checked_mul(req.n_samples)?;
    let batch = req.max_batch.min(rows);
    let cond = c
        .params
        .len()
        .checked_add(c.fidelity.width())?
        .checked_add(c.coords.len())?
        .checked_add(1)?;
    // x, raw output, 4 workspace buffers and f16 copies (counted as one more f32 buffer) per batch row.
    let per_row = n
        .checked_mul(7)?
        .checked_add(cond)?
        .checked_mul(4)?
        .checked_add(std::mem::size_of::<NoiseStream>())?;
    let batch_bytes = batch.checked_mul(per_row)?;
    // Per query: f64 mean and M2, then f32 mean and std.
    let stats = req
        .queries
        .len()
        .checked_mul(n)?
        .checked_mul(8 + 8 + 4 + 4)?;
    let samples = if req.keep_samples {
        rows.checked_mul(n)?.checked_mul(4)?
    } else {
        0
    };
    // The noise schedule (f32 levels) and the per-query sample counts.
    let schedule = req.sampler.steps.checked_mul(4)?;
    let counts = req
        .queries
        .len()
        .checked_mul(std::mem::size_of::<usize>())?;
    batch_bytes
        .checked_add(stats)?
        .checked_add(samples)?
        .checked_add(schedule)?
        .checked_add(counts)
}

/// Bytes of physical memory, if the system says.
fn physical_memory() -> Option<usize> {
    // SAFETY: sysconf has no preconditions.
    let (pages, size) = unsafe {
        (
            libc::sysconf(libc::_SC_PHYS_PAGES),
            libc::sysconf(libc::_SC_PAGESIZE),
        )
    };
    (pages > 0 && size > 0).then(|| (pages as usize).saturating_mul(size as usize))
}

/// A zeroed buffer, or an error when the allocator refuses (a memory limit set above what the machine can
/// give must not abort the host process).
fn zeros<T: Clone + Default>(len: usize) -> Result<Vec<T>> {
    let mut v = Vec::new();
    v.try_reserve_exact(len)
        .map_err(|_| too_big(len.saturating_mul(std::mem::size_of::<T>())))?;
    v.resize(len, T::default());
    Ok(v)
}

fn too_big(bytes: usize) -> Error {
    Error::invalid(format!(
        "cannot allocate {:.2} GiB for the prediction's buffers: the machine refused the memory; lower the \
         sample count, max_batch or the number of queries (the memory limit is above what is available)",
        bytes as f64 / (1u64 << 30) as f64
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

impl Request {
    /// Checks the settings alone — sampler, ensemble, batch, time limit — without queries or a model: what
    /// the C API's setters and `validate` share, so each rule lives here once.
    pub fn validate_settings(&self) -> Result<()> {
        validate_settings(self)
    }
}

fn validate_settings(req: &Request) -> Result<()> {
    if req.n_samples == 0 {
        return Err(Error::invalid(
            "n_samples = 0; ask for at least one sample per query",
        ));
    }
    if req.max_batch == 0 {
        return Err(Error::invalid(
            "max_batch = 0; a network call needs at least one row",
        ));
    }
    req.sampler.validate()?;
    if req.time_limit.is_some_and(|t| t.is_zero()) {
        return Err(Error::invalid(
            "time_limit = 0; give a positive limit, or None for no limit",
        ));
    }
    Ok(())
}

fn validate(c: &Contract, req: &Request) -> Result<()> {
    if req.queries.is_empty() {
        return Err(Error::invalid("the request has no queries"));
    }
    validate_settings(req)?;
    let gib = |b: usize| b as f64 / (1u64 << 30) as f64;
    match buffer_bytes(c, req) {
        Some(b) if b <= req.memory_limit => {}
        need => {
            return Err(Error::invalid(format!(
                "the request ({} queries × {} samples{}, batches of {} rows, {} values per sample) needs {} of \
                 buffers, above the memory limit of {:.2} GiB: lower the sample count or max_batch, or raise \
                 the limit (Request::memory_limit, dgmf_config_set_memory_limit, --memory-limit)",
                req.queries.len(),
                req.n_samples,
                if req.keep_samples { ", all samples kept" } else { "" },
                req.max_batch,
                c.sample_len(),
                need.map_or("more bytes than the address space".into(), |b| format!("{:.2} GiB", gib(b))),
                gib(req.memory_limit)
            )))
        }
    }
    // With overcommit, an allocation far above the machine's memory may "succeed" and the process is
    // killed when it touches it: refuse what cannot fit in physical memory before allocating.
    if let (Some(need), Some(phys)) = (buffer_bytes(c, req), physical_memory()) {
        if need > phys {
            return Err(Error::invalid(format!(
                "the request needs {:.2} GiB of buffers but this machine has {:.2} GiB of memory: lower the \
                 sample count or max_batch, or predict fewer queries per call",
                gib(need),
                gib(phys)
            )));
        }
    }
    let hint = "; allow extrapolation (CLI --extrapolate, C dgmf_config_set_extrapolation) to predict outside the training range anyway";
    let check = |what: String, v: f64, min: f64, max: f64| -> Result<()> {
        if !v.is_finite() {
            return Err(Error::invalid(format!(
                "{what} = {v} is not a finite number"
            )));
        }
        // The network takes float32: even when extrapolating, a value must survive the conversion.
        if v.abs() > f32::MAX as f64 {
            return Err(Error::invalid(format!(
                "{what} = {v} is beyond the float32 range (±3.4e38) the network takes"
            )));
        }
        if !req.allow_extrapolation && !(min..=max).contains(&v) {
            return Err(Error::invalid(format!(
                "{what} = {v} is outside the model's range [{min}, {max}]{hint}"
            )));
        }
        Ok(())
    };
    for (i, q) in req.queries.iter().enumerate() {
        let at = if req.queries.len() > 1 {
            format!("query {i}: ")
        } else {
            String::new()
        };
        if q.params.len() != c.params.len() {
            let names: Vec<&str> = c.params.iter().map(|p| p.name.as_str()).collect();
            return Err(Error::invalid(format!(
                "{at}{} parameters given, but the model takes {} ({})",
                q.params.len(),
                c.params.len(),
                names.join(", ")
            )));
        }
        for (v, p) in q.params.iter().zip(&c.params) {
            check(format!("{at}parameter `{}`", p.name), *v, p.min, p.max)?;
        }
        match (&c.fidelity, q.fidelity) {
            (Fidelity::Discrete { levels, labels }, FidelityValue::Level(l)) => {
                if l >= *levels {
                    let names = labels.as_ref().map(|l| format!(": {}", l.join(", "))).unwrap_or_default();
                    return Err(Error::invalid(format!(
                        "{at}fidelity level {l} is out of range: the model has {levels} levels (0..={}{names})",
                        levels - 1
                    )));
                }
            }
            (Fidelity::Continuous { lo, hi }, FidelityValue::Value(v)) => check(format!("{at}fidelity"), v, *lo, *hi)?,
            (Fidelity::Discrete { levels, .. }, FidelityValue::Value(v)) => {
                return Err(Error::invalid(format!(
                    "{at}fidelity {v} is a continuous value, but the model has {levels} discrete levels: give a level index"
                )))
            }
            (Fidelity::Continuous { lo, hi }, FidelityValue::Level(l)) => {
                return Err(Error::invalid(format!(
                    "{at}fidelity level {l} given, but the model takes a continuous fidelity value in [{lo}, {hi}]"
                )))
            }
        }
        if q.coords.len() != c.coords.len() {
            return Err(Error::invalid(format!(
                "{at}{} coordinates given, but the model takes {}",
                q.coords.len(),
                c.coords.len()
            )));
        }
        for (v, k) in q.coords.iter().zip(&c.coords) {
            check(format!("{at}coordinate `{}`", k.name), *v, k.min, k.max)?;
        }
    }
    Ok(())
}
