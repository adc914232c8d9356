#!/usr/bin/env python3
"""Roofline of the shipped models on this CPU: FLOPs per network evaluation (bench/flops.py), achieved
GFLOP/s inside ONNX Runtime at batch 1/8/64 (through `dgmf predict`), and the fraction of the measured peak
(bench/peak.c: an AVX2 FMA kernel, and the u8 x s8 multiply-add sequence MLAS's int8 kernels use).

    python3 bench/roofline.py [--models poisson heat burgers topopt] [--extra NAME=FILE ...] [--reps 3]
                              [--json docs/figures/roofline.json]

Each timing runs the ancestral sampler with 8 levels (8 network evaluations per prediction) on a warm
session (`--repeat 2`, the second run), ONNX Runtime's default threads; ms per evaluation = ONNX Runtime ms /
NFE; the batch is the first test cases (repeated if needed). `--extra` adds models measured the same way,
e.g. int8 copies written by `python3 -m dgmf_train.quantize` (`--extra poisson_int8=/tmp/p8.onnx`; the name
before `_` picks the test set, and their peak is the int8 one).
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import onnx

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "training"))
sys.path.insert(0, str(REPO / "bench"))
import flops  # noqa: E402
from dgmf_train import engine  # noqa: E402
from dgmf_train.testsets import batch_rows, fidelity_arg, load_testset, machine  # noqa: E402

BATCHES = (1, 8, 64)
STEPS = 8


def peak(threads):
    """Measured peaks (GFLOP/s fp32 FMA, GOP/s int8) for `threads` threads, from bench/peak.c."""
    with tempfile.TemporaryDirectory() as tmp:
        exe = Path(tmp) / "peak"
        subprocess.run(["gcc", "-O2", "-pthread", str(REPO / "bench" / "peak.c"), "-o", str(exe)], check=True)
        return json.loads(subprocess.run([str(exe), str(threads), "2"], check=True, capture_output=True,
                                         text=True).stdout)


def per_eval_ms(model, name, t, batch):
    params, coords = batch_rows(t, batch)
    _, _, r = engine.predict(model, params, fidelity_arg(name, t), coords=coords,
                          sampler="ancestral", steps=STEPS, repeat=2)
    return r["ort_ms"] / r["nfe"]


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--models", nargs="*", default=["poisson", "heat", "burgers", "topopt"],
                    help="shipped models to measure (none: only the --extra ones)")
    ap.add_argument("--extra", nargs="*", default=[], metavar="NAME=FILE")
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--json", default=str(REPO / "docs" / "figures" / "roofline.json"))
    a = ap.parse_args(argv)
    cpus = os.cpu_count()
    pk = {"1 thread": peak(1), f"{cpus} threads": peak(cpus)}
    entries = {m: REPO / "models" / f"{m}.onnx" for m in a.models}
    entries.update({k: Path(v) for k, v in (e.split("=", 1) for e in a.extra)})
    rows = {}
    for label, path in entries.items():
        name = label.split("_")[0]
        c = flops.count(onnx.load(path))
        t = load_testset(name)
        ms = {b: [] for b in BATCHES}
        for _ in range(a.reps):
            for b in BATCHES:
                ms[b].append(per_eval_ms(path, name, t, b))
        quantized = any(n.op_type in ("QuantizeLinear", "DequantizeLinear") for n in onnx.load(path).graph.node)
        top = pk[f"{cpus} threads"]["int8_avx2_gops" if quantized else "fp32_fma_avx2_gflops"]
        r = {"gflop_per_sample": c["heavy_flops"] / 1e9, "other_gflop_per_sample": c["other_flops"] / 1e9,
             "int8": quantized, "peak": top, "ms_per_eval": {}, "gflops": {}, "fraction_of_peak": {}}
        for b in BATCHES:
            m = float(np.median(ms[b]))
            g = c["heavy_flops"] * b / (m * 1e-3) / 1e9
            r["ms_per_eval"][b], r["gflops"][b], r["fraction_of_peak"][b] = m, g, g / top
        rows[label] = r
        print(f"{label:16s} {r['gflop_per_sample']:.4f} GFLOP/sample  "
              + "  ".join(f"b{b}: {r['ms_per_eval'][b]:7.2f} ms {r['gflops'][b]:6.1f} GFLOP/s "
                          f"({100 * r['fraction_of_peak'][b]:4.1f} %)" for b in BATCHES), flush=True)
    out = {"machine": machine(), "peak": pk, "steps": STEPS, "models": rows}
    Path(a.json).write_text(json.dumps(out, indent=1) + "\n")
    print(f"peaks: {json.dumps(pk)}\nwrote {a.json}")


if __name__ == "__main__":
    main()
