"""Gaussian-process baselines on PCA coefficients: what a practitioner fits instead of a generative model.

The fields of the training rows are reduced to their leading principal components; one GP per component
maps the inputs (parameters and coordinates, scaled to [0, 1] by their declared ranges) to its coefficient.
`single`: SMT's KRG on the target-fidelity rows only. `multi`: SMT's MFK (recursive co-kriging, the
linear autoregressive multi-fidelity GP of Kennedy & O'Hagan / Le Gratiet) with the fidelity levels as
its levels, low to high. Hyperparameters: SMT's defaults (squared-exponential kernel, one length scale per
input, fitted by maximum likelihood; a constant trend); nothing is tuned on held-out data. The predicted
field std is the GP variances carried through the basis (the truncated components' share is not
included, so it is an underestimate when the basis misses much of the field).
"""
from __future__ import annotations

import time
import warnings
from dataclasses import dataclass

import numpy as np

from .dataset import DatasetError

ENERGY = 0.9999        # share of the training fields' variance the basis keeps
MAX_COMPONENTS = 24    # at most this many GPs per arm
MAX_ROWS = 800         # rows per level a GP is fitted on (an exact GP costs rows^3 per likelihood step)


def inputs(ds):
    """[N, P + Q] inputs in [0, 1]: parameters then coordinates, scaled by their declared ranges."""
    m = ds.manifest
    cols = [ds.params] + ([ds.coords] if ds.coords is not None else [])
    ranges = list(m.params) + list(m.coords)
    x = np.concatenate(cols, axis=1).astype(np.float64)
    lo = np.array([r.min for r in ranges])
    width = np.array([r.max - r.min for r in ranges])
    return (x - lo) / np.where(width > 0, width, 1.0)


@dataclass
class Basis:
    mean: np.ndarray   # [D]
    vectors: np.ndarray  # [K, D], orthonormal rows

    @staticmethod
    def fit(fields, energy=ENERGY, most=MAX_COMPONENTS):
        flat = np.asarray(fields, np.float64).reshape(len(fields), -1)
        mean = flat.mean(axis=0)
        _, s, vt = np.linalg.svd(flat - mean, full_matrices=False)
        share = np.cumsum(s ** 2) / max((s ** 2).sum(), 1e-300)
        k = int(min(np.searchsorted(share, energy) + 1, most, len(s)))
        return Basis(mean, vt[:k])

    def project(self, fields):
        return (np.asarray(fields, np.float64).reshape(len(fields), -1) - self.mean) @ self.vectors.T

    def field(self, coef, shape):
        return (self.mean + coef @ self.vectors).reshape((len(coef),) + tuple(shape))

    def field_std(self, var, shape):
        return np.sqrt(np.maximum(var, 0) @ self.vectors ** 2).reshape((len(var),) + tuple(shape))


def levels(ds):
    """Each row's level for MFK, 0 = lowest fidelity: discrete levels as they are; a continuous fidelity's
    distinct values ordered from the farthest from the target to the target itself."""
    f = ds.manifest.fidelity
    if f.kind == "discrete":
        return ds.fidelity.astype(np.int64), f.levels
    target = f.target_value()
    values = sorted(np.unique(ds.fidelity), key=lambda v: -abs(v - target))
    if len(values) > 6:
        raise DatasetError(f"the multi-fidelity GP takes a ladder of levels; this continuous fidelity has "
                           f"{len(values)} distinct values in the training rows (at most 6)")
    return np.array([values.index(v) for v in ds.fidelity]), len(values)


class GpArm:
    """One arm: `multi` False (KRG on the target level) or True (MFK on every level)."""

    def __init__(self, multi, max_rows=None, noise=False):
        self.multi, self.noise = multi, noise
        self.max_rows = MAX_ROWS if max_rows is None else int(max_rows)
        self.name = "mf-gp" if multi else "gp"
        self.fit_seconds = 0.0

    def fit(self, train):
        from smt.applications.mfk import MFK
        from smt.surrogate_models import KRG
        t0 = time.perf_counter()
        lev, n_levels = levels(train)
        top = lev == n_levels - 1
        if not top.any():
            raise DatasetError("no training rows at the target fidelity: every GP needs some")
        keep = np.ones(len(train), bool) if self.multi else top
        # A ladder is the levels that have rows (a small budget can leave a low level empty).
        lev = np.searchsorted(np.unique(lev), lev)
        n_levels = int(lev.max()) + 1
        x, self.shape = inputs(train), train.u.shape[1:]
        self.basis = Basis.fit(train.u[keep])
        coef = self.basis.project(train.u)
        # Above max_rows rows at a level (coordinates multiply rows), the GPs see a fixed random subset.
        rng = np.random.default_rng(0)
        fitted = np.zeros(len(train), bool)
        for level in range(n_levels):
            at = np.flatnonzero(lev == level)
            fitted[rng.permutation(at)[:self.max_rows]] = True
        self.rows_used = int((fitted if self.multi else fitted & top).sum())
        x, coef, lev, top = x[fitted], coef[fitted], lev[fitted], top[fitted]
        self.models = []
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # SMT's optimiser notes ("fmin_cobyla failed but ...")
            for k in range(coef.shape[1]):
                if self.multi and n_levels > 1:
                    gp = MFK(theta0=[1e-2] * x.shape[1], print_global=False, eval_noise=self.noise)
                    for level in range(n_levels - 1):
                        gp.set_training_values(x[lev == level], coef[lev == level, k:k + 1], name=level)
                    gp.set_training_values(x[top], coef[top, k:k + 1])
                else:
                    gp = KRG(theta0=[1e-2] * x.shape[1], print_global=False, eval_noise=self.noise)
                    gp.set_training_values(x[top], coef[top, k:k + 1])
                gp.train()
                self.models.append(gp)
        self.fit_seconds = time.perf_counter() - t0
        return self

    def predict(self, queries):
        """(mean, std) fields [n, C, *grid] of the queries' rows (a Dataset at the target fidelity)."""
        x = inputs(queries)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            mean = np.concatenate([gp.predict_values(x) for gp in self.models], axis=1)
            var = np.concatenate([gp.predict_variances(x) for gp in self.models], axis=1)
        return self.basis.field(mean, self.shape), self.basis.field_std(var, self.shape)

    def describe(self):
        kind = "SMT MFK (recursive co-kriging over the fidelity levels)" if self.multi else \
            "SMT KRG on the target-fidelity rows"
        kind += "; a noise variance per level fitted by ML (eval_noise)" if self.noise else ""
        return (f"{kind}; {len(self.models)} PCA components ({ENERGY:.2%} of the variance, at most "
                f"{MAX_COMPONENTS}), one GP each; squared-exponential kernel, ML length scales; fitted on "
                f"{self.rows_used} rows (at most {self.max_rows} per level)")
