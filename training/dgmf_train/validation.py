"""Validation while `dgmf-train fit` trains: every few minutes, the error on held-out cases at the target
fidelity, so that a user sees whether more training still pays — and can stop on it.

The network is exported as it stands (its EMA weights, through the same export as `dgmf-train export`)
and sampled by the engine itself with a cheap sampler (`ancestral`, 6 levels: what the shipped models
recommend): one sample (seed 0) and the mean of VAL_SAMPLES. A regression baseline (`fit --baseline`)
is one ONNX Runtime call. Error: mean relative L2 over the cases. The curve goes into the checkpoint
(`val`) and the log; `--until-error E` stops when the prediction (the ensemble mean; the baseline's
output) reaches E, `--patience K` after K validations without a new best. The time a validation takes
counts in the training budget (`--minutes` is wall-clock).
"""
from __future__ import annotations

import contextlib
import io
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

from .testsets import cases_fidelity_arg, load_cases, per_case_error, subset

VAL_SAMPLER, VAL_STEPS = "ancestral", 6
VAL_SAMPLES = 8
MAX_CASES = 32   # validation cases used (the first ones): the error of a mean over 32 cases is stable


class Validation:
    def __init__(self, directory, manifest, every_minutes, until_error=None, patience=None, baseline=False,
                 max_cases=MAX_CASES, curve=()):
        self.t = subset(load_cases(directory), max_cases)
        self.manifest, self.baseline = manifest, baseline
        self.fidelity = cases_fidelity_arg(self.t, manifest.fidelity.kind == "discrete",
                                           f"the cases of --val {directory}")
        self.every, self.until, self.patience = every_minutes, until_error, patience
        self.curve = list(curve)
        self.cases = len(np.unique(self.t["case"]))
        # The next validation is due every_minutes after the last one ended (a resumed run's too), so that
        # a validation slower than the interval does not leave training no time between them.
        self.next = (self.curve[-1]["seconds"] + self.curve[-1].get("took", 0.0) if self.curve else 0.0) \
            + 60.0 * every_minutes

    def due(self, elapsed):
        return elapsed >= self.next

    def run(self, ck, step, seconds):
        """Exports checkpoint dict `ck`, scores it, appends the point to the curve and returns it."""
        import torch
        from . import export
        t0 = time.perf_counter()
        with tempfile.TemporaryDirectory() as tmp, contextlib.redirect_stdout(io.StringIO()), \
                warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the exporter's notes, once per validation
            pt, onnx = Path(tmp) / "val.pt", Path(tmp) / "val.onnx"
            torch.save(ck, pt)
            export.main([str(pt), str(onnx), "--check-rows", "4"])
            point = dict(step=step, seconds=seconds, **self.score(onnx))
            point["took"] = time.perf_counter() - t0
        self.curve.append(point)
        self.next = seconds + point["took"] + 60.0 * self.every
        return point

    def score(self, onnx):
        if self.baseline:
            from .compare import baseline_feeds, regression_predict_feeds
            pred, _ = regression_predict_feeds(onnx, baseline_feeds(self.manifest.fidelity.input_levels, self.t))
            return dict(prediction=float(per_case_error(pred, self.t).mean()))
        from . import engine
        kw = dict(coords=self.t.get("coords"), sampler=VAL_SAMPLER, steps=VAL_STEPS)
        one, _, _ = engine.predict(onnx, self.t["params"], self.fidelity, samples=1, **kw)
        mean, _, _ = engine.predict(onnx, self.t["params"], self.fidelity, samples=VAL_SAMPLES, **kw)
        return dict(one_sample=float(per_case_error(one, self.t).mean()),
                    prediction=float(per_case_error(mean, self.t).mean()))

    def describe(self, point):
        if self.baseline:
            return f"validation ({self.cases} cases): {point['prediction']:.4f}"
        return (f"validation ({self.cases} cases, {VAL_SAMPLER} {VAL_STEPS}): one sample {point['one_sample']:.4f}, "
                f"mean of {VAL_SAMPLES} {point['prediction']:.4f}")

    def stop_reason(self):
        """Why training should stop now (None: it should not)."""
        if not self.curve:
            return None
        errors = [p["prediction"] for p in self.curve]
        if self.until is not None and errors[-1] <= self.until:
            return f"validation error {errors[-1]:.4f} <= --until-error {self.until:g}"
        if self.patience is not None and len(errors) > self.patience:
            best = int(np.argmin(errors))
            if len(errors) - 1 - best >= self.patience:
                return (f"no better validation error in the last {self.patience} validations (best "
                        f"{errors[best]:.4f} at step {self.curve[best]['step']})")
        return None
