#!/usr/bin/env python3
"""A flow time series (16 snapshots) from the shipped model through examples/flow (C++, one batched call)
against the flow solver on the finest training mesh (64², numpy/scipy), per case and ensemble size.

    python3 bench/flow_speed.py [--cases 3] [--samples 1 4 8] [--models flow flow_fast]
                                [--json docs/figures/flow_speed.json]

Builds libdgmf and the example into build/ (make install, CMake). For each of the first --cases test
cases: `python3 -m dgmf_data.flow --write-case` solves it on the 64² and 128² meshes (the solve's own wall
time, no interpreter start-up), then the example predicts the series with each --samples (the model's
recommended sampler; warm: the median of 3 calls after a first one) and compares both with the 128²
reference. --models names the shipped files to run (models/<name>.onnx; default: the teacher, and the
few-step student flow_fast when it exists), each on the same cases and the same solver timing. Run it
on a quiet machine: both sides are timed on whatever else is running.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "training"))
from dgmf_train.testsets import load_testset, machine  # noqa: E402


def build():
    prefix, build_dir = REPO / "build" / "prefix", REPO / "build" / "ex-flow"
    subprocess.run(["make", "--no-print-directory", "install", f"PREFIX={prefix}"], cwd=REPO, check=True,
                   stdout=subprocess.DEVNULL)
    subprocess.run(["cmake", "-S", str(REPO / "examples" / "flow"), "-B", str(build_dir),
                    f"-DCMAKE_PREFIX_PATH={prefix}"], check=True, stdout=subprocess.DEVNULL)
    subprocess.run(["cmake", "--build", str(build_dir)], check=True, stdout=subprocess.DEVNULL)
    return build_dir / "flow"


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--cases", type=int, default=3)
    ap.add_argument("--samples", type=int, nargs="+", default=[1, 4, 8])
    ap.add_argument("--models", nargs="+",
                    default=["flow"] + (["flow_fast"] if (REPO / "models" / "flow_fast.onnx").exists() else []))
    ap.add_argument("--json", default=str(REPO / "docs" / "figures" / "flow_speed.json"))
    a = ap.parse_args(argv)
    exe = build()
    t = load_testset("flow")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for c in range(a.cases):
            params = t["params"][np.flatnonzero(t["case"] == c)[0]]
            case = Path(tmp) / f"case{c}"
            subprocess.run([sys.executable, "-m", "dgmf_data.flow", "--write-case", str(case), "--meshes", "64",
                            "128", "--params", *(repr(float(p)) for p in params)], cwd=REPO / "training", check=True,
                           stdout=subprocess.DEVNULL)
            for model, s in ((m, s) for m in a.models for s in a.samples):
                out = Path(tmp) / f"r{c}_{model}_{s}.json"
                subprocess.run([str(exe), "--model", str(REPO / "models" / f"{model}.onnx"), "--case", str(case),
                                "--samples", str(s), "--json", str(out)], check=True, stdout=subprocess.DEVNULL)
                r = json.loads(out.read_text())
                solver = r["solvers"][0]
                rows.append(dict(model=model, case=c, params=[float(p) for p in params], samples=s, nfe=r["nfe"],
                                 predict_s=r["predict_s"], predict_first_s=r["predict_first_s"],
                                 solver_s=solver["seconds"], speedup=solver["speedup"],
                                 dgmf_rel_l2=r["dgmf"]["rel_l2"], dgmf_vorticity=r["dgmf"]["vorticity_rel_l2"],
                                 solver_rel_l2=solver["rel_l2"], solver_vorticity=solver["vorticity_rel_l2"]))
                x = rows[-1]
                print(f"{model} case {c} samples {s:2d}: series {x['predict_s']:.3f} s (first call "
                      f"{x['predict_first_s']:.3f} s), 64² solver {x['solver_s']:.2f} s, {x['speedup']:.1f}x; "
                      f"rel. L2 DGMF {x['dgmf_rel_l2']:.4f} / solver {x['solver_rel_l2']:.4f}; vorticity "
                      f"{x['dgmf_vorticity']:.4f} / {x['solver_vorticity']:.4f}", flush=True)
    Path(a.json).write_text(json.dumps(dict(machine=machine(), rows=rows), indent=1) + "\n")
    print(f"wrote {a.json}")


if __name__ == "__main__":
    main()
