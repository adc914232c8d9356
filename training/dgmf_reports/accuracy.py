"""docs/accuracy.md: the accuracy of the shipped models, served by libdgmf, against baselines.

    scripts/accuracy.sh            (or, from training/:  python3 -m dgmf_reports.accuracy)

Per benchmark, over the shipped held-out test set (models/<name>/), relative L2 error
||u - u_ref|| / ||u_ref|| per test case (for the Burgers coords model a case is the whole
space-time field: its 16 time slices stacked), mean and worst, of
  (a) the DGMF model through `dgmf predict` (heun at several step counts, the library default
      ancestral 30, the model's recommended sampler (dgmf.sampler), edm 20, pc at N = 500/1000),
      and, where models/baselines/<name>_bare.onnx exists, the same network exported without the
      values it imposes (export --no-known-values),
  (b) the direct-regression baseline (models/baselines/<name>_regression.onnx, onnxruntime),
  (c) the coarsest and the finest training solvers, interpolated to the output grid,
against the exact solutions (and against the finest training solver), with NFE and wall time per
case; the declared-range set (models/<name>/box/); the calibration of the ensemble std (fitted on
models/<name>/calib/ by `dgmf calibrate` and written into models/<name>.onnx, reported on the test
split); figures (reference, prediction, error, ensemble std). It also writes
models/<name>/accuracy.json, the figures the engine's accuracy test checks, and
docs/figures/<name>_results.json, the section's numbers: `--bench NAME` remeasures one benchmark
and rebuilds the page from the others' saved numbers.
Needs the release CLI (cargo build --release), numpy, scipy, onnxruntime, matplotlib; no torch.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np

from dgmf_data import generate

from dgmf_train import benchmarks, engine
from dgmf_train.compare import regression_predict
from .evaluate import low_fidelity
from dgmf_train.testsets import as_dataset, load_testset, machine, per_case_error, predict_testset, subset
from dgmf_train.paths import CLI, REPO

# (sampler, steps) rows of the table; pc runs on the first --pc-cases cases only (2000 NFE).
HEUN_STEPS = (6, 10, 18, 32)
PC_STEPS = (500, 1000)
FIG_CASES = (0, 1, 2)
# The library's default sampler (SamplerConfig::default(), for models that recommend none): a row of
# each table, the "before" of the models' own recommendations. CI_CASES: the first cases the engine's
# accuracy test (tests/accuracy.rs) runs with the recommended sampler in CI.
DEFAULT_SAMPLER, DEFAULT_STEPS = "ancestral", 30
CI_CASES = 16
# Fewer where a case is large (flow: 16 snapshots of 2 x 32 x 32, calibrated with 16 samples each).
CI_CASES_OF = {"flow": 8}
# The flow figure's snapshot times (indices into dgmf_data.flow.TIMES: t = 2/3, 2, 10).
FLOW_FIG_TIMES = (1, 3, 15)


def recommended(name):
    """(sampler, steps) the shipped model recommends (its dgmf.sampler, `dgmf info --json`): what
    `dgmf predict` uses without --sampler, and what every DGMF figure of the report but the labelled
    comparison rows uses."""
    info = json.loads(subprocess.run([str(CLI), "info", "--json", str(REPO / "models" / f"{name}.onnx")],
                                     check=True, capture_output=True, text=True).stdout)
    spec = info["sampler"].split()
    steps = next(int(w.split("=")[1]) for w in spec if w.startswith("steps="))
    return spec[0], steps


def calibrate(name, data, work, out=False, limit=None, variant=""):
    """`dgmf calibrate` of the shipped model (models/<name><variant>.onnx, e.g. variant "_fp16") on a
    shipped set (default sampler, 16 samples); with `out`, the fitted dgmf.std_scale is written into
    the model. Returns its JSON report."""
    model = REPO / "models" / f"{name}{variant}.onnx"
    report = work / f"{name}_calibrate.json"
    cmd = engine.calibrate_command(model, data, limit=limit, report_json=report,
                                out=model if out else None)
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    return json.loads(report.read_text())


def baseline(name, t):
    """The shipped regression baseline on a test set: (prediction, seconds)."""
    return regression_predict(REPO / "models" / "baselines" / f"{name}_regression.onnx", as_dataset(name, t))


def figure(name, t, mean, std, out):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    rows = len(FIG_CASES)
    fig, axes = plt.subplots(rows, 4, figsize=(12, 2.8 * rows), squeeze=False)
    for r, c in enumerate(FIG_CASES):
        sel = t["case"] == c
        img = lambda a: np.asarray(a)[sel].reshape(int(sel.sum()), -1) if "coords" in t \
            else np.asarray(a)[sel][0, 0]
        ref, pred, sd = img(t["u"]), img(mean), img(std)
        p = ", ".join(f"{k}={v:.3g}" for k, v in zip(benchmarks.BENCH[name]["module"].PARAM_NAMES,
                                                        t["params"][sel][0]))
        lo, hi = ref.min(), ref.max()
        for ax, a, title, kw in (
                (axes[r, 0], ref, f"reference\n{p}", dict(vmin=lo, vmax=hi)),
                (axes[r, 1], pred, "DGMF mean\n(heun 18, 16 samples)", dict(vmin=lo, vmax=hi)),
                (axes[r, 2], np.abs(pred - ref), "|error|\n", dict(cmap="magma")),
                (axes[r, 3], sd, "ensemble std\n(16 samples)", dict(cmap="magma"))):
            im = ax.imshow(a, origin="lower", aspect="auto", **kw)
            ax.set_title(title, fontsize=8)
            ax.set_xticks([])
            ax.set_yticks([])
            fig.colorbar(im, ax=ax, fraction=0.046)
    ylabel = {"poisson": "y (rows) vs x", "heat": "t (rows) vs x", "burgers": "t (rows) vs x",
              "topopt": "y (rows, from the bottom) vs x"}[name]
    fig.suptitle(f"{name}: test cases {list(FIG_CASES)}; axes {ylabel}", fontsize=10)
    fig.tight_layout()
    fig.savefig(out, dpi=90)
    plt.close(fig)


def run_bench(name, pc_cases, work, fig_dir, bare=None):
    t = load_testset(name)
    rows = []

    def add(method, nfe, pred, seconds, ts):
        e = per_case_error(pred, ts)
        top = per_case_error(pred, ts, "u_top") if "u_top" in ts else np.full(1, np.nan)
        cases = len(e)
        rows.append(dict(method=method, nfe=nfe, cases=cases, mean=float(e.mean()),
                         worst=float(e.max()), top=float(top.mean()), ms=1e3 * seconds / cases))
        print(f"  {name:8s} {method:34s} NFE {nfe!s:>5}  cases {cases:4d}  mean {e.mean():.4f}  "
              f"worst {e.max():.4f}  vs top {top.mean():.4f}  {1e3 * seconds / cases:9.2f} ms/case",
              flush=True)
        return e

    for n in HEUN_STEPS:
        mean, _, rep = predict_testset(name, t, "heun", n, work)
        add(f"DGMF, libdgmf heun {n}", rep["nfe"], mean, rep["wall_ms"] / 1e3, t)
    mean, _, rep = predict_testset(name, t, DEFAULT_SAMPLER, DEFAULT_STEPS, work)
    add(f"DGMF, libdgmf {DEFAULT_SAMPLER} {DEFAULT_STEPS} (library default)", rep["nfe"], mean,
        rep["wall_ms"] / 1e3, t)
    sampler, steps = recommended(name)
    mean, _, rep = predict_testset(name, t, sampler, steps, work)
    default_mean = mean
    e_default = add(f"DGMF, libdgmf {sampler} {steps} (recommended)", rep["nfe"], mean,
                    rep["wall_ms"] / 1e3, t)
    rep_default_nfe = rep["nfe"]
    if bare is not None:
        # The same network exported without the graph that imposes the known values (--no-known-values).
        mean, _, rep = predict_testset(name, t, sampler, steps, work, model=bare)
        add(f"DGMF, {sampler} {steps}, known values not imposed", rep["nfe"], mean,
            rep["wall_ms"] / 1e3, t)
    mean, _, rep = predict_testset(name, t, "edm", 20, work)
    add("DGMF, libdgmf edm 20", rep["nfe"], mean, rep["wall_ms"] / 1e3, t)
    ts = subset(t, pc_cases)
    for n in PC_STEPS:
        mean, _, rep = predict_testset(name, ts, "pc", n, work)
        add(f"DGMF, libdgmf pc {n}", rep["nfe"], mean, rep["wall_ms"] / 1e3, ts)
    pred, sec = baseline(name, t)
    e_base = add("direct regression (same backbone)", 1, pred, sec, t)
    t0 = time.perf_counter()
    lf = low_fidelity(name, t["params"], t.get("coords"))
    compliance = None
    if name == "topopt":
        # What a designer asks of a predicted design: its compliance after projection to the volume
        # constraint, against SIMP's optimum (the reference) on the same load case.
        ens_mean, _, _ = predict_testset(name, t, sampler, steps, work, samples=16)
        compliance = compliance_rows(t, {
            f"DGMF, {sampler} {steps}, 1 sample": default_mean,
            f"DGMF, {sampler} {steps}, mean of 16 samples": ens_mean,
            "direct regression (same backbone)": pred,
            f"lowest-fidelity optimum ({benchmarks.BENCH[name]['module'].LEVELS[0]}² mesh), resampled": lf})
    res = benchmarks.BENCH[name]["module"].LEVELS[0]
    add(f"lowest-fidelity solver ({res} nodes), interpolated", "-", lf, time.perf_counter() - t0, t)
    if "u_top" in t:
        finest = benchmarks.BENCH[name]["module"].LEVELS[-1]
        add(f"finest training solver ({finest} nodes)", "-", t["u_top"], 0.0, t)

    # Declared ranges: the box set (corners and uniform draws), recommended sampler, one sample.
    tb = load_testset(name, "box")
    mean, _, _ = predict_testset(name, tb, sampler, steps, work)
    e_box = per_case_error(mean, tb)
    worst_case = int(np.argmax(e_box))
    worst_row = int(np.flatnonzero(tb["case"] == worst_case)[0])
    m = benchmarks.BENCH[name]["module"]
    first = np.unique(tb["case"], return_index=True)[1]
    at_bound = (tb["params"][first] == m.PARAM_LOW) | (tb["params"][first] == m.PARAM_HIGH)
    box = dict(cases=len(e_box), mean=float(e_box.mean()), worst=float(e_box.max()),
               worst_params=[float(v) for v in tb["params"][worst_row]],
               corners=int(at_bound.all(axis=1).sum()), all_corners=2 ** len(m.PARAM_NAMES))

    # Calibration: fit on the calibration split (written into the shipped model), report on the test
    # split, and on the CI subset the engine test recomputes.
    fit = calibrate(name, REPO / "models" / name / "calib", work, out=True)
    if (REPO / "models" / f"{name}_fp16.onnx").exists():
        # The fp16 copy samples differently: it gets its own fit on the same split.
        calibrate(name, REPO / "models" / name / "calib", work, out=True, variant="_fp16")
    test = calibrate(name, REPO / "models" / name, work)
    ci_cases = CI_CASES_OF.get(name, CI_CASES)
    ci_rows = int((t["case"] < ci_cases).sum())
    ci_cal = calibrate(name, REPO / "models" / name, work, limit=ci_rows)
    calib = dict(scale=fit["fitted_scale"], calib_cases=fit["cases"], samples=fit["samples"],
                 sampled=test["sampled"], calibrated=test["before"])
    # The ensemble mean of the calibration run is the prediction a user asking for a std gets.
    ens = test["before"]
    rows.insert(rows.index(next(r for r in rows if "(recommended)" in r["method"])) + 1, dict(
        method=f"DGMF, libdgmf {sampler} {steps}, mean of {test['samples']} samples",
        nfe=rep_default_nfe * test["samples"], cases=test["cases"], mean=ens["mean_rel_l2"],
        worst=ens["worst_rel_l2"], top=float("nan"), ms=float("nan")))

    # The CI subset the engine test checks: the default run's first cases. Query i's noise depends only on
    # (seed, i) with one sample, so those rows are bit-identical to a run of the subset alone.
    e = e_default[:ci_cases]
    ci = dict(sampler=sampler, steps=steps, cases=ci_cases, seed=0, samples=1,
              mean=float(e.mean()), worst=float(e.max()), box=box,
              calibration=dict(samples=fit["samples"], seed=0, cases=ci_cases,
                               coverage_2sigma=ci_cal["before"]["coverage_2sigma"],
                               scale=fit["fitted_scale"]))
    (REPO / "models" / name / "accuracy.json").write_text(json.dumps(ci, indent=1) + "\n")

    fig = fig_dir / f"{name}_cases.png"
    vort = None
    if name == "flow":
        # Flow users look at vorticity: its error for the same predictions, and the figure shows it.
        ens_mean, ens_std, _ = predict_testset(name, t, sampler, steps, work, samples=test["samples"], std=True)
        vort = vorticity_rows(t, {
            f"DGMF, {sampler} {steps}, 1 sample": default_mean,
            f"DGMF, {sampler} {steps}, mean of {test['samples']} samples": ens_mean,
            "direct regression (same backbone)": pred,
            f"lowest-fidelity solver ({res}² mesh)": lf,
            **({f"finest training solver ({benchmarks.BENCH[name]['module'].LEVELS[-1]}² mesh)": t["u_top"]}
               if "u_top" in t else {})})
        flow_figure(t, ens_mean, ens_std, test["samples"], f"{sampler} {steps}", fig)
    else:
        tf = subset(t, max(FIG_CASES) + 1)
        mean, std, _ = predict_testset(name, tf, "heun", 18, work, samples=16, std=True)
        figure(name, tf, mean, std, fig)
    gain = (1 - e_default.mean() / e_base.mean(), 1 - ens["mean_rel_l2"] / e_base.mean())
    out = dict(rows=rows, ci=ci, fig=fig.name, box=box, calib=calib, gain=gain,
               ensemble_samples=test["samples"], pc_cases=pc_cases, machine=machine(),
               n_cases=len(e_default))
    if vort is not None:
        out["vorticity"] = vort
    if compliance is not None:
        out["compliance"] = compliance
    return out


def run_student(name, work):
    """The few-step student shipped beside the model (models/<name>_fast.onnx, docs/distill.md), scored as
    the teacher is: its own recommended sampler, one sample on the whole test split and on the box set, and
    the 16-sample mean with the ±2σ coverage of its calibrated std (its own dgmf.std_scale) on the test
    split."""
    model = REPO / "models" / f"{name}_fast.onnx"
    t, tb = load_testset(name), load_testset(name, "box")
    t0 = time.perf_counter()
    one, _, rep = predict_testset(name, t, None, None, work, model=model)
    e = per_case_error(one, t)
    boxed, _, _ = predict_testset(name, tb, None, None, work, model=model)
    test = calibrate(name, REPO / "models" / name, work, variant="_fast")
    ens = test["before"]
    return dict(model=f"models/{name}_fast.onnx", sampler=rep["sampler"], steps=rep["steps"], nfe=rep["nfe"],
                cases=len(e), one=dict(mean=float(e.mean()), worst=float(e.max())),
                ensemble=dict(samples=test["samples"], mean=ens["mean_rel_l2"], worst=ens["worst_rel_l2"]),
                coverage_2sigma=ens["coverage_2sigma"], scale=test["current_scale"],
                box_worst=float(per_case_error(boxed, tb).max()), ms_one=rep["wall_ms"] / len(e),
                seconds=time.perf_counter() - t0, machine=machine())


def student_lines(name, r):
    """The teacher's recommended rows beside its student's (docs/figures/<name>_student.json)."""
    s = r.get("student")
    if not s:
        return []
    one, ens = row_named(r["rows"], "(recommended)"), row_named(r["rows"], "mean of")
    cov = r["calib"]["calibrated"]["coverage_2sigma"]
    return [f"Few-step student (`{s['model']}`, docs/distill.md), beside the teacher: each with its own "
            f"recommended sampler on the same {s['cases']} test cases; coverage of the calibrated std of the "
            f"{s['ensemble']['samples']}-sample ensemble (each file its own `dgmf.std_scale`); box: the worst "
            f"case of `models/{name}/box/`, one sample. Measured in {s['seconds'] / 60:.1f} min "
            f"(`scripts/accuracy.sh --bench {name} --students`; {s['machine']}).", "",
            "| model | sampler | NFE | 1 sample, mean | 1 sample, worst | mean of 16, mean | mean of 16, worst | "
            "±2σ coverage, calibrated | box, worst |",
            "|---|---|---:|---:|---:|---:|---:|---:|---:|",
            f"| teacher | {one['method'].split('libdgmf ')[-1].replace(' (recommended)', '')} | {one['nfe']} | "
            f"{one['mean']:.4f} | {one['worst']:.4f} | {ens['mean']:.4f} | {ens['worst']:.4f} | "
            f"{100 * cov:.1f} % | {r['box']['worst']:.4f} |",
            f"| student | {s['sampler']} {s['steps']} | {s['nfe']} | {s['one']['mean']:.4f} | "
            f"{s['one']['worst']:.4f} | {s['ensemble']['mean']:.4f} | {s['ensemble']['worst']:.4f} | "
            f"{100 * s['coverage_2sigma']:.1f} % | {s['box_worst']:.4f} |", ""]


# Fresh draws per model in the uncertainty studies: 64, but flow's 128² references cost a minute a case.
FRESH_CASES = {"flow": 16}


def uncertainty_lines(name, e):
    """Does the std rank the cases? One network, and the shipped deep ensemble where there is one
    (docs/figures/<name>_uncertainty.json, written by bench/ensemble_uncertainty.py; docs/uncertainty.md)."""
    if not e:
        return []
    first = e["results"][0]
    ens = f"models/{name}_ens.onnx" if len(e["results"]) > 1 else ""
    lines = [f"Does the std rank the cases? {'The one network against the deep ensemble (`' + ens + '`), both' if ens else 'The one network,'} "
             f"calibrated on the calibration split, {first['sampler']} {first['steps']}, {e['samples']} samples "
             "(docs/uncertainty.md). Spearman per case: the std RMS against the RMS error (its own units), and "
             "relative to the prediction's RMS against the relative error; `1 / RMS(mean)` ranks by the "
             "prediction's size alone, the control. Worst at 80 %: the worst relative error among the 80 % of "
             "cases with the smallest std RMS, or relative std, against the worst of all. `local`: a scale per query fitted "
             "on the calibration split (bench/local_calibration.py) instead of one. Command: `python3 "
             f"bench/ensemble_uncertainty.py models/{name}.onnx {ens + ' ' if ens else ''}--calib models/{name}/calib "
             f"--test \"test split=models/{name}\"" + (f" \"fresh draws=FRESH\" --json docs/figures/{name}_uncertainty.json`, "
             f"FRESH from `python3 bench/fresh_cases.py {name} --cases {FRESH_CASES.get(name, 64)} --out FRESH`."
             if "fresh draws" in first["sets"] else
             f" --json docs/figures/{name}_uncertainty.json` (no fresh draws: a reference costs a minute a case).")
             + (" The relative error here is the density's, not the compliance's." if name == "topopt" else ""), "",
             "| cases | networks | scale | rel. L2 mean | ±1σ | ±2σ | spread-skill | Spearman: std, RMS error | "
             "relative std, rel. error | 1 / RMS(mean), rel. error | worst of all | worst at 80 %, by std | "
             "by relative std |",
             "|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    at80 = lambda curve: next(100 * w for q, _, w in curve if abs(q - 0.8) < 1e-9)
    for label in first["sets"]:
        for r in e["results"]:
            for kind in ("single", "local"):
                x = r["sets"][label][kind]
                lines.append(f"| {label} | {r['members']} | {kind} | {100 * x['mean_rel_l2']:.2f} % | "
                             f"{100 * x['coverage_1']:.1f} % | {100 * x['coverage_2']:.1f} % | "
                             f"{x['spread_skill']:.2f} | {x['spearman_abs']:.2f} | {x['spearman_rel']:.2f} | "
                             f"{x['spearman_norm']:.2f} | {100 * x['worst_rel_l2']:.2f} % | {at80(x['risk_coverage']):.2f} % | "
                             f"{at80(x['risk_coverage_rel']):.2f} % |")
    return lines + [""]


def vorticity_rows(t, fields):
    """Per method: relative L2 of the vorticity (dgmf_data.flow.vorticity of the output fields) per
    case (all its snapshots together), mean and worst over the cases."""
    from dgmf_data import flow
    ref = dict(t, u=flow.field_vorticity(t["u"]))
    rows = []
    for method, pred in fields.items():
        e = per_case_error(flow.field_vorticity(pred), ref)
        rows.append(dict(method=method, cases=len(e), mean=float(e.mean()), worst=float(e.max())))
        print(f"  flow vorticity, {method:44s} mean {e.mean():.4f}  worst {e.max():.4f}", flush=True)
    return rows


def vorticity_lines(v):
    if not v:
        return []
    lines = ["Vorticity ω = ∂v/∂x − ∂u/∂y of the same predictions (`dgmf_data.flow.vorticity`: second-order "
             "differences on the output grid, applied alike to prediction and reference), relative L2 per "
             "case over its 16 snapshots:", "", "| method | cases | vorticity rel. L2 mean | worst |",
             "|---|---:|---:|---:|"]
    lines += [f"| {r['method']} | {r['cases']} | {r['mean']:.4f} | {r['worst']:.4f} |" for r in v]
    return lines + [""]


def flow_figure(t, mean, std, samples, sampler, out, case=0):
    """Vorticity of one test case at FLOW_FIG_TIMES: reference, DGMF ensemble mean, |error|, and the
    calibrated ensemble std of the speed (sqrt(std_u^2 + std_v^2))."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from dgmf_data import flow
    sel = np.flatnonzero(t["case"] == case)
    ref, pred = flow.field_vorticity(t["u"][sel]), flow.field_vorticity(mean[sel])
    sd = np.sqrt(std[sel, 0] ** 2 + std[sel, 1] ** 2)
    p = ", ".join(f"{k}={v:.3g}" for k, v in zip(flow.PARAM_NAMES, t["params"][sel[0]]))
    fig, axes = plt.subplots(len(FLOW_FIG_TIMES), 4, figsize=(12, 2.9 * len(FLOW_FIG_TIMES)), squeeze=False)
    for r, k in enumerate(FLOW_FIG_TIMES):
        lim = np.abs(ref[k]).max()
        for ax, a, title, kw in (
                (axes[r, 0], ref[k], "reference ω (128² solve)", dict(cmap="RdBu_r", vmin=-lim, vmax=lim)),
                (axes[r, 1], pred[k], f"DGMF ω, mean of {samples}", dict(cmap="RdBu_r", vmin=-lim, vmax=lim)),
                (axes[r, 2], np.abs(pred[k] - ref[k]), "|ω error|", dict(cmap="magma")),
                (axes[r, 3], sd[k], "ensemble std of the speed\n(calibrated)", dict(cmap="magma"))):
            im = ax.imshow(a, origin="lower", extent=(0, 1, 0, 1), **kw)
            ax.set_title(f"t = {t['coords'][sel[k], 0]:.3g}: {title}", fontsize=8)
            ax.set_xticks([])
            ax.set_yticks([])
            fig.colorbar(im, ax=ax, fraction=0.046)
    fig.suptitle(f"flow, test case {case} ({p}); {sampler}, {samples} samples", fontsize=10)
    fig.tight_layout()
    fig.savefig(out, dpi=90)
    plt.close(fig)


def compliance_rows(t, designs):
    """Per design method: the compliance gap c(project_volume(design)) / c(SIMP) − 1 over the test
    cases (dgmf_data.topopt.compliance_gap): median, mean, worst, and the share within 5 %."""
    from dgmf_data import topopt
    rows = []
    for method, pred in designs.items():
        gap = np.array([topopt.compliance_gap(pred[i], t["u"][i], *t["params"][i])
                        for i in range(len(pred))])
        rows.append(dict(method=method, cases=len(gap), median=float(np.median(gap)),
                         mean=float(gap.mean()), worst=float(gap.max()),
                         within5=float((gap <= 0.05).mean())))
        print(f"  topopt compliance gap, {method:44s} median {100 * np.median(gap):6.2f} %  "
              f"mean {100 * gap.mean():6.2f} %  worst {100 * gap.max():7.2f} %", flush=True)
    return rows


def compliance_lines(c):
    """The topology benchmark's designer-facing table (run_bench's `compliance`)."""
    if not c:
        return []
    lines = ["Compliance of the predicted design, after clipping to [0, 1] and projecting to the volume "
             "fraction 0.4 (`dgmf_data.topopt.project_volume`; one FE solve on the 64² mesh), relative to "
             "SIMP's optimum on the same load case: the gap c/c_SIMP − 1 (0 = as stiff as SIMP's design).",
             "", "| design | cases | gap median | gap mean | gap worst | within 5 % |",
             "|---|---:|---:|---:|---:|---:|"]
    for r in c:
        lines.append(f"| {r['method']} | {r['cases']} | {100 * r['median']:.2f} % | {100 * r['mean']:.2f} % | "
                     f"{100 * r['worst']:.2f} % | {100 * r['within5']:.0f} % |")
    return lines + [""]


def row_named(rows, key):
    """The first table row whose method contains `key` (None if there is none)."""
    return next((r for r in rows if key in r["method"]), None)


def summary_lines(results):
    """One row per model: the figures the accuracy target is about."""
    lines = ["## Summary", "",
             "Mean relative L2 against the exact solution over the held-out test cases (128; flow: 24, each "
             "16 snapshots); each model's recommended "
             "sampler (its dgmf.sampler, what `dgmf predict` uses by default; the section's table names it); "
             "\"lower by\" is against the regression baseline (same data, same backbone, trained "
             "as long); the paper reports 45–58 % lower against its baselines. \"finest training solver\" is the "
             "best solver level of the training data against the same exact solutions: no model trained on it "
             "alone can do much better (Heat's training data also hold the exact solution, at h = 0). The last "
             "column is the few-step student shipped beside the model (`models/<name>_fast.onnx`; its own "
             "section's table).", "",
             "| model | DGMF, 1 sample | DGMF, mean of 16 | regression | lower by (1 / 16 samples) | "
             "finest training solver | ±2σ coverage, calibrated | few-step student: NFE, mean of 16, coverage |",
             "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for name, r in results.items():
        one, ens, reg, solver = (row_named(r["rows"], key) for key in
                                 ("(recommended)", "mean of", "regression", "finest training solver"))
        g1, g16 = r["gain"]
        # topopt's reference is its own top training level (SIMP on the finest mesh): no solver row.
        finest = f"{solver['mean']:.4f}" if solver else "(is the reference)"
        lines.append(f"| {name} | {one['mean']:.4f} | {ens['mean']:.4f} | {reg['mean']:.4f} | "
                     f"{100 * g1:.0f} % / {100 * g16:.0f} % | {finest} | "
                     f"{100 * r['calib']['calibrated']['coverage_2sigma']:.1f} % | {student_cell(r.get('student'))} |")
    lines += ["", "How to read it. One DGMF sample carries the spread of the distribution the network learned, "
              "which at these training budgets can be comparable to the error itself (RMS(std)/RMS(error) as "
              "sampled, in each calibration table); the mean of an ensemble (what the library returns whenever "
              "the std is asked for) averages it out, and is the prediction to compare with the regression. Each section's "
              "error-vs-training-time table shows where its model stood when training stopped: whether DGMF "
              "was still gaining on the regression, and whether both had reached the floor of their data. "
              "The baselines are the same U-Net trained as long, on the same data, beside the score model; a "
              "weaker or shorter-trained baseline would make every gain larger."]
    return lines + [""]


def student_cell(s):
    """The summary's student column: NFE, 16-sample mean error, calibrated ±2σ coverage (or none yet)."""
    if not s:
        return "none yet"
    return f"{s['nfe']}, {s['ensemble']['mean']:.4f}, {100 * s['coverage_2sigma']:.1f} %"


def floor_note(name, rows):
    """Where the data's best is a solver (not the exact solution, generate.EXACT_TOP) about as far
    from the exact solution as the regression baseline, no model trained on that data can show a
    large gain against the exact solution: say so, with the errors against that solver."""
    if name in generate.EXACT_TOP:
        return ""
    solver, default, reg = (row_named(rows, key) for key in
                            ("finest training solver", "(recommended)", "regression"))
    if not (solver and default and reg) or solver["mean"] < 0.5 * reg["mean"]:
        return ""
    return (f" Both sit on the floor of their data: the finest training solver is {solver['mean']:.4f} "
            f"from the exact solution, as far as the models are. Against that solver instead, the "
            f"recommended sampler is {default['top']:.4f} and the regression {reg['top']:.4f}.")


def curve_lines(name, c):
    """The error-vs-training-minutes table of `dgmf_reports.curve` (docs/figures/<name>_curve.json)."""
    if not c:
        return []
    lines = [f"Error vs training time (`python3 -m dgmf_reports.curve runs/{name}.pt runs/{name}_reg.pt` on "
             "the snapshots of the shipped training; score model and baseline trained side by side, one "
             f"thread each; mean relative L2 on the first {c['n_cases']} test cases, DGMF "
             "one sample of ancestral 30):", "",
             "| minutes | DGMF steps | DGMF error | baseline steps | baseline error | DGMF lower by |",
             "|---:|---:|---:|---:|---:|---:|"]
    for r in c["rows"]:
        b = (f"{r['baseline_steps']} | {r['baseline']:.4f} | {100 * r['reduction']:.0f} %"
             if "baseline" in r else "– | – | –")
        lines.append(f"| {r['minutes']:g} | {r['steps']} | {r['dgmf']:.4f} | {b} |")
    return lines + [""]


def calibration_lines(name, c):
    s, k = c["sampled"], c["calibrated"]
    exact = (f" {s['exact_points']} points whose std is exactly 0 (imposed by the model) are left out; "
             f"their largest error is {s['exact_max_error']:.1e}." if s["exact_points"] else "")
    return [
        f"Uncertainty ({c['samples']} samples, the recommended sampler), on the test split. "
        f"`dgmf.std_scale` = {c['scale']:.4g}, fitted by `dgmf calibrate` on the {c['calib_cases']}-case "
        f"calibration split (split-conformal: ±2σ covers 95.45 % of its points).{exact}", "",
        "| std | ±1σ coverage | ±2σ coverage | RMS(std)/RMS(error) | Spearman(case std, case error) |",
        "|---|---:|---:|---:|---:|",
        f"| as sampled | {100 * s['coverage_1sigma']:.1f} % | {100 * s['coverage_2sigma']:.1f} % | "
        f"{s['spread_skill']:.2f} | {s['spearman_per_case']:.2f} |",
        f"| calibrated (shipped) | {100 * k['coverage_1sigma']:.1f} % | {100 * k['coverage_2sigma']:.1f} % | "
        f"{k['spread_skill']:.2f} | {k['spearman_per_case']:.2f} |", ""]


def markdown(results):
    lines = [
        "# Accuracy of the shipped models",
        "",
        "Generated by `scripts/accuracy.sh` (which runs `python3 -m dgmf_reports.accuracy` in `training/`);",
        "do not edit by hand. Rerun it after retraining a model.",
        "",
        "ONNX Runtime runs with its default threads; each section says the command, the machine and how",
        "long it took.",
        "",
        "Error: relative L2 ‖u − u_ref‖/‖u_ref‖ per held-out test case (the shipped `models/<name>/`",
        "test set), mean and worst over the cases, against the exact solution of the PDE",
        "(docs/benchmarks.md says how it is computed and how exact it is); the column \"vs top\" is the",
        "mean error against the finest solver of the training data on the same cases instead (Heat's top",
        "training level is the exact solution itself, h = 0; docs/benchmarks.md, \"Training levels\"). For",
        "Burgers a case is the whole space–time field of one Reynolds number (16 time slices, t = 0 to 3,",
        "each a network query with `t` as `coords`); for flow, the 16 snapshots t = 0, 2/3, …, 10 of",
        "one case's velocity field (docs/flow.md). DGMF rows use one sample per case (seed 0) and the",
        "final denoising step; `pc` (reverse-diffusion predictor + 1 Langevin step, snr 0.16) runs on the",
        "first cases only (the row says how many), since it costs 2 network evaluations per level. ms/case is wall time",
        "divided by the number of cases, with up to 64 rows batched per network call; it is indicative",
        "only (one run, on whatever else the machine was doing) — docs/performance.md has the controlled",
        "timings. The regression baseline is the same U-Net trained with MSE on the same data",
        "(`models/baselines/`); the solver rows are the coarsest and the finest mesh of the training",
        "data, linearly interpolated onto the output grid.",
        "",
        "## Calibration",
        "",
        "The ensemble std is the spread of the samples the score model draws; nothing makes it the size",
        "of the actual error. Each shipped model therefore carries `dgmf.std_scale`, fitted by",
        "`dgmf calibrate MODEL --data models/<name>/calib --out MODEL` on the 64-case calibration split",
        "(disjoint from training and test; same sampler and ensemble size as reported below): split",
        "conformal prediction on the ratio |error| / std over every point, k = half the",
        "⌈(N + 1)·0.9545⌉-th smallest ratio, so that ±2kσ covers 95.45 % of the calibration points",
        "whatever the error distribution. Variance scaling (RMS(std) = RMS(error)) was not used: the",
        "errors are heavy-tailed given the std (see the ±1σ column), so matching the RMS would not give",
        "95 % coverage. The engine multiplies the std by k; the tables report the test split before",
        "(as sampled) and after (as shipped). Points whose std is exactly zero are values the model",
        "imposes (Poisson's boundary) and are reported apart.",
        "",
        "Per-case Spearman(std, error) measures whether a larger std flags a worse case; a single scale",
        "cannot change it. Where it is low, the spread of the samples does not track the network's",
        "approximation error or the training data's discretization error, which dominate here. Each",
        "section's \"Does the std rank the cases?\" table tries the two remedies, a deep ensemble of",
        "independently trained networks (shipped for every model as `models/<name>_ens.onnx`, its students' as `_fast_ens`)",
        "and a locally adaptive scale fitted on the calibration split; docs/uncertainty.md compares them",
        "across the models and says where neither helps.",
        "",
    ]
    lines += summary_lines(results)
    # Where the reference is not the PDE's exact solution, the section says what it is.
    reference_note = {"topopt": " The reference is not an exact solution: it is SIMP's optimum on the 64 "
                                "mesh for the same load (a local optimum of a non-convex problem; "
                                "[topopt.md](topopt.md)), so the density error measures agreement with that "
                                "design, and the compliance table below what a designer gets.",
                      "flow": " No exact solution is known: the reference is the same solver on a 128² mesh, "
                              "twice the finest training mesh, about 0.4 % from the converged solution (docs/benchmarks.md)."}
    for name, r in results.items():
        lines += [f"## {name}", "", benchmarks.BENCH[name]["description"] + "." + reference_note.get(name, ""), "",
                  f"Measured in {r['seconds'] / 60:.1f} min (`scripts/accuracy.sh --bench {name} "
                  f"--pc-cases {r['pc_cases']}`; {r['machine']}).", "",
                  "| method | NFE | cases | rel. L2 mean | rel. L2 worst | vs top, mean | ms / case |",
                  "|---|---:|---:|---:|---:|---:|---:|"]
        for row in r["rows"]:
            top = "-" if np.isnan(row["top"]) else f"{row['top']:.4f}"
            ms = "-" if np.isnan(row["ms"]) else f"{row['ms']:.2f}"
            lines.append(f"| {row['method']} | {row['nfe']} | {row['cases']} | {row['mean']:.4f} | "
                         f"{row['worst']:.4f} | {top} | {ms} |")
        ci, box = r["ci"], r["box"]
        g1, g16 = r["gain"]
        word = lambda g: f"{100 * abs(g):.0f} % {'lower' if g >= 0 else 'higher'}"
        lines += ["", f"Against the regression baseline, the recommended sampler's mean error is {word(g1)} "
                      f"with one sample, {word(g16)} with the mean of {r['ensemble_samples']} samples "
                      "(the paper reports 45–58 % lower against its baselines)." + floor_note(name, r["rows"]), "",
                  f"Declared ranges: on the {box['cases']} cases of `models/{name}/box/` (" +
                  ("every corner of " if box.get("corners", 0) == box.get("all_corners", 0) else
                   f"{box['corners']} of the {box['all_corners']} corners (a half fraction: every combination of "
                   "the other parameters' extremes) of ") + "the parameter box plus uniform draws" +
                  (f", times from 0 to {benchmarks.BENCH[name]['coords'][2]:g}" if benchmarks.BENCH[name]["coords"]
                   else "") +
                  f"), the recommended sampler gives mean {box['mean']:.4f}, worst {box['worst']:.4f}" +
                  (f" (at parameters {', '.join(f'{v:.4g}' for v in box['worst_params'])})"
                   if "worst_params" in box else "") + ".", ""]
        lines += compliance_lines(r.get("compliance"))
        lines += vorticity_lines(r.get("vorticity"))
        lines += curve_lines(name, r.get("curve"))
        lines += calibration_lines(name, r["calib"])
        lines += student_lines(name, r)
        lines += uncertainty_lines(name, r.get("uncertainty"))
        lines += [f"Engine test (`tests/accuracy.rs`, in CI): {ci['sampler']} {ci['steps']} on the "
                  f"first {ci['cases']} cases gives mean {ci['mean']:.4f}, worst {ci['worst']:.4f}; on the box "
                  f"set worst {box['worst']:.4f}; ±2σ coverage of the calibrated std "
                  f"{100 * ci['calibration']['coverage_2sigma']:.1f} % (`models/{name}/accuracy.json`).", "",
                  f"![{name}](figures/{r['fig']})", ""]
    return "\n".join(lines)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bench", nargs="+", default=["poisson", "heat", "burgers"],
                    choices=list(benchmarks.BENCH))
    ap.add_argument("--pc-cases", type=int, default=16)
    ap.add_argument("--out", default=str(REPO / "docs" / "accuracy.md"))
    ap.add_argument("--students", action="store_true",
                    help="only measure the few-step students (models/<name>_fast.onnx) of --bench")
    ap.add_argument("--render", action="store_true",
                    help="only rebuild the page from the saved numbers (docs/figures/<name>_results.json)")
    args = ap.parse_args(argv)
    if not CLI.exists():
        subprocess.run(["cargo", "build", "--release"], cwd=REPO, check=True)
    fig_dir = Path(args.out).parent / "figures"
    fig_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        for name in ([] if args.render else args.bench):
            if (REPO / "models" / f"{name}_fast.onnx").exists():
                (fig_dir / f"{name}_student.json").write_text(json.dumps(run_student(name, Path(tmp)), indent=1)
                                                              + "\n")
            if args.students:
                continue
            # The same network exported without its known values (export --no-known-values), where
            # the benchmark has them, for the with/without row.
            bare = REPO / "models" / "baselines" / f"{name}_bare.onnx"
            t0 = time.perf_counter()
            r = run_bench(name, args.pc_cases, Path(tmp), fig_dir, bare if bare.exists() else None)
            r["seconds"] = time.perf_counter() - t0
            # Each section's figures are kept beside its plot, so that rerunning one benchmark
            # (--bench NAME) regenerates the page without remeasuring the others.
            (fig_dir / f"{name}_results.json").write_text(json.dumps(r, indent=1) + "\n")
    results = {}
    for name in benchmarks.BENCH:
        path = fig_dir / f"{name}_results.json"
        if path.exists():
            results[name] = json.loads(path.read_text())
            for extra, shipped in (("curve", None), ("student", "_fast"), ("uncertainty", None)):
                extra_path = fig_dir / f"{name}_{extra}.json"
                if extra_path.exists() and (shipped is None or (REPO / "models" / f"{name}{shipped}.onnx").exists()):
                    results[name][extra] = json.loads(extra_path.read_text())
    Path(args.out).write_text(markdown(results))
    print(f"wrote {args.out} ({', '.join(results)})")


if __name__ == "__main__":
    main()
