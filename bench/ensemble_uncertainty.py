"""Does the std say which answers to trust? One network against a deep ensemble, on held-out cases.

    python3 bench/ensemble_uncertainty.py models/poisson.onnx work/poisson_ens.onnx \
        --calib models/poisson/calib --test models/poisson [--samples 18] [--json out.json]

Each model is first calibrated the same way on the calibration cases (a copy: `dgmf calibrate --out`,
with one sampler for all, default `ancestral` 6 levels, so that only the networks differ), then predicts the
test cases with `--samples` samples (a multiple of the member count weights the members equally). Per
model: the mean relative L2 of the ensemble mean, the ±1σ/±2σ coverage of the calibrated std (points with
std exactly 0, values the model imposes, left out), spread-skill RMS(std)/RMS(error), the per-case
Spearman correlation of the std's RMS with the error, and the risk-coverage table: answer only the q most
confident cases (smallest std RMS) and report the mean and the worst error among those answered, for q from
10 % to 100 %; the `oracle` row ranks by the true error, the best any ranking can do.
"""
import argparse
import json
import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np
from scipy.stats import spearmanr

from dgmf_train import engine
from dgmf_train.contract import read_metadata
from dgmf_train.testsets import cases_fidelity_arg, load_cases, per_case_error

QS = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0)


def case_rms(std, t):
    """The RMS of the std over each case's rows and values, in case order."""
    cases = t.get("case", np.arange(len(std)))
    return np.array([np.sqrt(np.mean(std[cases == c].astype(np.float64) ** 2)) for c in np.unique(cases)])


def risk_coverage(rank_by, err):
    """(q, mean error, worst error) answering the ceil(q·n) cases with the smallest `rank_by`."""
    order = np.argsort(rank_by, kind="stable")
    rows = []
    for q in QS:
        k = max(1, int(np.ceil(q * len(err))))
        kept = err[order[:k]]
        rows.append((q, float(kept.mean()), float(kept.max())))
    return rows


def evaluate(model, calib, t, samples, sampler, steps, work):
    copy = Path(work) / Path(model).name
    shutil.copy(model, copy)
    subprocess.run(engine.calibrate_command(copy, calib, samples=samples, sampler=sampler, steps=steps,
                                            out=copy), check=True, stdout=subprocess.DEVNULL)
    meta = read_metadata(copy)
    fid = cases_fidelity_arg(t, meta.levels is not None, "the test cases")
    mean, std, _ = engine.predict(copy, t["params"], fid, coords=t.get("coords"), samples=samples, std=True)
    err = per_case_error(mean, t)
    ref = t["u"].astype(np.float64)
    live = std > 0
    z = np.abs(mean - ref)[live] / std[live]
    rms = case_rms(std, t)
    return dict(model=str(model), members=int(meta.raw.get("dgmf.members", 1)), samples=samples,
                std_scale=meta.raw.get("dgmf.std_scale"), mean_rel_l2=float(err.mean()),
                worst_rel_l2=float(err.max()), coverage_1=float(np.mean(z <= 1)), coverage_2=float(np.mean(z <= 2)),
                spread_skill=float(np.sqrt(np.mean(std[live] ** 2) / np.mean((mean - ref)[live] ** 2))),
                spearman=float(spearmanr(rms, err).statistic),
                risk_coverage=risk_coverage(rms, err), oracle=risk_coverage(err, err))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("models", nargs="+", help="score models (.onnx): one network, an ensemble, ...")
    ap.add_argument("--calib", required=True, help="calibration case directory")
    ap.add_argument("--test", required=True, help="test case directory")
    ap.add_argument("--samples", type=int, default=18, help="samples per case (default 18)")
    ap.add_argument("--sampler", default="ancestral", help="one sampler for every model (default ancestral)")
    ap.add_argument("--steps", type=int, default=6, help="its levels (default 6)")
    ap.add_argument("--json", help="write the results here")
    a = ap.parse_args()
    t = load_cases(a.test)
    results = []
    with tempfile.TemporaryDirectory() as work:
        for m in a.models:
            results.append(evaluate(m, a.calib, t, a.samples, a.sampler, a.steps, work))
    print(f"{len(np.unique(t.get('case', np.arange(len(t['params'])))))} test cases of {a.test}, "
          f"{a.samples} samples, {a.sampler} {a.steps}, each model calibrated on {a.calib}\n")
    print("| model | members | rel. L2 mean | worst | ±1σ | ±2σ | spread-skill | Spearman(std, error) |")
    print("|---|---|---|---|---|---|---|---|")
    for r in results:
        print(f"| {Path(r['model']).name} | {r['members']} | {100 * r['mean_rel_l2']:.2f} % | "
              f"{100 * r['worst_rel_l2']:.2f} % | {100 * r['coverage_1']:.1f} % | {100 * r['coverage_2']:.1f} % | "
              f"{r['spread_skill']:.2f} | {r['spearman']:.2f} |")
    print("\nrisk-coverage: answer the q most confident cases; mean / worst error among them")
    print("| q | " + " | ".join(Path(r["model"]).name for r in results) + " | oracle (first model) |")
    print("|---|" + "---|" * (len(results) + 1))
    for i, q in enumerate(QS):
        cells = [f"{100 * r['risk_coverage'][i][1]:.2f} / {100 * r['risk_coverage'][i][2]:.2f} %" for r in results]
        o = results[0]["oracle"][i]
        print(f"| {q:.0%} | " + " | ".join(cells) + f" | {100 * o[1]:.2f} / {100 * o[2]:.2f} % |")
    if a.json:
        Path(a.json).write_text(json.dumps(results, indent=1) + "\n")
        print(f"\nwrote {a.json}")


if __name__ == "__main__":
    main()
