"""A locally adaptive calibration: the std's scale as a function of the parameters, fitted on the
calibration cases by normalised conformal scores (bench/ensemble_uncertainty.py reports it against the
single scale `dgmf calibrate` writes).

The single scale k makes ±2σ cover 95.45 % of the calibration points on average, wherever they are. Here
each case c gets a log-ratio y_c = log(RMS error_c / RMS std_c) of its (already single-scaled) std; a
k-nearest-neighbour regression g on the case's parameters (scaled to the calibration box) predicts it, k
chosen by leave-one-out error among a few values (k = all cases is the single scale again). The std at
parameters x becomes c · exp(g(x)) · std, and the global factor c is the split-conformal one on the
calibration points' scores |error| / (exp(g) · std), with g there its leave-one-out prediction so that
no case calibrates itself.
"""
from __future__ import annotations

import numpy as np

NEIGHBOURS = (3, 5, 8, 12, 16, 24)
TWO_SIGMA = 0.9545


class LocalScale:
    """g(x) = mean of y over the k nearest calibration cases of x (the box-scaled parameters)."""

    def __init__(self, features, y):
        f = np.asarray(features, np.float64)
        self.low, self.span = f.min(0), np.maximum(f.max(0) - f.min(0), 1e-12)
        self.f, self.y = (f - self.low) / self.span, np.asarray(y, np.float64)
        n = len(self.y)
        choices = [k for k in NEIGHBOURS if k < n] + [n]
        loo = {k: np.mean((self._predict(self.f, k, leave_out=True) - self.y) ** 2) for k in choices}
        self.k = min(loo, key=loo.get)
        self.loo_mse = {int(k): float(v) for k, v in loo.items()}

    def _predict(self, f, k, leave_out=False):
        d = np.linalg.norm(f[:, None, :] - self.f[None, :, :], axis=2)
        if leave_out:  # f is the calibration set itself: a case is not its own neighbour
            np.fill_diagonal(d, np.inf)
            k = min(k, len(self.y) - 1)
        near = np.argsort(d, axis=1, kind="stable")[:, :k]
        return self.y[near].mean(axis=1)

    def log_scale(self, features, leave_out=False):
        f = (np.asarray(features, np.float64) - self.low) / self.span
        return self._predict(f, self.k, leave_out)


def conformal_factor(scores, level=TWO_SIGMA):
    """The split-conformal quantile of the scores (the ceil((n+1)·level)-th smallest) over 2: the factor
    that makes ±2σ cover `level` of the points."""
    s = np.sort(np.asarray(scores, np.float64))
    i = min(len(s) - 1, int(np.ceil((len(s) + 1) * level)) - 1)
    return s[i] / 2.0


def fit(case_features, case_err, case_std, point_abs_err, point_std, point_case):
    """Fits the local scale on the calibration cases: per-case features [n, F], relative-error-free RMS
    error and RMS std per case [n], and the live points' |error|, std and case index (0..n-1). Returns
    (LocalScale, conformal factor)."""
    y = np.log(np.maximum(case_err, 1e-300) / np.maximum(case_std, 1e-300))
    local = LocalScale(case_features, y)
    g = local.log_scale(case_features, leave_out=True)
    return local, conformal_factor(point_abs_err / (np.exp(g[point_case]) * point_std))
