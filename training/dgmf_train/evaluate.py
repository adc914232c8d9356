"""`dgmf-train evaluate`: does the model beat my solver? One table on held-out cases (text, --json, --png).

Rows, each the mean and worst relative L2 per case against the cases' reference (u.npy of the case
directory), and the time per query:

- DGMF, one sample (seed 0), and the mean of --samples with the ±1σ/±2σ coverage of its (calibrated) std,
  with the model's recommended sampler (or --sampler/--steps), through the engine (`dgmf predict`);
- the regression baseline (--baseline REG.onnx, `dgmf-train fit --baseline` then `export`), one ONNX
  Runtime call per 64 rows;
- each solver level of --dataset (your runs, e.g. split/train.json) that holds runs at the same parameters
  (and coordinates) as a held-out case: what running that solver there gives, against the reference,
  with --solver-seconds' time per run beside it.  The target level is a row too when its runs differ
  from the cases' u.npy (a reference from a finer solve than the target level, e.g. a converged one).

The engine's own report (coverage, spread-skill, Spearman, the scale that would fit) is printed first,
as `dgmf calibrate` without --out gives it.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import textwrap
import time
from pathlib import Path

import numpy as np

from . import engine
from .compare import baseline_feeds, coverage, regression_predict_feeds
from .contract import read_metadata
from .testsets import cases_fidelity_arg, load_cases, per_case_error


def solver_levels(dataset_path, t):
    """[(level index, label, per-row fields (NaN where unmatched), row mask of the matched cases)] for each
    level of the dataset with runs at the held-out rows' parameters and coordinates (every row of a case
    matched, else the case is left out); and the target level's label.  The target level is left out
    where its runs are the cases' reference itself (then it has no error of its own)."""
    from .dataset import load
    ds = load(dataset_path)
    f = ds.manifest.fidelity
    target = f.target_value()
    name = lambda level: f.labels[int(level)] if f.kind == "discrete" else f"{f.name} = {level:g}"
    key = lambda p, c: tuple(np.round(np.concatenate([p, c]), 10))
    coords = t.get("coords", np.zeros((len(t["params"]), 0)))
    ds_coords = ds.coords if ds.coords is not None else np.zeros((len(ds), 0))
    out = []
    for level in np.unique(ds.fidelity):
        at = np.flatnonzero(np.isclose(ds.fidelity, level))
        index = {key(ds.params[j], ds_coords[j]): j for j in at}
        rows = [index.get(key(t["params"][i], coords[i])) for i in range(len(t["params"]))]
        found = np.array([r is not None for r in rows])
        cases = np.unique(t["case"])
        whole = np.array([found[t["case"] == c].all() for c in cases])
        if not whole.any():
            continue
        fields = np.full(t["u"].shape, np.nan)
        fields[found] = ds.u[[r for r in rows if r is not None]]
        same = np.allclose(fields[found], t["u"][found], rtol=1e-6, atol=1e-12 * np.abs(t["u"]).max())
        if np.isclose(level, target) and same:
            continue                              # the target solver made the reference
        out.append((level, name(level), fields, np.isin(t["case"], cases[whole])))
    return out, name(target)


def row(method, pred, t, seconds, nfe="-", std=None, keep=None):
    keep = np.ones(len(t["u"]), bool) if keep is None else keep
    sub = {k: v[keep] for k, v in t.items()}
    e = per_case_error(pred[keep], sub)
    r = dict(method=method, nfe=nfe, cases=len(e), mean_rel_l2=float(e.mean()), worst_rel_l2=float(e.max()),
             ms_per_query=None if seconds is None else 1e3 * seconds / len(e))
    if std is not None:
        r["coverage_1sigma"], r["coverage_2sigma"] = coverage(pred, std, t["u"].astype(np.float64))
    return r


def timing_row(method, seconds):
    """A solver's time per run with no error of its own (it makes the reference)."""
    return dict(method=method, nfe="-", cases=0, mean_rel_l2=None, worst_rel_l2=None, ms_per_query=1e3 * seconds)


def table(rows):
    lines = [f"{'method':<44} {'NFE':>5} {'cases':>5} {'rel. L2 mean':>12} {'worst':>8} {'±2σ cov.':>8} "
             f"{'ms/query':>9}"]
    for r in rows:
        cov = f"{100 * r['coverage_2sigma']:.1f}%" if "coverage_2sigma" in r else "-"
        ms = "-" if r["ms_per_query"] is None else f"{r['ms_per_query']:.2f}"
        err = lambda v: "-" if v is None else f"{v:.4f}"
        lines.append(f"{r['method']:<44} {str(r['nfe']):>5} {r['cases'] or '-':>5} {err(r['mean_rel_l2']):>12} "
                     f"{err(r['worst_rel_l2']):>8} {cov:>8} {ms:>9}")
    return "\n".join(lines)


def figure(rows, path, title):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(8, 3.8), dpi=120)
    x = np.arange(len(rows))
    ax.bar(x, [100 * r["mean_rel_l2"] for r in rows], color="#4c72b0", label="mean over the cases")
    ax.scatter(x, [100 * r["worst_rel_l2"] for r in rows], color="#c44e52", zorder=3, label="worst case")
    ax.set_xticks(x, [textwrap.fill(r["method"], 20) for r in rows], fontsize=7)
    ax.set_ylabel("relative L2 error against the reference (%)")
    ax.set_yscale("log")
    ax.set_title(title, fontsize=9)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def main(argv=None, prog="dgmf-train evaluate"):
    ap = argparse.ArgumentParser(prog=prog, description=" ".join(__doc__.split("\n\n")[0].split()))
    ap.add_argument("model", help="the calibrated score model (.onnx)")
    ap.add_argument("--data", required=True, help="held-out cases (a case directory: dgmf-train split's test/)")
    ap.add_argument("--samples", type=int, default=16, help="ensemble size (the std is calibrated for it)")
    ap.add_argument("--sampler", help="sampler (default: the model's recommended, `dgmf info` shows it)")
    ap.add_argument("--steps", type=int, help="its noise levels (with --sampler)")
    ap.add_argument("--baseline", metavar="REG.onnx",
                    help="a regression baseline to put beside DGMF (`dgmf-train fit --baseline`, then export)")
    ap.add_argument("--dataset", metavar="DATA.json",
                    help="your runs (e.g. split/train.json): each lower fidelity level with runs at a held-out "
                         "case's parameters becomes a row")
    ap.add_argument("--solver-seconds", metavar="S0,S1,...",
                    help="seconds per solver run, one per fidelity level low -> high (or one: the target "
                         "level's), shown beside the model's time per query")
    ap.add_argument("--report-json", help="the engine's report (dgmf calibrate --report-json)")
    ap.add_argument("--json", help="write the table's rows here")
    ap.add_argument("--png", help="write the table as a bar chart here")
    a = ap.parse_args(argv)
    if a.steps is not None and a.sampler is None:
        ap.error("--steps goes with --sampler")
    seconds = None
    if a.solver_seconds:
        try:
            seconds = [float(s) for s in a.solver_seconds.split(",")]
        except ValueError:
            ap.error(f"--solver-seconds takes numbers separated by commas, got {a.solver_seconds!r}")
        if any(not s > 0 for s in seconds):
            ap.error("--solver-seconds must be positive")
    engine.require_cli()  # after the arguments, so that --help works without the CLI
    meta = read_metadata(a.model)
    t = load_cases(a.data)
    rc = subprocess.run(engine.calibrate_command(a.model, a.data, samples=a.samples, sampler=a.sampler,
                                                 steps=a.steps, report_json=a.report_json)).returncode
    if rc:
        return rc
    fid = cases_fidelity_arg(t, meta.levels is not None, f"the cases of {a.data}")
    kw = dict(coords=t.get("coords"), sampler=a.sampler, steps=a.steps)
    one, _, r1 = engine.predict(a.model, t["params"], fid, samples=1, **kw)
    mean, std, rn = engine.predict(a.model, t["params"], fid, samples=a.samples, std=True, **kw)
    spec = f"{rn['sampler']} {rn['steps']}"
    rows = [row(f"DGMF {spec}, one sample", one, t, r1["wall_ms"] / 1e3, r1["nfe"]),
            row(f"DGMF {spec}, mean of {a.samples}", mean, t, rn["wall_ms"] / 1e3, rn["nfe"] * a.samples, std)]
    if a.baseline:
        pred, sec = regression_predict_feeds(a.baseline, baseline_feeds(meta.levels, t))
        rows.append(row("regression baseline", pred, t, sec, 1))
    levels = meta.levels
    if seconds and len(seconds) > 1 and len(seconds) != levels:
        ap.error(f"--solver-seconds: {len(seconds)} values, but the model has "
                 f"{'a continuous fidelity' if levels is None else f'{levels} fidelity levels'}: give one per "
                 "level, or one (the target level's)")
    per_level = (lambda level: seconds[int(level)] if seconds and len(seconds) > 1 else None)
    target_label, target_row = "the target level", False
    if a.dataset:
        found, target_label = solver_levels(a.dataset, t)
        target_label = f"`{target_label}`"
        for level, label, fields, keep in found:
            rows.append(row(f"solver `{label}` at the same parameters", fields, t, None, keep=keep))
            if per_level(level) is not None:
                rows[-1]["ms_per_query"] = 1e3 * per_level(level)
            if f"`{label}`" == target_label:
                target_row = True
                if seconds:
                    rows[-1]["ms_per_query"] = 1e3 * seconds[-1]
    if seconds and not target_row:
        rows.append(timing_row(f"solver {target_label} (makes the reference)", seconds[-1]))
    print(f"\n{Path(a.model).name} on {len(np.unique(t['case']))} held-out cases of {a.data} (against their u.npy)")
    print(table(rows))
    if seconds:
        q, run = rows[1]["ms_per_query"], 1e3 * seconds[-1]
        print(f"\nthe {a.samples}-sample query costs {q / run:.2g}x a run of the target level's solver "
              f"({'faster' if q < run else 'slower'}); one sample {rows[0]['ms_per_query'] / run:.2g}x")
    if a.json:
        Path(a.json).write_text(json.dumps(dict(model=str(a.model), data=str(a.data), rows=rows,
                                                when=time.strftime("%Y-%m-%d %H:%M")), indent=1) + "\n")
    if a.png:
        figure([r for r in rows if r["mean_rel_l2"] is not None], a.png,
               f"{Path(a.model).name}: {len(np.unique(t['case']))} held-out cases")
    return 0
