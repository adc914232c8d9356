"""A student (dgmf-train distill) beside its teacher on a shipped test split: one-sample error, the
16-sample mean's error, ±2σ coverage after calibration on the shipped calibration split, NFE and the wall
time of the 16-sample ensemble, both through libdgmf in one run.

    cd training && python3 -m dgmf_reports.students poisson runs/poisson_fast.onnx [--cases 64]
    cd training && python3 -m dgmf_reports.students poisson ../models/poisson_fast.onnx \
        --ci-json ../models/poisson/accuracy_fast.json     (a shipped student: the figures CI checks)
    cd training && python3 -m dgmf_reports.students poisson ../models/poisson_ens.onnx \
        --ci-json ../models/poisson/accuracy_ens.json      (a shipped deep ensemble, the same figures)
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


def ci_figures(name, model, cases=None):
    """The figures crates/dgmf/tests/accuracy.rs checks for a shipped model, as it computes them: the
    model's own sampler, seed 0; one sample (a deep ensemble: one per member, so that the figures are
    the ensemble's and not its first network's) on the first `cases` test cases and on the box set; the
    ±2σ coverage of the 16-sample calibrated std on the same cases (points with std 0 left out). A deep
    ensemble uses `dgmf calibrate`'s default count, 16 rounded up to a multiple of its members."""
    import numpy as np
    from dgmf_train.contract import read_metadata
    from dgmf_train.engine import balanced_samples
    from .accuracy import CI_CASES, CI_CASES_OF  # the teacher's CI subset: the same cases
    cases = cases or CI_CASES_OF.get(name, CI_CASES)
    meta = read_metadata(model).raw
    members = int(meta.get("dgmf.members", 1))
    samples = balanced_samples(16, members)
    t = subset(load_testset(name), cases)
    box = load_testset(name, "box")
    with tempfile.TemporaryDirectory() as tmp:
        one, _, _ = predict_testset(name, t, None, None, tmp, samples=members, model=model)
        boxed, _, _ = predict_testset(name, box, None, None, tmp, samples=members, model=model)
        mean, std, _ = predict_testset(name, t, None, None, tmp, samples=samples, std=True, model=model)
    e, eb = per_case_error(one, t), per_case_error(boxed, box)
    live = std > 0
    cov = float((np.abs(mean - t["u"])[live] <= 2 * std[live]).mean())
    return dict(spec=meta["dgmf.sampler"], cases=cases, seed=0, samples=members, mean=float(e.mean()),
                worst=float(e.max()), box=dict(cases=len(eb), worst=float(eb.max())),
                calibration=dict(samples=samples, seed=0, cases=cases, coverage_2sigma=cov,
                                 scale=float(np.float32(meta["dgmf.std_scale"]))))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("bench")
    ap.add_argument("student", help="the student's .onnx (calibrated here on a copy)")
    ap.add_argument("--cases", type=int, default=64, help="first test cases to score")
    ap.add_argument("--json", help="also write the rows here")
    ap.add_argument("--ci-json", help="write the figures the engine's accuracy test checks for this "
                                      "(shipped, calibrated) student or ensemble here, and nothing else")
    a = ap.parse_args(argv)
    if a.ci_json:
        Path(a.ci_json).write_text(json.dumps(ci_figures(a.bench, a.student), indent=1) + "\n")
        return print(f"wrote {a.ci_json}")
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
