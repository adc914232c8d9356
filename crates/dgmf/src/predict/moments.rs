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
mod tests {
    use super::*;

    /// Two-pass mean and M2 of columns of `rows`, in f64.
    fn two_pass(rows: &[Vec<f32>]) -> (Vec<f64>, Vec<f64>) {
        let n = rows[0].len();
        let k = rows.len() as f64;
        let mean: Vec<f64> = (0..n)
            .map(|i| rows.iter().map(|r| r[i] as f64).sum::<f64>() / k)
            .collect();
        let m2 = (0..n)
            .map(|i| rows.iter().map(|r| (r[i] as f64 - mean[i]).powi(2)).sum())
            .collect();
        (mean, m2)
    }

    #[test]
    fn welford_and_pairwise_merges_agree_with_two_pass() {
        // Values with a large common offset: the case where naive sums of squares lose everything.
        let rows: Vec<Vec<f32>> = (0..37)
            .map(|j| {
                (0..5)
                    .map(|i| 1.0e4 + ((j * 7 + i * 3) % 11) as f32 * 0.25)
                    .collect()
            })
            .collect();
        let (mean, m2) = two_pass(&rows);
        for cut in [1, 5, 18, 36] {
            let mut a = EnsembleMoments::new(1, &[5]).unwrap();
            let mut b = EnsembleMoments::new(1, &[5]).unwrap();
            rows[..cut].iter().for_each(|r| a.add(0, r));
            rows[cut..].iter().for_each(|r| b.add(0, r));
            let mut ab = a.clone();
            ab.merge(&b).unwrap();
            b.merge(&a).unwrap();
            for m in [&ab, &b] {
                assert_eq!(m.counts(), &[37]);
                for i in 0..5 {
                    assert!(
                        (m.mean()[i] - mean[i]).abs() <= 1e-12 * mean[i].abs(),
                        "cut {cut}"
                    );
                    assert!(
                        (m.m2()[i] - m2[i]).abs() <= 1e-9 * m2[i],
                        "cut {cut}: {} vs {}",
                        m.m2()[i],
                        m2[i]
                    );
                }
            }
        }
    }

    #[test]
    fn merging_an_empty_part_changes_nothing_and_std_needs_two_samples() {
        let mut a = EnsembleMoments::new(2, &[3]).unwrap();
        a.add(0, &[1.0, 2.0, 3.0]);
        a.add(1, &[4.0, 5.0, 6.0]);
        let before = a.clone();
        a.merge(&EnsembleMoments::new(2, &[3]).unwrap()).unwrap();
        assert_eq!(a, before);
        let (mean, std) = a.finish(|_| 1.0).unwrap();
        assert_eq!(mean, vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
        assert!(std.is_none());
        a.add(0, &[3.0, 2.0, 1.0]);
        a.add(1, &[4.0, 5.0, 8.0]);
        let (_, std) = a.finish(|q| if q == 1 { 2.0 } else { 1.0 }).unwrap();
        let s2 = std::f32::consts::SQRT_2;
        assert_eq!(std.unwrap(), vec![s2, 0.0, s2, 0.0, 0.0, 2.0 * s2]);
    }

    #[test]
    fn packed_records_roundtrip_and_merge_to_the_same_bits_as_objects() {
        let mk = |seed: usize, queries: usize| {
            let mut m = EnsembleMoments::new(queries, &[2, 3]).unwrap();
            for q in 0..queries {
                for j in 0..(seed + q) % 4 {
                    let row: Vec<f32> = (0..6)
                        .map(|i| 1.0e3 + ((seed * 31 + j * 7 + i * 5 + q) % 13) as f32 * 0.1)
                        .collect();
                    m.add(q, &row);
                }
            }
            m
        };
        let (a, b) = (mk(1, 3), mk(6, 3));
        let len = EnsembleMoments::packed_len(3, 6).unwrap();
        assert_eq!(len, 3 * 13);
        let (mut pa, mut pb) = (vec![0.0; len], vec![0.0; len]);
        a.pack(&mut pa).unwrap();
        b.pack(&mut pb).unwrap();
        assert_eq!(EnsembleMoments::unpack(&[2, 3], 3, &pa).unwrap(), a);
        let mut ab = a.clone();
        ab.merge(&b).unwrap();
        EnsembleMoments::merge_packed(&pb, &mut pa, 3, 6).unwrap();
        let merged = EnsembleMoments::unpack(&[2, 3], 3, &pa).unwrap();
        assert_eq!(merged, ab); // bit for bit: one kernel, same order
        assert!(merged.counts().iter().all(|&c| c > 0));
    }

    #[test]
    fn packed_misuse_is_an_error_naming_the_problem() {
        let m = EnsembleMoments::new(2, &[4]).unwrap();
        let mut short = vec![0.0; 17];
        let e = m.pack(&mut short).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::BufferTooSmall);
        assert!(e.message().contains("need 18 doubles"), "{e}");
        let e = EnsembleMoments::unpack(&[4], 2, &short).unwrap_err();
        assert!(e.message().contains("are 18 doubles"), "{e}");
        let mut rec = vec![0.0; 18];
        for bad in [-1.0, 0.5, f64::NAN, f64::INFINITY, 1e300] {
            rec[9] = bad;
            let e = EnsembleMoments::unpack(&[4], 2, &rec).unwrap_err();
            assert!(e.message().contains("count of query 1"), "{e}");
            let mut inout = vec![0.0; 18];
            let e = EnsembleMoments::merge_packed(&rec, &mut inout, 2, 4).unwrap_err();
            assert!(e.message().contains("count of query 1"), "{e}");
        }
        rec[9] = 2.0;
        rec[15] = -1.0; // an M2 below zero (query 1: count 9, mean 10..14, M2 14..18)
        let e = EnsembleMoments::unpack(&[4], 2, &rec).unwrap_err();
        assert!(e.message().contains("M2 of query 1"), "{e}");
        let e = EnsembleMoments::merge_packed(&rec, &mut [0.0; 18], 2, 5).unwrap_err();
        assert!(e.message().contains("got 18"), "{e}");
    }

    #[test]
    fn merge_packed_checks_every_record_of_both_buffers_before_merging() {
        // Two queries of 2 values: records [count, mean0, mean1, m2_0, m2_1].
        let good = [3.0, 1.0, 2.0, 0.5, 0.5];
        for (at, bad, text) in [
            (1, f64::NAN, "mean of query 1"),
            (2, 1e300, "mean of query 1"),
            (3, -1.0, "M2 of query 1"),
            (4, f64::INFINITY, "M2 of query 1"),
            (4, 1e300, "M2 of query 1"),
        ] {
            let mut input = [good, good].concat();
            input[5 + at] = bad;
            for into_inout in [false, true] {
                let (mut a, mut b) = ([good, good].concat(), input.clone());
                let (inp, io) = if into_inout {
                    (&a.clone(), &mut b)
                } else {
                    (&b.clone(), &mut a)
                };
                let before = io.clone();
                let e = EnsembleMoments::merge_packed(inp, io, 2, 2).unwrap_err();
                assert!(e.message().contains(text), "{bad}: {e}");
                assert!(
                    e.message()
                        .contains(if into_inout { "`inout`" } else { "`in`" }),
                    "{e}"
                );
                // Query 0 is valid and comes first: nothing of it was merged either.
                let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
                assert_eq!(bits(io), bits(&before), "{bad}: inout changed on an error");
            }
            assert!(EnsembleMoments::unpack(&[2], 2, &input).is_err());
        }
    }

    #[test]
    fn a_std_scale_that_overflows_float32_is_an_error() {
        let mut m = EnsembleMoments::new(1, &[2]).unwrap();
        m.add(0, &[1.0, 10.0]);
        m.add(0, &[3.0, 30.0]);
        assert!(m.finish(|_| 1e30).is_ok());
        let e = m.finish(|_| 1e38).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Inference);
        assert!(
            e.message().contains("ensemble std of query 0, value 1"),
            "{e}"
        );
        assert!(e.message().contains("dgmf.std_scale"), "{e}");
    }
}
