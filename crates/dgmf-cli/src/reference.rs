//! `dgmf predict --reference FILE`: a known answer for the queries (a converged solve, a test case), read
//! before the model runs, then compared with the prediction (the summary's error lines) and drawn beside
//! it in the `--png` pictures.

use std::path::Path;

use dgmf::contract::Contract;
use dgmf::ndarray::{ArrayD, IxDyn};
use dgmf::{Error, Prediction};
use dgmf_cli::coverage;
use dgmf_cli::npy;

use crate::invalid;

/// The reference field for `n` queries: the file holds `[n, *shape]` (or `[*shape]` when there is one
/// query), any numeric dtype; it is refused when larger than `max_bytes`.
pub(crate) fn load(
    path: &Path,
    c: &Contract,
    n: usize,
    max_bytes: u64,
) -> Result<ArrayD<f32>, Error> {
    let a = npy::read(path, "--reference", max_bytes)?;
    let mut want = vec![n];
    want.extend(&c.shape);
    let fits = a.shape() == want.as_slice() || (n == 1 && a.shape() == c.shape.as_slice());
    if !fits {
        return Err(invalid(format!(
            "--reference {}: shape {:?}, but the prediction is {want:?} ({n} quer{} of the model's shape \
             {:?}); give one reference field per query, in query order",
            path.display(),
            a.shape(),
            if n == 1 { "y" } else { "ies" },
            c.shape
        )));
    }
    if let Some(i) = a
        .iter()
        .position(|v| !(v.is_finite() && v.abs() <= f32::MAX as f64))
    {
        return Err(invalid(format!(
            "--reference {}: value {} (flat index {i}) is not a finite float32 number",
            path.display(),
            a.as_slice_memory_order().map_or(f64::NAN, |s| s[i])
        )));
    }
    a.mapv(|v| v as f32)
        .into_shape_with_order(IxDyn(&want))
        .map_err(|e| invalid(format!("--reference: {e}")))
}

/// A reference and the prediction's relative L2 error against it per query, computed once for the
/// summary and the pictures.
pub(crate) struct Compared {
    pub(crate) field: ArrayD<f32>,
    /// ‖mean − reference‖ / ‖reference‖ per query; `None` where the reference is zero.
    pub(crate) errors: Vec<Option<f64>>,
}

impl Compared {
    pub(crate) fn new(field: ArrayD<f32>, p: &Prediction) -> Compared {
        let errors = rel_l2(&p.mean, &field);
        Compared { field, errors }
    }
}

/// ‖a − b‖ / ‖b‖ per query (the first axis); `None` where the reference is zero.
pub(crate) fn rel_l2(a: &ArrayD<f32>, b: &ArrayD<f32>) -> Vec<Option<f64>> {
    let n = a.shape()[0];
    let per = a.len() / n.max(1);
    let (a, b) = (a.iter().collect::<Vec<_>>(), b.iter().collect::<Vec<_>>());
    (0..n)
        .map(|q| {
            let (mut e, mut r) = (0f64, 0f64);
            for k in q * per..(q + 1) * per {
                e += (*a[k] as f64 - *b[k] as f64).powi(2);
                r += (*b[k] as f64).powi(2);
            }
            (r > 0.0).then(|| (e / r).sqrt())
        })
        .collect()
}

/// |mean − reference|, the error a std should match (drawn beside the std).
pub(crate) fn abs_error(mean: &ArrayD<f32>, reference: &ArrayD<f32>) -> ArrayD<f32> {
    (mean - reference).mapv(f32::abs)
}

/// The summary's lines: the mean's relative L2 error against the reference, and with a std the share of
/// values within ±1σ and ±2σ (the std as the engine returns it: calibrated when the model is).
pub(crate) fn summary(p: &Prediction, r: &Compared) -> Vec<String> {
    let (errors, reference) = (&r.errors, &r.field);
    let known: Vec<f64> = errors.iter().flatten().copied().collect();
    let mut lines = Vec::new();
    if known.is_empty() {
        lines.push("reference  all zero: no relative error to report".into());
    } else {
        let mean = known.iter().sum::<f64>() / known.len() as f64;
        let worst = known.iter().copied().fold(0.0, f64::max);
        let zero = errors.len() - known.len();
        lines.push(format!(
            "reference  rel. L2 of the mean {:.3} % (mean over {} quer{}), worst {:.3} %{}",
            100.0 * mean,
            known.len(),
            if known.len() == 1 { "y" } else { "ies" },
            100.0 * worst,
            if zero > 0 {
                format!("; {zero} all-zero reference(s) left out")
            } else {
                String::new()
            }
        ));
    }
    if let Some(std) = &p.std {
        let flat = |a: &ArrayD<f32>| a.iter().map(|&v| v as f64).collect::<Vec<f64>>();
        let per = p.mean.len() / p.mean.shape()[0].max(1);
        let case: Vec<usize> = (0..p.mean.len()).map(|k| k / per.max(1)).collect();
        let (mean, std, reference) = (flat(&p.mean), flat(std), flat(reference));
        let r = coverage::report(
            &coverage::Points {
                mean: &mean,
                std: &std,
                reference: &reference,
                case: &case,
            },
            1.0,
        );
        if r.points > 0 {
            lines.push(format!(
                "           within ±1σ {:.1} %, ±2σ {:.1} % of {} values (a calibrated std: ~68 % and ~95 %)",
                100.0 * r.coverage_1,
                100.0 * r.coverage_2,
                r.points
            ));
        }
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_relative_error_is_per_query() {
        let b = ArrayD::from_shape_vec(IxDyn(&[2, 2]), vec![3.0f32, 4.0, 0.0, 0.0]).unwrap();
        let a = ArrayD::from_shape_vec(IxDyn(&[2, 2]), vec![3.0f32, 4.5, 1.0, 0.0]).unwrap();
        let e = rel_l2(&a, &b);
        assert!((e[0].unwrap() - 0.1).abs() < 1e-12);
        assert_eq!(e[1], None);
    }
}
