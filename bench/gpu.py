#!/usr/bin/env python3
"""CUDA execution provider against the CPU on the shipped models, through `dgmf predict`.

    python3 bench/gpu.py --exe target/release/dgmf --ort-lib /path/to/gpu/libonnxruntime.so.1.31.1 \
                         [--models poisson heat burgers topopt] [--json gpu.json]

Needs a GPU, a CLI built with `--features dgmf/cuda` and the GPU build of ONNX Runtime 1.31.1 (the PyPI
wheel onnxruntime-gpu==1.31.1, CUDA 13, with its cuDNN/cuBLAS/cuFFT libraries on LD_LIBRARY_PATH). For each
model and batch (1, 8, 64 queries, the first test cases), the library default (ancestral 30) and the model's
recommended sampler run on cuda and on cpu: ms per prediction of the whole batch (median of the warm runs
of `--repeat 3`, the first run, which pays CUDA's and cuDNN's set-up, reported apart) and the engine's own
share. Agreement: the deterministic `heun` 18 at batch 8 on both, max |cuda − cpu| relative to max |cpu|.

`--paths` (issue #29) times instead the engine's path before I/O binding and threaded noise
(`--noise-threads 1 --unbound-calls`) against today's default, side by side on the device, with each model's
recommended sampler at batch 1, 8, 64 and 512: ms per prediction, the engine's share outside ONNX Runtime,
and the achieved GFLOP/s (bench/flops.py's count × rows × NFE / time), to set against the card's peak.
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "training"))
from dgmf_train import engine  # noqa: E402
FIDELITY = {"poisson": "2", "heat": "0", "burgers": "2", "topopt": "2"}
SETTINGS = {"ancestral 30": ["--sampler", "ancestral", "--steps", "30"], "recommended": []}


def run(a, work, name, provider, batch, extra):
    d = REPO / "models" / name
    params = np.load(d / "params.npy")
    rows = np.arange(batch) % len(params)
    coords = np.load(d / "coords.npy")[rows] if (d / "coords.npy").exists() else None
    mean, _, r = engine.predict(REPO / "models" / f"{name}.onnx", params[rows], FIDELITY[name], coords=coords,
                                seed=0, repeat=3, exe=a.exe, work=work,
                                extra=["--provider", provider, "--ort-lib", a.ort_lib, *extra])
    runs = r["wall_ms_runs"]
    return {"ms": float(np.median(runs[1:])), "first_ms": runs[0], "nfe": r["nfe"],
            "engine_share": (r["wall_ms"] - r["ort_ms"]) / r["ort_ms"]}, mean


def paths(a, work):
    """The old path against the new one on the device, per model and batch."""
    import onnx
    sys.path.insert(0, str(REPO / "bench"))
    from flops import count
    out = {}
    for name in a.models:
        per_eval = count(onnx.load(str(REPO / "models" / f"{name}.onnx")))
        gflop = (per_eval["heavy_flops"] + per_eval["other_flops"]) / 1e9
        for batch in (1, 8, 64, 512):
            row = {}
            for label, extra in (("before", ["--noise-threads", "1", "--unbound-calls"]), ("now", [])):
                cell, _ = run(a, work, name, a.device, batch, extra)
                cell["gflops"] = gflop * batch * cell["nfe"] / (cell["ms"] / 1e3)
                row[label] = cell
            out[f"{name}, batch {batch}"] = row
            b, n = row["before"], row["now"]
            print(f"{name:8s} b{batch:<4d} before {b['ms']:8.2f} ms (engine {100 * b['engine_share']:5.1f} %)  "
                  f"now {n['ms']:8.2f} ms (engine {100 * n['engine_share']:5.1f} %)  {b['ms'] / n['ms']:5.2f}x  "
                  f"{n['gflops']:8.1f} GFLOP/s", flush=True)
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--exe", required=True)
    ap.add_argument("--ort-lib", required=True)
    ap.add_argument("--models", nargs="+", default=list(FIDELITY))
    ap.add_argument("--device", default="cuda")
    ap.add_argument("--json", default="gpu.json")
    ap.add_argument("--paths", action="store_true", help="old path against new on the device (#29)")
    a = ap.parse_args(argv)
    out = {}
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        if a.paths:
            Path(a.json).write_text(json.dumps(paths(a, work), indent=1) + "\n")
            return 0
        for name in a.models:
            res = out[name] = {"timing": {}, "agreement": None}
            for setting, extra in SETTINGS.items():
                for batch in (1, 8, 64):
                    cell = {}
                    for provider in (a.device, "cpu"):
                        cell[provider], _ = run(a, work, name, provider, batch, extra)
                    res["timing"][f"{setting}, batch {batch}"] = cell
                    g, c = cell[a.device], cell["cpu"]
                    print(f"{name:8s} {setting:13s} b{batch:<3d} cpu {c['ms']:8.1f} ms  {a.device} {g['ms']:8.1f} ms "
                          f"(first {g['first_ms']:.0f})  {c['ms'] / g['ms']:5.1f}x  engine share on "
                          f"{a.device} {100 * g['engine_share']:.1f} %", flush=True)
            heun = ["--sampler", "heun", "--steps", "18"]
            _, ug = run(a, work, name, a.device, 8, heun)
            _, uc = run(a, work, name, "cpu", 8, heun)
            res["agreement"] = float(np.abs(ug - uc).max() / np.abs(uc).max())
            print(f"{name:8s} heun 18 b8: max|{a.device} - cpu| / max|cpu| = {res['agreement']:.2e}", flush=True)
    Path(a.json).write_text(json.dumps(out, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
