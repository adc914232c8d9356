"""A locally adaptive calibration: the std's scale per query, fitted on the calibration cases by
normalised conformal scores (bench/ensemble_uncertainty.py reports it against the single scale
`dgmf calibrate` writes).

The single scale k makes ±2σ cover 95.45 % of the calibration points on average, wherever they are. Here
each case c gets a log-ratio y_c = log(RMS error_c / RMS std_c) of its (already single-scaled) std, and a
regression g predicts it from what is known at prediction time: the case's parameters (scaled to the
calibration box), the log of its std RMS and the log of its prediction's RMS. The candidates are k-nearest
neighbours on the parameters (k = all cases is the single scale again) and ridge regressions on [log std
RMS, log prediction RMS] with and without the parameters; leave-one-out error picks one. The std at a query
becomes c · exp(g) · std, and the global factor c is the split-conformal one on the calibration points'
scores |error| / (exp(g) · std), with g there its leave-one-out prediction so that no case calibrates
itself.
"""
from __future__ import annotations

import numpy as np

NEIGHBOURS = (3, 5, 8, 12, 16, 24)
RIDGE = 1e-2
TWO_SIGMA = 0.9545


class LocalScale:
    """g(x): the candidate with the smallest leave-one-out error on the calibration cases."""

    def __init__(self, params, log_std, log_size, y):
        p = np.asarray(params, np.float64).reshape(len(y), -1)
        self.low, self.span = p.min(0), np.maximum(p.max(0) - p.min(0), 1e-12)
        self.train = self._features(p, log_std, log_size)
        self.y = np.asarray(y, np.float64)
        n = len(self.y)
        cands = [("neighbours", k) for k in NEIGHBOURS if k < n - 1] + [("neighbours", n)]
        cands += [("ridge", "std+size"), ("ridge", "std+size+params")]
        loo = {c: float(np.mean((self._predict(c, self.train, leave_out=True) - self.y) ** 2)) for c in cands}
        self.choice = min(loo, key=loo.get)
        self.loo_mse = {f"{kind} {arg}": v for (kind, arg), v in loo.items()}

    def _features(self, params, log_std, log_size):
        return dict(params=(np.asarray(params, np.float64) - self.low) / self.span,
                    logs=np.column_stack([log_std, log_size]).astype(np.float64))

    def _predict(self, cand, f, leave_out=False):
        kind, arg = cand
        n = len(self.y)
        rows = len(f["params"])
        if kind == "neighbours":
            d = np.linalg.norm(f["params"][:, None, :] - self.train["params"][None, :, :], axis=2)
            k = arg
            if leave_out:  # f is the calibration set itself: a case is not its own neighbour
                np.fill_diagonal(d, np.inf)
                k = min(k, n - 1)
            near = np.argsort(d, axis=1, kind="stable")[:, :k]
            return self.y[near].mean(axis=1)
        design = lambda g: np.column_stack([np.ones(len(g["logs"])), g["logs"]] +
                                           ([g["params"]] if arg.endswith("params") else []))
        x, xq = design(self.train), design(f)
        if not leave_out:
            return xq @ self._ridge(x, self.y)
        return np.array([xq[i] @ self._ridge(np.delete(x, i, 0), np.delete(self.y, i)) for i in range(rows)])

    @staticmethod
    def _ridge(x, y):
        """Least squares with a small penalty on the standardised slopes (not the intercept)."""
        mu, sd = x[:, 1:].mean(0), np.maximum(x[:, 1:].std(0), 1e-12)
        z = np.column_stack([np.ones(len(x)), (x[:, 1:] - mu) / sd])
        pen = RIDGE * len(x) * np.diag([0.0] + [1.0] * (z.shape[1] - 1))
        w = np.linalg.solve(z.T @ z + pen, z.T @ y)
        return np.concatenate([[w[0] - np.sum(w[1:] * mu / sd)], w[1:] / sd])

    def log_scale(self, params, log_std, log_size, leave_out=False):
        return self._predict(self.choice, self._features(np.asarray(params, np.float64).reshape(len(log_std), -1),
                                                         log_std, log_size), leave_out)

    def describe(self):
        kind, arg = self.choice
        return f"{arg} nearest neighbours on the parameters" if kind == "neighbours" else f"ridge on {arg}"


def conformal_factor(scores, level=TWO_SIGMA):
    """The split-conformal quantile of the scores (the ceil((n+1)·level)-th smallest) over 2: the factor
    that makes ±2σ cover `level` of the points."""
    s = np.sort(np.asarray(scores, np.float64))
    i = min(len(s) - 1, int(np.ceil((len(s) + 1) * level)) - 1)
    return s[i] / 2.0


def fit(params, case_err, case_std, case_size, point_abs_err, point_std, point_case):
    """Fits the local scale on the calibration cases: per-case parameters [n, P], RMS error, RMS std and
    RMS of the prediction [n], and the live points' |error|, std and case index (0..n-1). Returns
    (LocalScale, conformal factor)."""
    log_std, log_size = np.log(np.maximum(case_std, 1e-300)), np.log(np.maximum(case_size, 1e-300))
    y = np.log(np.maximum(case_err, 1e-300)) - log_std
    local = LocalScale(params, log_std, log_size, y)
    g = local.log_scale(params, log_std, log_size, leave_out=True)
    return local, conformal_factor(point_abs_err / (np.exp(g[point_case]) * point_std))
