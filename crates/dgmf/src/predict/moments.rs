//! Ensemble statistics that merge: per query the sample count and, per output element, the mean and the
//! sum of squared deviations M2, in f64. A run accumulates them sample by sample (Welford); two parts of an
//! ensemble (another range of samples, another process) combine by Chan, Golub and LeVeque's pairwise
//! formula. Mean and std are derived at the end.

use crate::error::{Error, ErrorKind, Result};

use super::buffers::{too_big, zeros};

/// Sufficient statistics of an ensemble, per query: `count` samples, and per element their `mean` and
/// `m2` = Σ (x − mean)². Layout: query-major, `[queries, *shape]` for `mean` and `m2`.
#[derive(Debug, Clone, PartialEq)]
pub struct EnsembleMoments {
    shape: Vec<usize>,
    sample_len: usize,
    count: Vec<u64>,
    mean: Vec<f64>,
    m2: Vec<f64>,
}

impl EnsembleMoments {
    /// Empty statistics (count 0) for `queries` queries of per-sample dims `shape`.
    pub fn new(queries: usize, shape: &[usize]) -> Result<Self> {
        let sample_len = shape
            .iter()
            .try_fold(1usize, |a, &d| a.checked_mul(d))
            .ok_or_else(|| too_big(usize::MAX))?;
        let len = queries
            .checked_mul(sample_len)
            .ok_or_else(|| too_big(usize::MAX))?;
        Ok(EnsembleMoments {
            shape: shape.to_vec(),
            sample_len,
            count: zeros(queries)?,
            mean: zeros(len)?,
            m2: zeros(len)?,
        })
    }

    /// Statistics from their parts (e.g. received from another process): `counts` per query, `mean` and
    /// `m2` with `counts.len() × Π shape` values each; every value finite, every `m2` ≥ 0, and a query
    /// with count 0 all zero.
    pub fn from_parts(
        shape: &[usize],
        counts: Vec<u64>,
        mean: Vec<f64>,
        m2: Vec<f64>,
    ) -> Result<Self> {
        let mut m = EnsembleMoments::new(0, shape)?;
        let len = counts.len().checked_mul(m.sample_len);
        if len != Some(mean.len()) || len != Some(m2.len()) {
            return Err(Error::invalid(format!(
                "moments of {} queries of {} values need {} means and M2 values; got {} and {}",
                counts.len(),
                m.sample_len,
                len.map_or_else(|| "too many".to_string(), |l| l.to_string()),
                mean.len(),
                m2.len()
            )));
        }
        for (q, &c) in counts.iter().enumerate() {
            let range = q * m.sample_len..(q + 1) * m.sample_len;
            check_record(q, c, &mean[range.clone()], &m2[range])?;
        }
        m.count = counts;
        m.mean = mean;
        m.m2 = m2;
        Ok(m)
    }

    /// Adds one sample of query `query` (Welford's update).
    pub(super) fn add(&mut self, query: usize, row: &[f32]) {
        self.count[query] += 1;
        let k = self.count[query] as f64;
        let range = query * self.sample_len..(query + 1) * self.sample_len;
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

    /// Folds `other` (other samples of the same queries) into these statistics (Chan, Golub and LeVeque:
    /// n = a + b, δ = mean_b − mean_a, mean = mean_a + δ·b/n, M2 = M2_a + M2_b + δ²·a·b/n). Merging in a
    /// fixed order gives the same bits every run.
    pub fn merge(&mut self, other: &EnsembleMoments) -> Result<()> {
        if other.shape != self.shape || other.count.len() != self.count.len() {
            return Err(Error::invalid(format!(
                "cannot merge moments of {} queries of shape {:?} into moments of {} queries of shape {:?}",
                other.count.len(),
                other.shape,
                self.count.len(),
                self.shape
            )));
        }
        for (q, (&b, a)) in other.count.iter().zip(self.count.iter_mut()).enumerate() {
            if b == 0 {
                continue;
            }
            let n = a.checked_add(b).ok_or_else(|| {
                Error::invalid(format!(
                    "merging moments overflows the sample count of query {q}"
                ))
            })?;
            let range = q * self.sample_len..(q + 1) * self.sample_len;
            chan_merge(
                (*a as f64, b as f64),
                (&mut self.mean[range.clone()], &mut self.m2[range.clone()]),
                (&other.mean[range.clone()], &other.m2[range]),
            );
            *a = n;
        }
        Ok(())
    }

    pub fn queries(&self) -> usize {
        self.count.len()
    }
    /// Per-sample dims.
    pub fn shape(&self) -> &[usize] {
        &self.shape
    }
    /// Samples seen per query.
    pub fn counts(&self) -> &[u64] {
        &self.count
    }
    /// `[queries, *shape]`, row-major.
    pub fn mean(&self) -> &[f64] {
        &self.mean
    }
    /// Σ (x − mean)² per element, `[queries, *shape]`.
    pub fn m2(&self) -> &[f64] {
        &self.m2
    }

    /// f64 values of the packed layout ([`EnsembleMoments::pack`]) for `queries` queries of `sample_len`
    /// values each: `queries × (1 + 2·sample_len)`; `None` if that overflows.
    pub fn packed_len(queries: usize, sample_len: usize) -> Option<usize> {
        sample_len
            .checked_mul(2)?
            .checked_add(1)?
            .checked_mul(queries)
    }

    /// Writes the statistics as one f64 record per query, `[count, mean[sample_len], m2[sample_len]]`, so
    /// they travel in a single message (MPI: a contiguous datatype of one record, reduced by a user op
    /// calling [`EnsembleMoments::merge_packed`]). Counts up to 2⁵³ are exact in an f64.
    pub fn pack(&self, out: &mut [f64]) -> Result<()> {
        let need = Self::packed_len(self.queries(), self.sample_len).unwrap_or(usize::MAX);
        if out.len() < need {
            return Err(Error::new(ErrorKind::BufferTooSmall, format!(
                "packed moments of {} queries of {} values need {need} doubles; the buffer holds {}",
                self.queries(),
                self.sample_len,
                out.len()
            )));
        }
        let n = self.sample_len;
        for (q, rec) in out[..need].chunks_exact_mut(2 * n + 1).enumerate() {
            rec[0] = exact_count(self.count[q], q)?;
            rec[1..=n].copy_from_slice(&self.mean[q * n..(q + 1) * n]);
            rec[n + 1..].copy_from_slice(&self.m2[q * n..(q + 1) * n]);
        }
        Ok(())
    }

    /// Statistics of `queries` queries of per-sample dims `shape` from their packed layout (exactly
    /// `packed_len` values), checked as [`EnsembleMoments::from_parts`] checks its parts.
    pub fn unpack(shape: &[usize], queries: usize, packed: &[f64]) -> Result<Self> {
        let n = EnsembleMoments::new(0, shape)?.sample_len;
        check_packed(packed.len(), queries, n)?;
        let mut counts = Vec::with_capacity(queries);
        let (mut mean, mut m2) = (Vec::new(), Vec::new());
        mean.try_reserve_exact(queries * n)
            .map_err(|_| too_big(queries * n * 8))?;
        m2.try_reserve_exact(queries * n)
            .map_err(|_| too_big(queries * n * 8))?;
        for (q, rec) in packed.chunks_exact(2 * n + 1).enumerate() {
            counts.push(packed_count(rec[0], q)?);
            mean.extend_from_slice(&rec[1..=n]);
            m2.extend_from_slice(&rec[n + 1..]);
        }
        EnsembleMoments::from_parts(shape, counts, mean, m2)
    }

    /// [`EnsembleMoments::merge`] on packed records: folds `input` into `inout` (both `queries` records of
    /// `sample_len` values), with the same arithmetic, so a reduction over packed buffers gives the same
    /// bits as merging the objects in the same order. Every record of both buffers is checked as
    /// [`EnsembleMoments::from_parts`] checks its parts before anything is merged: on an error `inout` is
    /// unchanged.
    pub fn merge_packed(
        input: &[f64],
        inout: &mut [f64],
        queries: usize,
        sample_len: usize,
    ) -> Result<()> {
        check_packed(input.len(), queries, sample_len)?;
        check_packed(inout.len(), queries, sample_len)?;
        let n = sample_len;
        for (which, buf) in [("in", input), ("inout", &*inout)] {
            for (q, rec) in buf.chunks_exact(2 * n + 1).enumerate() {
                let count = packed_count(rec[0], q)?;
                check_record(q, count, &rec[1..=n], &rec[n + 1..])
                    .map_err(|e| Error::invalid(format!("`{which}`: {}", e.message())))?;
            }
        }
        for (q, (a, b)) in inout
            .chunks_exact_mut(2 * n + 1)
            .zip(input.chunks_exact(2 * n + 1))
            .enumerate()
        {
            let (ca, cb) = (packed_count(a[0], q)?, packed_count(b[0], q)?);
            if cb == 0 {
                continue;
            }
            let total = exact_count(ca.saturating_add(cb), q)?;
            let (a_count, a_rest) = a.split_at_mut(1);
            let (a_mean, a_m2) = a_rest.split_at_mut(n);
            chan_merge(
                (ca as f64, cb as f64),
                (a_mean, a_m2),
                (&b[1..=n], &b[n + 1..]),
            );
            a_count[0] = total;
        }
        Ok(())
    }

    /// Mean and, when every query has 2 or more samples, std (n − 1 denominator), as f32; query i's std is
    /// multiplied by `std_scale(i)` (the model's calibration, `dgmf.std_scale`).
    pub fn finish(&self, std_scale: impl Fn(usize) -> f32) -> Result<(Vec<f32>, Option<Vec<f32>>)> {
        if let Some(q) = self.count.iter().position(|&c| c == 0) {
            return Err(Error::invalid(format!(
                "query {q} has no samples: merge the moments of every part before finishing"
            )));
        }
        let mut mean = Vec::new();
        mean.try_reserve_exact(self.mean.len())
            .map_err(|_| too_big(self.mean.len() * 4))?;
        mean.extend(self.mean.iter().map(|&m| m as f32));
        let std = if self.count.iter().all(|&c| c > 1) {
            let mut std = Vec::new();
            std.try_reserve_exact(self.m2.len())
                .map_err(|_| too_big(self.m2.len() * 4))?;
            for (i, m2) in self.m2.chunks(self.sample_len.max(1)).enumerate() {
                let denom = (self.count[i] - 1) as f64;
                let k = std_scale(i) as f64;
                std.extend(m2.iter().map(|&m2| (k * (m2 / denom).sqrt()) as f32));
            }
            Some(std)
        } else {
            None
        };
        // A calibration scale (dgmf.std_scale) or merged values can overflow float32: a non-finite result
        // is an error, never a success.
        let n = self.sample_len.max(1);
        for (what, v) in [("mean", Some(&mean)), ("std", std.as_ref())] {
            if let Some(i) = v.and_then(|v| super::first_non_finite(v)) {
                let cause = match what {
                    "std" => format!(
                        "the samples' spread times the model's dgmf.std_scale ({}) overflows: the calibration \
                         scale or the model's outputs are too large",
                        std_scale(i / n)
                    ),
                    _ => "the merged mean overflows: the moments hold values no float32 sample can have".into(),
                };
                return Err(Error::inference(format!(
                    "the ensemble {what} of query {}, value {} is {} in float32: {cause}",
                    i / n,
                    i % n,
                    v.unwrap()[i],
                )));
            }
        }
        Ok((mean, std))
    }
}

/// Largest magnitude of a mean of float32 samples.
const MAX_MEAN: f64 = f32::MAX as f64;

/// Checks one query's record: means of float32 samples (finite, |mean| ≤ f32::MAX), M2 finite, ≥ 0 and at
/// most what `count` float32 samples can give (count·(2·f32::MAX)²), all zero at count 0. Within these
/// bounds every merge stays finite in f64, so a record that passes cannot overflow later.
fn check_record(q: usize, count: u64, mean: &[f64], m2: &[f64]) -> Result<()> {
    if let Some(i) = mean.iter().position(|v| v.is_nan() || v.abs() > MAX_MEAN) {
        return Err(Error::invalid(format!(
            "moments: the mean of query {q}, element {i} is {:e}; a mean of float32 samples is finite and \
             at most {MAX_MEAN:e} in magnitude (is the buffer a packed record of this model?)",
            mean[i]
        )));
    }
    let most = count as f64 * (2.0 * MAX_MEAN) * (2.0 * MAX_MEAN);
    if let Some(i) = m2.iter().position(|v| v.is_nan() || *v < 0.0 || *v > most) {
        return Err(Error::invalid(format!(
            "moments: M2 of query {q}, element {i} is {:e}; it must be ≥ 0 and at most {most:e}, what {count} \
             float32 samples can give",
            m2[i]
        )));
    }
    if count == 0 && (mean.iter().any(|&v| v != 0.0) || m2.iter().any(|&v| v != 0.0)) {
        return Err(Error::invalid(format!(
            "moments: query {q} has count 0 but a nonzero mean or M2"
        )));
    }
    Ok(())
}

/// Chan, Golub and LeVeque's pairwise update of part a (count `ca`) by part b (count `cb` > 0), in place:
/// n = a + b, δ = mean_b − mean_a, mean = mean_a + δ·b/n, M2 = M2_a + M2_b + δ²·a·b/n. The one place this
/// arithmetic lives, so object and packed merges agree to the bit.
fn chan_merge(
    (ca, cb): (f64, f64),
    (mean_a, m2_a): (&mut [f64], &mut [f64]),
    (mean_b, m2_b): (&[f64], &[f64]),
) {
    let n = ca + cb;
    let (wb, wab) = (cb / n, ca * cb / n);
    for (((ma, m2a), &mb), &m2b) in mean_a.iter_mut().zip(m2_a).zip(mean_b).zip(m2_b) {
        let d = mb - *ma;
        *ma += d * wb;
        *m2a += m2b + d * d * wab;
    }
}

/// Largest count the packed layout holds exactly (f64 integers are exact to 2⁵³).
const MAX_PACKED_COUNT: u64 = 1 << 53;

fn exact_count(count: u64, query: usize) -> Result<f64> {
    if count > MAX_PACKED_COUNT {
        return Err(Error::invalid(format!(
            "query {query} has {count} samples, more than the 2^53 the packed layout holds exactly"
        )));
    }
    Ok(count as f64)
}

fn packed_count(v: f64, query: usize) -> Result<u64> {
    if !(v >= 0.0 && v <= MAX_PACKED_COUNT as f64 && v.fract() == 0.0) {
        return Err(Error::invalid(format!(
            "packed moments: the count of query {query} is {v}, not a whole number in 0..=2^53 \
             (is the buffer a packed record of this model's sample length?)"
        )));
    }
    Ok(v as u64)
}

fn check_packed(len: usize, queries: usize, sample_len: usize) -> Result<()> {
    let need = EnsembleMoments::packed_len(queries, sample_len);
    if need != Some(len) {
        return Err(Error::invalid(format!(
            "packed moments of {queries} queries of {sample_len} values are {} doubles \
             (queries × (1 + 2·sample_len)); got {len}",
            need.map_or_else(|| "too many".to_string(), |l| l.to_string())
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests;
