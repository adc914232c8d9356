#!/usr/bin/env python3
"""int8 vs fp32 on this CPU: static QDQ copies of the shipped models (dgmf_train.quantize), their accuracy
on the full test sets and their speed at batch 1/8/64, through `dgmf predict`.

    python3 -m dgmf_data.generate --out training/data      # once: the training sets (calibration rows)
    python3 bench/int8.py [--models poisson heat burgers topopt] [--reps 3] [--json docs/figures/int8.json]

Variants: every convolution int8 ("all"), and the mixed scheme with the first and last convolutions kept in
float32 ("mixed"); both with percentile calibration on 256 noisy training rows (minmax was worse on Poisson:
0.0108 vs 0.0079 relative L2 for the mixed scheme, first 32 cases, 8 levels). Accuracy: relative L2 against
the converged reference, every test case, the model's recommended sampler, one sample, seed 0. Speed: ms per
prediction in ONNX Runtime (the engine's report), the recommended sampler, the batch made of the first test
cases, median of interleaved repetitions, ONNX Runtime's default threads. The int8 files are written to a
temporary directory; a model within 5 % of fp32's error would be shipped as models/<name>_int8.onnx.
"""
from __future__ import annotations

import argparse
import json
import platform
import sys
import tempfile
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "training"))
from dgmf_train import engine, quantize  # noqa: E402
from dgmf_train.testsets import batch_rows, fidelity_arg, load_testset, machine, per_case_error  # noqa: E402

VARIANTS = {"all": (), "mixed": ("first", "last")}
BATCHES = (1, 8, 64)


def error(model, name, t):
    mean, _, _ = engine.predict(model, t["params"], fidelity_arg(name, t), coords=t.get("coords"))
    return float(per_case_error(mean, t).mean())


def timing(model, name, t, batch):
    params, coords = batch_rows(t, batch)
    _, _, r = engine.predict(model, params, fidelity_arg(name, t), coords=coords, repeat=2)
    return r["ort_ms"], r  # the second (warm) run's time in ONNX Runtime


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--models", nargs="+", default=["poisson", "heat", "burgers", "topopt"])
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--json", default=str(REPO / "docs" / "figures" / "int8.json"))
    a = ap.parse_args(argv)
    out = {"machine": machine(), "python": platform.python_version(), "models": {}}
    with tempfile.TemporaryDirectory() as tmp:
        for name in a.models:
            manifest = REPO / "training" / "data" / f"{name}_train.json"
            if not manifest.exists():
                sys.exit(f"{manifest} is missing: run `python3 -m dgmf_data.generate --out training/data` "
                         "in training/ first (the calibration rows come from the training set)")
            files = {"fp32": REPO / "models" / f"{name}.onnx"}
            res = {"score_error": {}}
            for v, keep in VARIANTS.items():
                files[v] = Path(tmp) / f"{name}_{v}.onnx"
                rel = quantize.quantize(files["fp32"], manifest, files[v], keep_float=keep,
                                        method="percentile")
                res["score_error"][v] = {"median": float(np.median(rel)), "worst": float(rel.max())}
            t = load_testset(name)
            res["error"] = {k: error(f, name, t) for k, f in files.items()}
            res["ms"] = {k: {b: [] for b in BATCHES} for k in files}
            for _ in range(a.reps):
                for b in BATCHES:
                    for k, f in files.items():  # interleaved: drifts in the machine hit every variant
                        res["ms"][k][b].append(timing(f, name, t, b)[0])
            res["ms_median"] = {k: {b: float(np.median(v)) for b, v in d.items()} for k, d in res["ms"].items()}
            out["models"][name] = res
            e = res["error"]
            print(f"{name}: error fp32 {e['fp32']:.5f}, "
                  + ", ".join(f"{v} {e[v]:.5f} ({e[v] / e['fp32'] - 1:+.1%})" for v in VARIANTS), flush=True)
            for b in BATCHES:
                m = res["ms_median"]
                print(f"  batch {b:3d}: fp32 {m['fp32'][b]:8.1f} ms, "
                      + ", ".join(f"{v} {m[v][b]:8.1f} ms ({m['fp32'][b] / m[v][b]:.2f}x)" for v in VARIANTS),
                      flush=True)
    Path(a.json).write_text(json.dumps(out, indent=1) + "\n")
    print(f"wrote {a.json}")


if __name__ == "__main__":
    main()
