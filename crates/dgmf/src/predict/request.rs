//! What a prediction is asked and what it returns: queries, the request with its settings and limits,
//! progress, and the prediction.

use std::time::Duration;

use ndarray::{ArrayD, ArrayView2};

use super::validate::validate;
use crate::contract::Contract;
use crate::error::{Error, Result};
use crate::samplers::SamplerConfig;

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

impl Prediction {
    /// One number per query for "trust this answer, or run the solver": the RMS over the query's field of
    /// its std (calibrated when the model carries `dgmf.std_scale`), in the field's physical units. `None`
    /// without a std (one sample).
    pub fn std_rms(&self) -> Option<Vec<f64>> {
        let std = self.std.as_ref()?;
        let n = self.shape.iter().product();
        Some(field_rms(std.as_slice()?, n))
    }
}

/// The RMS of each consecutive field of `sample_len` values in `values` (a partial last field is left
/// out; `sample_len` 0 gives none).
pub fn field_rms(values: &[f32], sample_len: usize) -> Vec<f64> {
    if sample_len == 0 {
        return Vec::new();
    }
    values
        .chunks_exact(sample_len)
        .map(|f| {
            (f.iter().map(|&v| (v as f64) * (v as f64)).sum::<f64>() / sample_len as f64).sqrt()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn field_rms_is_per_field() {
        let v = [3.0f32, 4.0, 0.0, 0.0, 1.0];
        let r = super::field_rms(&v, 2);
        assert_eq!(r.len(), 2); // the partial last field is left out
        assert!((r[0] - (12.5f64).sqrt()).abs() < 1e-12 && r[1] == 0.0);
        assert!(super::field_rms(&v, 0).is_empty());
    }
}
