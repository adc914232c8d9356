#!/usr/bin/env python3
"""fp16 vs fp32 on the CPU: the shipped Poisson model and its fp16 export (models/poisson_fp16.onnx,
written by `python3 -m dgmf_train.export ... --fp16`), same requests through `dgmf predict`.

    python3 bench/fp16.py [--cases 32] [--reps 3]

Accuracy: relative L2 error against the test set (first --cases cases, the library default sampler, ancestral with 30 levels, seed 0).
Speed: median wall ms per prediction of the whole batch, and the ONNX Runtime share, interleaved runs.
"""
import argparse
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "training"))
from dgmf_train import engine  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cases", type=int, default=32)
    ap.add_argument("--reps", type=int, default=3)
    args = ap.parse_args()
    t = REPO / "models" / "poisson"
    ref = np.load(t / "u.npy")[: args.cases].astype(np.float64)
    rows = {}
    for batch in (1, args.cases):
        params = np.load(t / "params.npy")[:batch]
        for _ in range(args.reps):
            for kind in ("fp32", "fp16"):
                model = REPO / "models" / ("poisson.onnx" if kind == "fp32" else "poisson_fp16.onnx")
                mean, _, r = engine.predict(model, params, 2)
                rows.setdefault((kind, batch), []).append(r["wall_ms"])
                if batch == args.cases:
                    u = mean.astype(np.float64).reshape(len(ref), -1)
                    e = np.linalg.norm(u - ref.reshape(len(ref), -1), axis=1) / np.linalg.norm(
                        ref.reshape(len(ref), -1), axis=1)
                    rows[(kind, "err")] = (e.mean(), e.max())
                    rows[(kind, "out")] = u
    d = np.abs(rows[("fp16", "out")] - rows[("fp32", "out")]).max()
    print(f"| model | rel. L2 mean ({args.cases} cases) | worst | ms / prediction, batch 1 | "
          f"ms / prediction, batch {args.cases} |")
    print("|---|---:|---:|---:|---:|")
    for kind in ("fp32", "fp16"):
        m, w = rows[(kind, "err")]
        print(f"| {kind} | {m:.4f} | {w:.4f} | {np.median(rows[(kind, 1)]):.1f} | "
              f"{np.median(rows[(kind, args.cases)]):.1f} |")
    print(f"\nlargest |fp16 - fp32| over the predicted fields: {d:.4f}")


if __name__ == "__main__":
    main()
