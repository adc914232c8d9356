//! How well an ensemble std matches the actual error, and the std scale that calibrates it.
//!
//! The scale is fitted by split conformal prediction on the ratio r = |error| / std over every point of a
//! held-out calibration set: k = r₍ⱼ₎ / 2 with j = ⌈(N + 1)·p⌉ (the order statistic of finite-sample
//! conformal prediction) and p = 95.45 %, the mass of a normal distribution within ±2σ. So ±2kσ covers
//! at least p of the calibration points whatever the distribution of the errors, and ±2kσ coverage of new
//! cases drawn like them is p in expectation. Variance scaling (k² = mean err² / mean std²) would instead
//! make RMS(std) equal RMS(error); it gives 95 % coverage only if the errors are normal given the std,
//! which the heavy tails measured on the shipped models (docs/accuracy.md) are not.
//!
//! Points whose std is exactly zero are values the model imposes (Poisson's Dirichlet boundary): they are
//! kept out of the fit and the coverage and reported apart, with their largest error.

/// The two-sided normal coverage of ±2σ, erf(√2).
pub const TWO_SIGMA: f64 = 0.954_499_736_103_642;

/// One calibration set: per point the ensemble mean, its std and the reference; per point its case.
pub struct Points<'a> {
    pub mean: &'a [f64],
    pub std: &'a [f64],
    pub reference: &'a [f64],
    /// The case each point belongs to (0-based, dense), for the per-case statistics.
    pub case: &'a [usize],
}

/// Calibration statistics of a std (already multiplied by the scale under test).
#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    /// Points with a non-zero std (those that enter the statistics).
    pub points: usize,
    /// Points with std exactly zero, and their largest |error|.
    pub exact_points: usize,
    pub exact_max_error: f64,
    /// Fraction of points with |error| ≤ 1σ, ≤ 2σ.
    pub coverage_1: f64,
    pub coverage_2: f64,
    /// RMS(std) / RMS(error) over the points (1 for a spread that matches the skill).
    pub spread_skill: f64,
    /// Spearman rank correlation, over cases, of the RMS std with the relative L2 error.
    pub spearman: f64,
    /// Mean and largest over cases of the relative L2 error ‖mean − reference‖ / ‖reference‖.
    pub mean_rel_l2: f64,
    pub worst_rel_l2: f64,
}

/// The statistics of `p` with its std multiplied by `scale`.
pub fn report(p: &Points<'_>, scale: f64) -> Report {
    let (mut points, mut exact, mut exact_max) = (0usize, 0usize, 0f64);
    let (mut c1, mut c2, mut s2, mut e2) = (0usize, 0usize, 0f64, 0f64);
    let cases = p.case.iter().max().map_or(0, |&c| c + 1);
    let (mut err_sq, mut ref_sq, mut std_sq, mut count) = (
        vec![0f64; cases],
        vec![0f64; cases],
        vec![0f64; cases],
        vec![0usize; cases],
    );
    for i in 0..p.mean.len() {
        let err = (p.mean[i] - p.reference[i]).abs();
        let std = scale * p.std[i];
        let c = p.case[i];
        err_sq[c] += err * err;
        ref_sq[c] += p.reference[i] * p.reference[i];
        std_sq[c] += std * std;
        count[c] += 1;
        if p.std[i] == 0.0 {
            exact += 1;
            exact_max = exact_max.max(err);
            continue;
        }
        points += 1;
        c1 += usize::from(err <= std);
        c2 += usize::from(err <= 2.0 * std);
        s2 += std * std;
        e2 += err * err;
    }
    let rel: Vec<f64> = (0..cases)
        .map(|c| (err_sq[c] / ref_sq[c].max(f64::MIN_POSITIVE)).sqrt())
        .collect();
    let spread: Vec<f64> = (0..cases)
        .map(|c| (std_sq[c] / count[c].max(1) as f64).sqrt())
        .collect();
    let frac = |k: usize| k as f64 / points.max(1) as f64;
    Report {
        points,
        exact_points: exact,
        exact_max_error: exact_max,
        coverage_1: frac(c1),
        coverage_2: frac(c2),
        spread_skill: (s2 / e2.max(f64::MIN_POSITIVE)).sqrt(),
        spearman: spearman(&spread, &rel),
        mean_rel_l2: rel.iter().sum::<f64>() / cases.max(1) as f64,
        worst_rel_l2: rel.iter().cloned().fold(0.0, f64::max),
    }
}

/// The split-conformal scale: the smallest k with ±2kσ covering ⌈(N + 1)·`coverage`⌉ of the N points
/// with a non-zero std. `None` when there are no such points or the quantile is not a positive finite
/// number (an error at a point whose std is zero, or every error zero).
pub fn conformal_scale(p: &Points<'_>, coverage: f64) -> Option<f64> {
    let mut r: Vec<f64> = (0..p.mean.len())
        .filter(|&i| p.std[i] > 0.0)
        .map(|i| (p.mean[i] - p.reference[i]).abs() / p.std[i])
        .collect();
    if r.is_empty() {
        return None;
    }
    let n = r.len();
    let j = (((n + 1) as f64) * coverage).ceil() as usize;
    let j = j.clamp(1, n) - 1;
    let (_, kth, _) = r.select_nth_unstable_by(j, f64::total_cmp);
    let k = *kth / 2.0;
    (k.is_finite() && k > 0.0).then_some(k)
}

/// Spearman's rank correlation (average ranks for ties); 0 when either side is constant.
pub fn spearman(a: &[f64], b: &[f64]) -> f64 {
    let (ra, rb) = (ranks(a), ranks(b));
    let n = ra.len() as f64;
    if n < 2.0 {
        return 0.0;
    }
    let mean = (n + 1.0) / 2.0;
    let (mut num, mut da, mut db) = (0.0, 0.0, 0.0);
    for (x, y) in ra.iter().zip(&rb) {
        num += (x - mean) * (y - mean);
        da += (x - mean) * (x - mean);
        db += (y - mean) * (y - mean);
    }
    if da == 0.0 || db == 0.0 {
        0.0
    } else {
        num / (da * db).sqrt()
    }
}

/// 1-based ranks, ties sharing their average rank.
fn ranks(v: &[f64]) -> Vec<f64> {
    let mut order: Vec<usize> = (0..v.len()).collect();
    order.sort_by(|&i, &j| v[i].total_cmp(&v[j]));
    let mut out = vec![0.0; v.len()];
    let mut start = 0;
    while start < order.len() {
        let mut end = start + 1;
        while end < order.len() && v[order[end]] == v[order[start]] {
            end += 1;
        }
        let rank = (start + end + 1) as f64 / 2.0;
        for &i in &order[start..end] {
            out[i] = rank;
        }
        start = end;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spearman_of_monotone_reversed_and_tied_data() {
        assert_eq!(
            spearman(&[1.0, 2.0, 3.0, 4.0], &[10.0, 20.0, 25.0, 90.0]),
            1.0
        );
        assert_eq!(spearman(&[1.0, 2.0, 3.0], &[3.0, 2.0, 1.0]), -1.0);
        assert_eq!(spearman(&[1.0, 1.0, 1.0], &[3.0, 2.0, 1.0]), 0.0);
        assert_eq!(ranks(&[5.0, 1.0, 5.0, 2.0]), [3.5, 1.0, 3.5, 2.0]);
    }

    /// Normal errors with a std that is 3× too small: the fitted scale is ≈ 3 and brings ±2σ coverage to
    /// ≈ 95.45 %, ±1σ to ≈ 68 %, and the spread-skill ratio to ≈ 1.
    #[test]
    fn the_conformal_scale_calibrates_normal_errors() {
        let n = 20_000;
        // Deterministic normal draws (Box–Muller on a fixed low-discrepancy sequence).
        let normal = |i: usize| {
            let u1 = ((i as f64 + 0.5) / n as f64).clamp(1e-12, 1.0);
            let u2 = (i as f64 * 0.618_033_988_749_895).fract();
            (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
        };
        let sigma: Vec<f64> = (0..n).map(|i| 0.5 + (i % 7) as f64 * 0.25).collect();
        let reference = vec![1.0; n];
        let mean: Vec<f64> = (0..n).map(|i| 1.0 + sigma[i] * normal(i)).collect();
        let std: Vec<f64> = sigma.iter().map(|s| s / 3.0).collect();
        let case: Vec<usize> = (0..n).map(|i| i / 100).collect();
        let p = Points {
            mean: &mean,
            std: &std,
            reference: &reference,
            case: &case,
        };
        let before = report(&p, 1.0);
        assert!(before.coverage_2 < 0.6, "{before:?}");
        let k = conformal_scale(&p, TWO_SIGMA).unwrap();
        assert!((k - 3.0).abs() < 0.1, "k = {k}");
        let after = report(&p, k);
        assert!((after.coverage_2 - TWO_SIGMA).abs() < 0.002, "{after:?}");
        assert!((after.coverage_1 - 0.6827).abs() < 0.02, "{after:?}");
        assert!((after.spread_skill - 1.0).abs() < 0.05, "{after:?}");
    }

    #[test]
    fn points_with_zero_std_are_reported_apart() {
        let p = Points {
            mean: &[1.0, 2.0, 3.5],
            std: &[0.0, 1.0, 1.0],
            reference: &[1.0 + 1e-7, 2.5, 3.0],
            case: &[0, 0, 1],
        };
        let r = report(&p, 1.0);
        assert_eq!((r.points, r.exact_points), (2, 1));
        assert!((r.exact_max_error - 1e-7).abs() < 1e-12);
        assert_eq!((r.coverage_1, r.coverage_2), (1.0, 1.0));
        // Both ratios are 0.5: the quantile is 0.5, so k = 0.25.
        assert_eq!(conformal_scale(&p, TWO_SIGMA), Some(0.25));
        let none = Points {
            mean: &[1.0],
            std: &[0.0],
            reference: &[2.0],
            case: &[0],
        };
        assert_eq!(conformal_scale(&none, TWO_SIGMA), None);
    }
}
