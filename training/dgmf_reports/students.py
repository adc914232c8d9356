"""A student (dgmf-train distill) beside its teacher on a shipped test split: one-sample error, the
16-sample mean's error, ±2σ coverage after calibration on the shipped calibration split, NFE and the wall
time of the 16-sample ensemble, both through libdgmf in one run.

    cd training && python3 -m dgmf_reports.students poisson runs/poisson_fast.onnx [--cases 64]
"""
from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import tempfile
from pathlib import Path

from dgmf_train import engine
from dgmf_train.compare import coverage
from dgmf_train.paths import REPO
from dgmf_train.testsets import load_testset, per_case_error, predict_testset, subset


def measure(name, model, t, work, samples=16):
    one, _, _ = predict_testset(name, t, None, None, work, samples=1, model=model)
    mean, std, report = predict_testset(name, t, None, None, work, samples=samples, std=True, model=model)
    _, cov2 = coverage(mean, std, t["u"].astype(float))
    return dict(model=str(model), nfe=report["nfe"], sampler=report["sampler"],
                one_sample=float(per_case_error(one, t).mean()),
                mean_of=samples, mean_error=float(per_case_error(mean, t).mean()),
                coverage_2sigma=float(cov2), ensemble_ms_per_case=report["wall_ms"] / len(set(t["case"])))


def calibrated(model, name, out):
    """A copy of `model` with dgmf.std_scale fitted on the shipped calibration split (its own sampler)."""
    shutil.copy(model, out)
    subprocess.run(engine.calibrate_command(out, REPO / "models" / name / "calib", out=out), check=True,
                   stdout=subprocess.DEVNULL)
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("bench")
    ap.add_argument("student", help="the student's .onnx (calibrated here on a copy)")
    ap.add_argument("--cases", type=int, default=64, help="first test cases to score")
    ap.add_argument("--json", help="also write the rows here")
    a = ap.parse_args(argv)
    t = subset(load_testset(a.bench), a.cases)
    with tempfile.TemporaryDirectory() as tmp:
        rows = [measure(a.bench, REPO / "models" / f"{a.bench}.onnx", t, tmp),
                measure(a.bench, calibrated(a.student, a.bench, Path(tmp) / "student.onnx"), t, tmp)]
    rows[1]["model"] = str(a.student)
    print(f"{a.bench}, first {a.cases} test cases (exact references)")
    print(f"{'model':<12} {'sampler':<12} {'NFE':>4} {'1 sample':>9} {'mean of 16':>11} {'±2σ cov.':>9} "
          f"{'ms/case (16)':>13}")
    for label, r in zip(("teacher", "student"), rows):
        print(f"{label:<12} {r['sampler']:<12} {r['nfe']:>4} {r['one_sample']:>9.4f} {r['mean_error']:>11.4f} "
              f"{100 * r['coverage_2sigma']:>8.1f}% {r['ensemble_ms_per_case']:>13.1f}")
    if a.json:
        Path(a.json).write_text(json.dumps(rows, indent=1) + "\n")


if __name__ == "__main__":
    main()
