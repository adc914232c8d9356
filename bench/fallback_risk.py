"""The fallback threshold chosen with a guarantee on the miss rate (fallback_policy.controlled) beside the
worst-case choice (fallback_policy.choose), from a stored study: no example is rerun.

    python3 bench/fallback_risk.py docs/figures/topopt_fallback.json [--tolerance 0.05] [--alpha 0.1]
        [--delta 0.1]

Reads the calibration and test cases a study wrote (bench/topopt_fallback.py: the compliance gap of the
surrogate's design; bench/flow_fallback.py: the DGMF series' relative L2) and reports how well the std ranks the
surrogate's errors (Spearman, per case set) and the surrogate answering every case, then, for both choices of
T, the share of solver runs saved and, on the test cases, the miss rate (surrogate answers worse than the
tolerance, as a share of all cases) and the worst error.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
from scipy.stats import spearmanr

sys.path.insert(0, str(Path(__file__).resolve().parent))
from fallback_policy import choose, controlled, sweep  # noqa: E402


def columns(rows):
    """(std RMS, the surrogate's error, the solver's error) per case, as the study that wrote them reads
    them (topopt's rows hold compliances, flow's relative errors)."""
    import flow_fallback
    import topopt_fallback
    return (topopt_fallback if "c_cold" in rows[0] else flow_fallback).errors(rows)


def outcome(rows, t, tolerance):
    std, e_s, e_f = columns(rows)
    trust = std <= t
    answer = np.where(trust, e_s, e_f)
    return dict(saved=float(trust.mean()), miss_rate=float(np.mean(trust & (e_s > tolerance))),
                mean=float(answer.mean()), worst=float(answer.max()))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("study", help="a stored study: docs/figures/topopt_fallback.json or flow_fallback.json")
    ap.add_argument("--tolerance", type=float, help="the error accepted (default: the study's)")
    ap.add_argument("--alpha", type=float, default=0.1, help="the miss rate promised (default 0.1)")
    ap.add_argument("--delta", type=float, default=0.1, help="the chance the promise fails (default 0.1)")
    a = ap.parse_args()
    doc = json.loads(Path(a.study).read_text())
    tol = doc["tolerance"] if a.tolerance is None else a.tolerance
    std, e_s, e_f = columns(doc["calib"])
    worst_t = choose(sweep(std, e_s, e_f, np.zeros(len(std)), np.zeros(len(std))), tol)
    rate_t = controlled(std, e_s, tol, a.alpha, a.delta)
    print(f"{len(doc['calib'])} calibration and {len(doc['test'])} test cases of {a.study}; tolerance {tol:.0%}\n")
    # How well the std ranks the surrogate's errors, and the surrogate answering every case (no policy).
    for split in ("calib", "test"):
        std_s, err_s, _ = columns(doc[split])
        print(f"{split}: Spearman(std RMS, surrogate error) {spearmanr(std_s, err_s)[0]:.2f}; the surrogate "
              f"always: mean {100 * err_s.mean():.2f} %, worst {100 * err_s.max():.2f} %, "
              f"{np.mean(err_s <= tol):.0%} within {tol:.0%}")
    print()
    print("| choice of T | T | calibration: saved | test: saved | test: miss rate | test: mean | test: worst |")
    print("|---|---|---|---|---|---|---|")
    for label, t in ((f"worst calibration case within {tol:.0%}", worst_t),
                     (f"miss rate <= {a.alpha:.0%} with confidence {1 - a.delta:.0%}", rate_t)):
        c, r = outcome(doc["calib"], t, tol), outcome(doc["test"], t, tol)
        print(f"| {label} | {t:.4g} | {c['saved']:.0%} | {r['saved']:.0%} | {100 * r['miss_rate']:.1f} % | "
              f"{100 * r['mean']:.2f} % | {100 * r['worst']:.2f} % |")


if __name__ == "__main__":
    main()
