//! Ensemble statistics that merge: per query the sample count and, per output element, the mean and the
//! sum of squared deviations M2, in f64. A run accumulates them sample by sample (Welford); two parts of an
//! ensemble (another range of samples, another process) combine by Chan, Golub and LeVeque's pairwise
//! formula. Mean and std are derived at the end.

use crate::error::{Error, Result};

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
            let (mq, m2q) = (&mean[range.clone()], &m2[range]);
            if let Some(i) = mq.iter().position(|v| !v.is_finite()) {
                return Err(Error::invalid(format!(
                    "moments: the mean of query {q}, element {i} is {}; it must be finite",
                    mq[i]
                )));
            }
            if let Some(i) = m2q.iter().position(|v| !(v.is_finite() && *v >= 0.0)) {
                return Err(Error::invalid(format!(
                    "moments: M2 of query {q}, element {i} is {}; it must be finite and ≥ 0",
                    m2q[i]
                )));
            }
            if c == 0 && (mq.iter().any(|&v| v != 0.0) || m2q.iter().any(|&v| v != 0.0)) {
                return Err(Error::invalid(format!(
                    "moments: query {q} has count 0 but a nonzero mean or M2"
                )));
            }
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
            let (fa, fb, fn_) = (*a as f64, b as f64, n as f64);
            let range = q * self.sample_len..(q + 1) * self.sample_len;
            for (((ma, m2a), &mb), &m2b) in self.mean[range.clone()]
                .iter_mut()
                .zip(&mut self.m2[range.clone()])
                .zip(&other.mean[range.clone()])
                .zip(&other.m2[range])
            {
                let d = mb - *ma;
                *ma += d * (fb / fn_);
                *m2a += m2b + d * d * (fa * fb / fn_);
            }
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
        Ok((mean, std))
    }
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
}
