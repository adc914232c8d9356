"""Does the std say which answers to trust? One network against a deep ensemble, on held-out cases.

    python3 bench/ensemble_uncertainty.py models/poisson.onnx work/poisson_ens.onnx \
        --calib models/poisson/calib --test "test split=models/poisson" "fresh draws=work/poisson_fresh" \
        [--samples 18] [--json out.json]

Each model is first calibrated on the calibration cases (a copy: `dgmf calibrate --out`, each with its
recommended sampler unless --sampler names one for all), and a locally adaptive scale is fitted on the same
cases (bench/local_calibration.py). Then it predicts each case set with `--samples` samples (a multiple of
the member count weights the members equally), and for both the single and the local scale the report
gives: the mean and worst relative L2 of the ensemble mean, the ±1σ/±2σ coverage (points with std exactly
0, values the model imposes, left out), spread-skill RMS(std)/RMS(error), and per-case Spearman
correlations: the std RMS against the RMS error (its own units) and against the relative error, the std RMS
relative to the prediction's RMS against the relative error, and 1 / RMS(prediction) alone (the control:
how much of the relative ranking the prediction's size gives with no std at all). Risk-coverage: answer
only the q most confident cases and report the mean and the worst relative error among those answered, for
q from 10 % to 100 %; the oracle ranks by the true error, the best any ranking can do.
"""
import argparse
import json
import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np
from scipy.stats import spearmanr

import local_calibration
from dgmf_train import engine
from dgmf_train.contract import read_metadata
from dgmf_train.testsets import cases_fidelity_arg, load_cases, per_case_error

QS = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0)


def cases_of(t):
    """Each row's case index 0..n-1 (in the order of np.unique(case)) and each case's parameters."""
    _, first, row_case = np.unique(t.get("case", np.arange(len(t["params"]))), return_index=True,
                                     return_inverse=True)
    return row_case, np.asarray(t["params"], np.float64)[first]


def case_rms(a, row_case):
    """The RMS of `a` over each case's rows and values, in case order."""
    a = np.asarray(a, np.float64).reshape(len(a), -1)
    return np.sqrt(np.array([np.mean(a[row_case == c] ** 2) for c in range(row_case.max() + 1)]))


def risk_coverage(rank_by, err):
    """(q, mean error, worst error) answering the ceil(q·n) cases with the smallest `rank_by`."""
    order = np.argsort(rank_by, kind="stable")
    rows = []
    for q in QS:
        k = max(1, int(np.ceil(q * len(err))))
        kept = err[order[:k]]
        rows.append((q, float(kept.mean()), float(kept.max())))
    return rows


def scores(mean, std, t):
    """The uncertainty's report on one case set: coverage, spread-skill, and how well the per-case std RMS
    ranks the cases, as it is (against the RMS error, its own units) and relative to the prediction's RMS
    (against the relative L2 error the docs report); `norm` ranks by 1 / RMS(mean) alone, the control
    that says how much of the relative ranking the prediction's size gives without any std."""
    row_case = cases_of(t)[0]
    err = per_case_error(mean, t)
    ref = t["u"].astype(np.float64)
    live = std > 0
    z = np.abs(mean - ref)[live] / std[live]
    rms, size, abs_err = case_rms(std, row_case), case_rms(mean, row_case), case_rms(mean - ref, row_case)
    rank = lambda a, b: float(spearmanr(a, b).statistic)
    return dict(mean_rel_l2=float(err.mean()), worst_rel_l2=float(err.max()), coverage_1=float(np.mean(z <= 1)),
                coverage_2=float(np.mean(z <= 2)),
                spread_skill=float(np.sqrt(np.mean(std[live] ** 2) / np.mean((mean - ref)[live] ** 2))),
                spearman=rank(rms, err), spearman_abs=rank(rms, abs_err), spearman_rel=rank(rms / size, err),
                spearman_norm=rank(1 / size, err),
                risk_coverage=risk_coverage(rms, err), risk_coverage_rel=risk_coverage(rms / size, err),
                risk_coverage_norm=risk_coverage(1 / size, err), oracle=risk_coverage(err, err))


def fit_local(mean, std, t):
    """local_calibration.fit on the calibration cases' prediction."""
    row_case, params = cases_of(t)
    ref = t["u"].astype(np.float64)
    live = std > 0
    point_case = np.broadcast_to(row_case.reshape((-1,) + (1,) * (std.ndim - 1)), std.shape)[live]
    return local_calibration.fit(params, case_rms(mean - ref, row_case), case_rms(std, row_case),
                                 case_rms(mean, row_case), np.abs(mean - ref)[live], std[live], point_case)


def local_std(mean, std, t, local, factor):
    """The std rescaled by the local scale of each row's case."""
    row_case, params = cases_of(t)
    g = local.log_scale(params, np.log(case_rms(std, row_case)), np.log(case_rms(mean, row_case)))
    return std * (factor * np.exp(g))[row_case].reshape((-1,) + (1,) * (std.ndim - 1))


def evaluate(model, calib, sets, samples, sampler, steps, work):
    """Calibrates a copy of `model` on `calib`, fits the local scale on the calibration cases, and
    scores both the single and the local scale on each case set of `sets` ({label: cases})."""
    copy = Path(work) / Path(model).name
    shutil.copy(model, copy)
    subprocess.run(engine.calibrate_command(copy, calib, samples=samples, sampler=sampler, steps=steps,
                                            out=copy), check=True, stdout=subprocess.DEVNULL)
    meta = read_metadata(copy)

    def predict(t, what):
        fid = cases_fidelity_arg(t, meta.levels is not None, what)
        mean, std, report = engine.predict(copy, t["params"], fid, coords=t.get("coords"), samples=samples,
                                           std=True, sampler=sampler, steps=steps)
        used.update(sampler=report["sampler"], steps=report["steps"], nfe=report["nfe"])
        return mean, std

    used = {}

    cal = load_cases(calib)
    local, factor = fit_local(*predict(cal, "the calibration cases"), cal)
    out = dict(model=str(model), members=int(meta.raw.get("dgmf.members", 1)), samples=samples, **used,
               std_scale=meta.raw.get("dgmf.std_scale"), local=dict(choice=local.describe(), factor=factor,
                                                                  loo_mse=local.loo_mse), sets={})
    for label, t in sets.items():
        mean, std = predict(t, label)
        out["sets"][label] = dict(single=scores(mean, std, t), local=scores(mean, local_std(mean, std, t, local, factor), t))
    return out


def name(r):
    return Path(r["model"]).name


def report(results, label, title):
    """The markdown tables of one case set."""
    print(f"\n### {title}\n")
    print("| model | networks | scale | rel. L2 mean | worst | ±1σ | ±2σ | spread-skill | Spearman: std, RMS error | "
          "std, rel. error | std / RMS(mean), rel. error | 1 / RMS(mean) alone |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for r in results:
        for kind in ("single", "local"):
            x = r["sets"][label][kind]
            print(f"| {name(r)} | {r['members']} | {kind} | {100 * x['mean_rel_l2']:.2f} % | "
                  f"{100 * x['worst_rel_l2']:.2f} % | {100 * x['coverage_1']:.1f} % | "
                  f"{100 * x['coverage_2']:.1f} % | {x['spread_skill']:.2f} | {x['spearman_abs']:.2f} | "
                  f"{x['spearman']:.2f} | {x['spearman_rel']:.2f} | {x['spearman_norm']:.2f} |")
    print("\nrisk-coverage: answer the q most confident cases (by std RMS / by std RMS relative to the "
          "prediction's RMS); mean / worst relative error among them\n")
    cols = [(r, kind, by) for r in results for kind in ("single", "local")
            for by in ("risk_coverage", "risk_coverage_rel")]
    print("| q | " + " | ".join(f"{name(r)}, {kind}, {'relative' if by.endswith('rel') else 'std'}"
                               for r, kind, by in cols) + " | 1 / RMS(mean) alone (first model) | oracle (first model) |")
    print("|---|" + "---|" * (len(cols) + 2))
    for i, q in enumerate(QS):
        cells = [r["sets"][label][kind][by][i] for r, kind, by in cols]
        first = results[0]["sets"][label]["single"]
        extra = [first["risk_coverage_norm"][i], first["oracle"][i]]
        print(f"| {q:.0%} | " + " | ".join(f"{100 * m:.2f} / {100 * w:.2f} %" for _, m, w in cells + extra) + " |")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("models", nargs="+", help="score models (.onnx): one network, an ensemble, ...")
    ap.add_argument("--calib", required=True, help="calibration case directory")
    ap.add_argument("--test", required=True, nargs="+", metavar="[LABEL=]DIR",
                    help="case directories to score (the test split, fresh draws: bench/fresh_cases.py), each "
                         "optionally named: `test=models/poisson`")
    ap.add_argument("--samples", type=int, default=18, help="samples per case (default 18)")
    ap.add_argument("--sampler", help="one sampler for every model (default: each model's recommended one; "
                    "the shipped ensembles recommend their first member's)")
    ap.add_argument("--steps", type=int, help="its levels (default: the sampler's)")
    ap.add_argument("--json", help="write the results here")
    a = ap.parse_args()
    sets = {label: load_cases(d) for label, _, d in (x.rpartition("=") if "=" in x else (x, "", x)
                                                     for x in a.test)}
    with tempfile.TemporaryDirectory() as work:
        results = [evaluate(m, a.calib, sets, a.samples, a.sampler, a.steps, work) for m in a.models]
    print(f"{a.samples} samples, {a.sampler or 'recommended sampler'}{f' {a.steps} levels' if a.steps else ''}, each model calibrated on {a.calib} (single scale: "
          "dgmf calibrate; local: bench/local_calibration.py, " +
          ", ".join(f"{name(r)}: {r['local']['choice']}" for r in results) + ")")
    for label, t in sets.items():
        report(results, label, f"{label}: {len(np.unique(t['case']))} cases")
    if a.json:
        Path(a.json).write_text(json.dumps(dict(calib=a.calib, samples=a.samples, sampler=a.sampler,
                                                steps=a.steps, results=results), indent=1) + "\n")
        print(f"\nwrote {a.json}")


if __name__ == "__main__":
    main()
