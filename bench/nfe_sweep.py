#!/usr/bin/env python3
"""Accuracy per NFE: relative L2 error vs network evaluations for the samplers on the shipped models.

    python3 bench/nfe_sweep.py                    # all four models, ~25 min on 2 cores
    python3 bench/nfe_sweep.py --bench poisson --cases 4

For each model, the first cases of its test set (default: 32 for Poisson and Heat, 8 for Burgers — a case
is 16 time slices — and 16 for topopt, whose network costs 4x Poisson's) are predicted by `dgmf predict`
with one sample (seed 0) for every sampler over a sweep of step counts, and with the model's recommended
sampler (its dgmf.sampler; `dgmf info` shows it); the mean relative L2 error over the cases is plotted
against the NFE (docs/figures/nfe_<name>.png) and tabulated (docs/nfe_sweep.md, and
docs/figures/nfe_sweep.json), together with the reference the few-step samplers are judged by: pc with
N = 1000 (2000 NFE), score_sde's setting. The summary gives, per model, the library default (ancestral 30,
the setting before the models recommended their own), the recommended sampler, and the cheapest setting
within 10 % of pc-1000.
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "training"))

from dgmf_train.testsets import load_testset, machine, per_case_error, subset, predict_testset  # noqa: E402
from student_sweep import MARK  # noqa: E402  (bench/ is on the path when run as a script)

SWEEP = {
    "ancestral": (4, 5, 6, 8, 10, 15, 20, 30, 50, 100),
    "heun": (3, 4, 6, 8, 12, 18),
    "dpmpp-2m": (4, 6, 8, 12, 18),
    "ode-euler": (4, 6, 10, 18),
    "edm": (4, 6, 10, 20),
    "em": (50, 100, 200),
    "pc": (100, 250, 1000),
}
CASES = {"poisson": 32, "heat": 32, "burgers": 8, "topopt": 16}
FEW_NFE = 8  # the few-step budget: <= 8 evaluations within 10 % of pc-1000


def sweep(name, cases, work):
    """{(sampler, N): (NFE, mean error, worst error, wall ms per case)}; the model's recommended sampler
    is keyed ("recommended: <name>", N)."""
    t = subset(load_testset(name), cases)
    out = {}
    runs = [(s, n) for s, steps_list in SWEEP.items() for n in steps_list] + [(None, None)]
    for sampler, steps in runs:
        mean, _, rep = predict_testset(name, t, sampler, steps, work)
        key = (sampler, steps) if sampler else (f"recommended: {rep['sampler']}", rep["steps"])
        e = per_case_error(mean, t)
        out[key] = (rep["nfe"], float(e.mean()), float(e.max()), rep["wall_ms"] / cases)
        print(f"  {name:8s} {key[0]:24s} N={key[1]:5d} NFE={rep['nfe']:5d}  mean {e.mean():.4f}"
              f"  worst {e.max():.4f}", flush=True)
    return out


def plot(name, res, cases, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for sampler in SWEEP:
        pts = sorted((v[0], v[1]) for (s, _), v in res.items() if s == sampler)
        ax.loglog(*zip(*pts), marker="o", ms=3, label=sampler,
                  ls="-" if sampler in ("heun", "edm", "dpmpp-2m", "ode-euler") else "--")
    (rs, rn), rv = next((k, v) for k, v in res.items() if k[0].startswith("recommended"))
    ax.loglog([rv[0]], [rv[1]], "k*", ms=12, label=f"{rs} N={rn}")
    ref = res[("pc", 1000)][1]
    ax.axhline(ref, color="k", lw=0.8)
    ax.axhline(1.1 * ref, color="k", lw=0.8, ls=":")
    ax.axvline(FEW_NFE, color="grey", lw=0.8, ls=":")
    ax.set(xlabel="NFE (network evaluations per prediction)", ylabel="mean relative L2 error",
           title=f"{name}: first {cases} test cases; black: pc-1000, dotted: +10 %, {FEW_NFE} NFE")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=7, ncol=2)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def summary(res):
    """Before (the library default, ancestral 30), the recommended sampler, and the cheapest setting
    within 10 % of pc-1000, each as (label, NFE, mean, mean / pc-1000)."""
    ref = res[("pc", 1000)][1]
    row = lambda k: (f"{k[0]} N={k[1]}", res[k][0], res[k][1], res[k][1] / ref)
    rec = next(k for k in res if k[0].startswith("recommended"))
    ok = [k for k in res if res[k][1] <= 1.1 * ref]
    cheapest = min(ok, key=lambda k: (res[k][0], res[k][1]))
    return {"pc-1000": ref, "before": row(("ancestral", 30)), "recommended": row(rec),
            "cheapest within 10 %": row(cheapest)}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bench", nargs="+", default=list(CASES))
    ap.add_argument("--cases", type=int, help="test cases per model (default: per model, see above)")
    ap.add_argument("--out", default=str(REPO / "docs" / "nfe_sweep.md"))
    args = ap.parse_args()
    figs = Path(args.out).parent / "figures"
    figs.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    results, summaries, body = {}, {}, []
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.bench:
            cases = args.cases or CASES[name]
            res = sweep(name, cases, Path(tmp))
            results[name] = {"cases": cases, "rows": [[s, n, *v] for (s, n), v in res.items()]}
            plot(name, res, cases, figs / f"nfe_{name}.png")
            ref = res[("pc", 1000)][1]
            summaries[name] = summary(res)
            body += [f"## {name} (first {cases} test cases)", "",
                     "| sampler | N | NFE | rel. L2 mean | rel. L2 worst | vs pc-1000 |",
                     "|---|---:|---:|---:|---:|---:|"]
            for (s, n), (nfe, mean, worst, _) in res.items():
                body.append(f"| {s} | {n} | {nfe} | {mean:.4f} | {worst:.4f} | {mean / ref:.2f} |")
            body += ["", f"![{name}](figures/nfe_{name}.png)", ""]
    lines = ["# Accuracy per NFE (generated by `python3 bench/nfe_sweep.py`; do not edit)", "",
             f"Took {(time.perf_counter() - t0) / 60:.1f} min. Machine: {machine()}.",
             "One sample (seed 0) per test case, mean relative L2 error over the cases against the converged",
             "reference; the yardstick is pc with N = 1000 (2000 NFE). Cost is counted in NFE (wall time is in",
             "docs/performance.md). \"recommended\" is the model's own dgmf.sampler, what `dgmf predict` uses",
             "without --sampler.", "",
             "| model | pc-1000 | before: ancestral 30 | recommended | cheapest within 10 % of pc-1000 |",
             "|---|---:|---|---|---|"]
    cell = lambda r: f"{r[0]}: {r[1]} NFE, {r[2]:.4f} ({r[3]:.2f}×)"
    for name, sm in summaries.items():
        lines.append(f"| {name} | {sm['pc-1000']:.4f} | {cell(sm['before'])} | {cell(sm['recommended'])} | "
                     f"{cell(sm['cheapest within 10 %'])} |")
    lines += [""] + body
    # bench/student_sweep.py's section (teacher against student) follows the marker; keep it.
    old = Path(args.out).read_text() if Path(args.out).exists() else ""
    kept = (MARK + old.split(MARK, 1)[1]) if MARK in old else ""
    Path(args.out).write_text("\n".join(lines) + "\n" + ("\n" + kept if kept else ""))
    (figs / "nfe_sweep.json").write_text(json.dumps({"machine": machine(), "summary": summaries,
                                                     "results": results}, indent=1) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
