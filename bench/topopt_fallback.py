"""docs/topopt.md's fallback policy: answer with the surrogate's design when its std is small, else run SIMP.

    python3 bench/topopt_fallback.py --exe build/topopt/topopt [--calib-cases 64] [--test-cases 64]
        [--tolerance 0.05] [--samples 8]

Runs examples/topopt (C++ SIMP + libdgmf) on the calibration and test load cases of the shipped L-bracket
model (models/topopt/calib, models/topopt): per case the RMS of the surrogate's calibrated std
(`std_rms`, dgmf_std_rms), the compliance of the surrogate's design alone and of cold SIMP, and their times.
A policy with threshold T answers a case with the surrogate's design when std_rms <= T and runs cold SIMP
otherwise; its gap on a case is c_answer / c_cold - 1 (0 where SIMP ran). For every T (each case's
std_rms) it reports the share of SIMP runs saved and the mean and worst gap; T is chosen on the calibration
cases (the largest whose worst gap is within --tolerance) and reported on the test cases, beside the
oracle (answer the cases with the smallest true gaps, the best any ranking can do at that share).
Writes --out (default docs/figures/topopt_fallback.json).
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from fallback_policy import at, choose  # noqa: E402
from fallback_policy import sweep as policy_sweep  # noqa: E402
from topopt_warmstart import REPO, machine, run_case  # noqa: E402


def cases(exe, model, params, samples):
    rows = []
    for k, (p, a) in enumerate(params):
        r = run_case(exe, model, p, a, samples, None)
        rows.append(dict(position=float(p), angle=float(a), std_rms=r["std_rms"],
                         c_cold=r["cold"]["compliance"], c_surrogate=r["surrogate"]["compliance"],
                         s_cold=r["cold"]["seconds"], s_surrogate=r["surrogate"]["seconds"]))
        print(f"case {k}: std_rms {r['std_rms']:.4f}, surrogate gap {rows[-1]['c_surrogate'] / rows[-1]['c_cold'] - 1:+.4f}",
              flush=True)
    return rows


def errors(rows):
    """(std RMS, the surrogate's gap, the solver's gap) per case: the gap to cold SIMP, which is the
    solver's own answer (gap 0)."""
    gap = np.array([r["c_surrogate"] / r["c_cold"] - 1 for r in rows])
    return np.array([r["std_rms"] for r in rows]), gap, np.zeros(len(rows))


def sweep(rows):
    """The policy's curve: the gap is the surrogate's where it answers, 0 where SIMP ran."""
    col = lambda k: [r[k] for r in rows]
    return policy_sweep(*errors(rows), col("s_surrogate"), col("s_cold"))


def oracle(rows, share):
    """Mean and worst gap answering the ceil(share·n) cases of smallest true gap with the surrogate."""
    gap = np.sort(errors(rows)[1])
    k = int(np.ceil(share * len(gap)))
    g = np.concatenate([gap[:k], np.zeros(len(gap) - k)])
    return float(g.mean()), float(g.max())


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--exe", required=True, help="the built examples/topopt executable")
    ap.add_argument("--model", default=str(REPO / "models" / "topopt.onnx"))
    ap.add_argument("--calib-cases", type=int, default=64)
    ap.add_argument("--test-cases", type=int, default=64)
    ap.add_argument("--samples", type=int, default=8, help="surrogate samples per case (default 8)")
    ap.add_argument("--tolerance", type=float, default=0.05, help="largest compliance gap accepted (default 5 %%)")
    ap.add_argument("--out", default=str(REPO / "docs" / "figures" / "topopt_fallback.json"))
    a = ap.parse_args()
    calib = cases(a.exe, a.model, np.load(REPO / "models" / "topopt" / "calib" / "params.npy")[:a.calib_cases],
                  a.samples)
    test = cases(a.exe, a.model, np.load(REPO / "models" / "topopt" / "params.npy")[:a.test_cases], a.samples)
    chosen = choose(sweep(calib), a.tolerance)
    print(f"\nchosen on the {len(calib)} calibration cases: T = {chosen:.4g} (the largest with worst gap <= "
          f"{a.tolerance:.0%})\n")
    print("| split | T | SIMP runs saved | mean gap | worst gap | oracle at that share: mean / worst |")
    print("|---|---|---|---|---|---|")
    result = {}
    for name, rows in (("calibration", calib), ("test", test)):
        t, share, mean, worst, _ = at(sweep(rows), chosen)
        om, ow = oracle(rows, share)
        print(f"| {name} | {chosen:.4g} | {share:.0%} | {100 * mean:.2f} % | {100 * worst:.2f} % | "
              f"{100 * om:.2f} / {100 * ow:.2f} % |")
        result[name] = dict(share_saved=share, mean_gap=mean, worst_gap=worst, oracle_mean=om, oracle_worst=ow)
    print("\nthe trade-off on the test cases (T at each case's std RMS):")
    print("| T | SIMP runs saved | mean gap | worst gap |")
    print("|---|---|---|---|")
    curve = sweep(test)
    for t, share, mean, worst, _ in curve[:: max(1, len(curve) // 12)] + [curve[-1]]:
        print(f"| {t:.4g} | {share:.0%} | {100 * mean:.2f} % | {100 * worst:.2f} % |")
    doc = dict(machine=machine(), command=" ".join(sys.argv), tolerance=a.tolerance, chosen_T=chosen,
               calib=calib, test=test, result=result, curve=curve)
    Path(a.out).write_text(json.dumps(doc, indent=1) + "\n")
    print(f"\nwrote {a.out}")


if __name__ == "__main__":
    main()
