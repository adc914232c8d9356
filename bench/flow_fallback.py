#!/usr/bin/env python3
"""docs/flow.md's fallback policy: answer with the DGMF series when its std is small, else run the solver.

    python3 bench/flow_fallback.py [--calib-cases 8] [--test-cases 16] [--tolerance 0.03]
        [--model models/flow.onnx] [--samples 8]

Builds libdgmf and examples/flow (as bench/flow_speed.py does). For each case of the shipped flow model's
calibration and test sets (models/flow/calib, models/flow), `python3 -m dgmf_data.flow --write-case` solves
it on the 64² mesh (the solver) and the 128² mesh (the reference); the example predicts its series
(--samples, the model's recommended sampler; --model, e.g. the deep ensemble models/flow_ens.onnx) and reports the RMS of its calibrated std over the series
(`std_rms`). A policy with threshold T answers a case with the DGMF series when std_rms <= T and runs the 64²
solver otherwise. For every T: the share of solver runs saved, the mean and worst relative L2 of the answers
against the reference, and the wall time. T is chosen on the calibration cases (the largest whose worst
error is within --tolerance) and reported on the test cases. Writes --json
(default docs/figures/flow_fallback.json).
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
sys.path.insert(0, str(REPO / "bench"))
from dgmf_train.testsets import load_testset, machine  # noqa: E402
from fallback_policy import at, choose  # noqa: E402
from fallback_policy import sweep as policy_sweep  # noqa: E402
from flow_speed import build  # noqa: E402


def run_cases(exe, model, samples, t, n, tmp, tag):
    rows = []
    for c in np.unique(t["case"])[:n]:
        params = t["params"][np.flatnonzero(t["case"] == c)[0]]
        case = Path(tmp) / f"{tag}{c}"
        subprocess.run([sys.executable, "-m", "dgmf_data.flow", "--write-case", str(case), "--meshes", "64", "128",
                        "--params", *(repr(float(p)) for p in params)], cwd=REPO / "training", check=True,
                       stdout=subprocess.DEVNULL)
        out = Path(tmp) / f"{tag}{c}.json"
        subprocess.run([str(exe), "--model", str(model), "--case", str(case), "--samples", str(samples),
                        "--repeat", "1", "--json", str(out)], check=True, stdout=subprocess.DEVNULL)
        r = json.loads(out.read_text())
        s = r["solvers"][0]
        rows.append(dict(case=int(c), params=[float(p) for p in params], std_rms=r["std_rms"],
                         dgmf_rel_l2=r["dgmf"]["rel_l2"], solver_rel_l2=s["rel_l2"], dgmf_s=r["predict_s"],
                         solver_s=s["seconds"]))
        x = rows[-1]
        print(f"{tag} case {c}: std_rms {x['std_rms']:.4f}, rel. L2 DGMF {x['dgmf_rel_l2']:.4f} / 64² solver "
              f"{x['solver_rel_l2']:.4f}", flush=True)
    return rows


def errors(rows):
    """(std RMS, DGMF's relative L2, the 64² solver's) per case."""
    col = lambda k: np.array([r[k] for r in rows])
    return col("std_rms"), col("dgmf_rel_l2"), col("solver_rel_l2")


def sweep(rows):
    """The policy's curve: DGMF's error where it answers, the 64² solver's where the solver ran."""
    col = lambda k: [r[k] for r in rows]
    return policy_sweep(*errors(rows), col("dgmf_s"), col("solver_s"))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--calib-cases", type=int, default=8)
    ap.add_argument("--test-cases", type=int, default=16)
    ap.add_argument("--tolerance", type=float, default=0.03, help="largest relative L2 accepted (default 3 %%)")
    ap.add_argument("--json", default=str(REPO / "docs" / "figures" / "flow_fallback.json"))
    ap.add_argument("--model", default=str(REPO / "models" / "flow.onnx"))
    ap.add_argument("--samples", type=int, default=8, help="DGMF samples per case (default 8)")
    a = ap.parse_args(argv)
    exe = build()
    with tempfile.TemporaryDirectory() as tmp:
        calib = run_cases(exe, a.model, a.samples, load_testset("flow", "calib"), a.calib_cases, tmp, "calib")
        test = run_cases(exe, a.model, a.samples, load_testset("flow"), a.test_cases, tmp, "test")
    chosen = choose(sweep(calib), a.tolerance)
    print(f"\nchosen on the {len(calib)} calibration cases: T = {chosen:.4g} (the largest with worst error <= "
          f"{a.tolerance:.0%})\n")
    print("| split | T | solver runs saved | mean rel. L2 | worst | seconds per case |")
    print("|---|---|---|---|---|---|")
    result = {}
    for name, rows in (("calibration", calib), ("test", test)):
        t, share, mean, worst, sec = at(sweep(rows), chosen)
        print(f"| {name} | {chosen:.4g} | {share:.0%} | {100 * mean:.2f} % | {100 * worst:.2f} % | {sec:.2f} |")
        result[name] = dict(share_saved=share, mean_rel_l2=mean, worst_rel_l2=worst, seconds=sec)
    print("\nthe trade-off on the test cases:\n| T | solver runs saved | mean rel. L2 | worst | seconds per case |")
    print("|---|---|---|---|---|")
    curve = sweep(test)
    for t, share, mean, worst, sec in curve:
        print(f"| {t:.4g} | {share:.0%} | {100 * mean:.2f} % | {100 * worst:.2f} % | {sec:.2f} |")
    Path(a.json).write_text(json.dumps(dict(machine=machine(), command=" ".join(sys.argv), tolerance=a.tolerance,
                                            chosen_T=chosen, calib=calib, test=test, result=result, curve=curve),
                                       indent=1) + "\n")
    print(f"wrote {a.json}")


if __name__ == "__main__":
    main()
