"""Reference samplers in numpy, written once (docs/samplers.md): the Karras and geometric schedules and
EDM's Heun with the final Tweedie step. The evaluation and the benchmarks check libdgmf against these."""
from __future__ import annotations

import numpy as np


def karras(n, smin, smax, rho=7.0):
    """EDM's schedule: n levels from smax to smin, both ends exact."""
    i = np.arange(n)
    s = (smax ** (1 / rho) + i / (n - 1) * (smin ** (1 / rho) - smax ** (1 / rho))) ** rho
    s[0], s[-1] = smax, smin
    return s.astype(np.float32)


def geometric(n, smin, smax):
    """score_sde's VE schedule: uniform in log sigma."""
    s = smax * (smin / smax) ** (np.arange(n) / (n - 1))
    s[0], s[-1] = smax, smin
    return s.astype(np.float32)


def heun(score, x, sig):
    """EDM Heun between consecutive levels, then the Tweedie denoise step (NFE 2(N-1)+1). `score(x, s)`
    works on any array type with arithmetic (numpy or torch)."""
    for s0, s1 in zip(sig[:-1], sig[1:]):
        d0 = -s0 * score(x, s0)
        h = s1 - s0
        d1 = -s1 * score(x + h * d0, s1)
        x = x + 0.5 * h * (d0 + d1)
    return x + sig[-1] ** 2 * score(x, sig[-1])


def heun_on_onnx(model, feeds, n, steps=18, seed=0, rho=7.0):
    """`n` samples of the exported `model` (a path) by `heun` on the Karras schedule, run through
    onnxruntime directly; `feeds` holds the conditioning inputs (params, fidelity[, coords]) for the n
    rows. Returns physical u. The noise is numpy's, not the engine's ChaCha streams: expect agreement with
    `dgmf predict` only up to the model's sampling spread."""
    import onnxruntime as ort
    from .contract import read_metadata
    meta = read_metadata(model)
    sess = ort.InferenceSession(str(model), providers=["CPUExecutionProvider"])
    score = lambda x, s: sess.run(None, dict(feeds, z=x.astype(np.float32),  # noqa: E731
                                             sigma=np.full(n, s, np.float32)))[0].astype(np.float64)
    x = meta.sigma_max * np.random.default_rng(seed).standard_normal((n, *meta.shape))
    sig = karras(steps, meta.sigma_min, meta.sigma_max, rho)
    return meta.data_shift + meta.data_scale * heun(score, x, [float(s) for s in sig])
