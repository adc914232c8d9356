#!/usr/bin/env python3
"""Time per query with 16 samples: the library default (ancestral 30) against each shipped model's
recommended sampler (its dgmf.sampler), through `dgmf predict`, side by side in one run.

    python3 bench/fewstep_speed.py [--models poisson heat burgers topopt] [--reps 5] [--samples 16]
                                   [--json docs/figures/fewstep_speed.json]

One query (the first test case; Burgers: its first time slice), 16 samples, ONNX Runtime's default threads,
the model loaded once per process; each timing is the second of two runs (`--repeat 2`); the two settings
alternate, and the median over --reps repetitions is reported with the ratio. The accuracy of both settings
against pc-1000 is docs/nfe_sweep.md's (bench/nfe_sweep.py).
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "training"))
from dgmf_train import engine  # noqa: E402
from dgmf_train.testsets import fidelity_arg, load_testset, machine  # noqa: E402

SETTINGS = {"before: ancestral 30": ("ancestral", 30), "recommended": (None, None)}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--models", nargs="+", default=["poisson", "heat", "burgers", "topopt"])
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--samples", type=int, default=16)
    ap.add_argument("--json", default=str(REPO / "docs" / "figures" / "fewstep_speed.json"))
    a = ap.parse_args(argv)
    out = {"machine": machine(), "samples": a.samples, "models": {}}
    for name in a.models:
        t = load_testset(name)
        model = REPO / "models" / f"{name}.onnx"
        coords = t["coords"][:1] if "coords" in t else None
        ms = {k: [] for k in SETTINGS}
        nfe = {}
        for _ in range(a.reps):
            for k, (sampler, steps) in SETTINGS.items():
                _, _, r = engine.predict(model, t["params"][:1], fidelity_arg(name, t), coords=coords,
                                      sampler=sampler, steps=steps, samples=a.samples, repeat=2)
                ms[k].append(r["wall_ms"])
                nfe[k] = (r["sampler"], r["steps"], r["nfe"])
        med = {k: float(np.median(v)) for k, v in ms.items()}
        ratio = med["before: ancestral 30"] / med["recommended"]
        out["models"][name] = {"ms": ms, "median_ms": med, "setting": nfe, "speedup": ratio}
        print(f"{name:8s} " + "  ".join(f"{k} ({nfe[k][0]} {nfe[k][1]}, {nfe[k][2]} NFE): {med[k]:8.1f} ms"
                                        for k in SETTINGS) + f"  -> {ratio:.2f}x", flush=True)
    Path(a.json).write_text(json.dumps(out, indent=1) + "\n")
    print(f"wrote {a.json}")


if __name__ == "__main__":
    main()
