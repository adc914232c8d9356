"""docs/accuracy.md: the accuracy of the shipped models, served by libdgmf, against baselines.

    scripts/accuracy.sh            (or, from training/:  python3 -m dgmf_train.accuracy)

Per benchmark, over the shipped held-out test set (models/<name>/), relative L2 error
||u - u_ref|| / ||u_ref|| per test case (for the Burgers coords model a case is the whole
space-time field: its 16 time slices stacked), mean and worst, of
  (a) the DGMF model through `dgmf predict` (heun at several step counts, the default ancestral 30,
      edm 20, pc at N = 500/1000),
  (b) the direct-regression baseline (models/baselines/<name>_regression.onnx, onnxruntime),
  (c) the lowest-fidelity solver, interpolated to the output grid,
with NFE and wall time per case, plus figures (reference, prediction, error, ensemble std).
It also writes models/<name>/accuracy.json, the figure the engine's accuracy test checks.
Needs the release CLI (cargo build --release), numpy, scipy, onnxruntime, matplotlib; no torch.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np

from . import bench, cli
from .evaluate import low_fidelity, rel_l2
from .paths import CLI, REPO

# (sampler, steps) rows of the table; pc runs on the first --pc-cases cases only (2000 NFE).
HEUN_STEPS = (6, 10, 18, 32)
PC_STEPS = (500, 1000)
FIG_CASES = (0, 1, 2)
# The library's default sampler (SamplerConfig::default()), and the first cases the engine's accuracy
# test (tests/accuracy.rs) runs with it in CI.
DEFAULT_SAMPLER, DEFAULT_STEPS = "ancestral", 30
CI_CASES = 16


def load_testset(name):
    d = REPO / "models" / name
    t = {k: np.load(d / f"{k}.npy") for k in ("params", "fidelity", "u")}
    if (d / "coords.npy").exists():
        t["coords"] = np.load(d / "coords.npy")
        t["case"] = np.load(d / "case.npy")
    else:
        t["case"] = np.arange(len(t["u"]))
    return t


def subset(t, n_cases):
    keep = t["case"] < n_cases
    return {k: v[keep] for k, v in t.items()}


def per_case_error(pred, t):
    """Relative L2 per case, rows of one case flattened together."""
    cases = np.unique(t["case"])
    flat = lambda a: np.asarray(a, np.float64).reshape(len(a), -1)
    p, r = flat(pred), flat(t["u"])
    return np.array([rel_l2(p[t["case"] == c].reshape(1, -1), r[t["case"] == c].reshape(1, -1))[0]
                     for c in cases])


def fidelity_arg(name, t):
    f = bench.BENCH[name]["fidelity"]
    assert (t["fidelity"] == t["fidelity"][0]).all()
    return str(int(t["fidelity"][0])) if f[0] == "discrete" else repr(float(t["fidelity"][0]))


def engine(name, t, sampler, steps, work, samples=1, std=False):
    """Runs `dgmf predict` on the rows of t; returns (mean, std or None, report dict)."""
    return cli.predict(REPO / "models" / f"{name}.onnx", t["params"], fidelity_arg(name, t),
                       coords=t.get("coords"), sampler=sampler, steps=steps, samples=samples, std=std,
                       work=work)


def baseline(name, t):
    import onnxruntime as ort
    path = REPO / "models" / "baselines" / f"{name}_regression.onnx"
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    f = bench.BENCH[name]["fidelity"]
    fid = (np.eye(f[1])[t["fidelity"].astype(int)] if f[0] == "discrete"
           else t["fidelity"][:, None])
    feeds = dict(params=t["params"].astype(np.float32), fidelity=fid.astype(np.float32))
    if "coords" in t:
        feeds["coords"] = t["coords"].astype(np.float32)
    names = [i.name for i in sess.get_inputs()]
    t0 = time.perf_counter()
    out = np.concatenate([sess.run(None, {k: feeds[k][i:i + 64] for k in names})[0]
                          for i in range(0, len(t["params"]), 64)])
    return out, time.perf_counter() - t0


def machine():
    cpu = "unknown CPU"
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{cpu}, {os.cpu_count()} logical CPUs, {platform.system()} {platform.machine()}"


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
        p = ", ".join(f"{k}={v:.3g}" for k, v in zip(bench.BENCH[name]["module"].PARAM_NAMES,
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
    ylabel = {"poisson": "y (rows) vs x", "heat": "t (rows) vs x", "burgers": "t (rows) vs x"}[name]
    fig.suptitle(f"{name}: test cases {list(FIG_CASES)}; axes {ylabel}", fontsize=10)
    fig.tight_layout()
    fig.savefig(out, dpi=90)
    plt.close(fig)


def run_bench(name, pc_cases, work, fig_dir):
    t = load_testset(name)
    n_cases = len(np.unique(t["case"]))
    rows = []

    def add(method, nfe, e, seconds, cases):
        rows.append(dict(method=method, nfe=nfe, cases=cases, mean=float(e.mean()),
                         worst=float(e.max()), ms=1e3 * seconds / cases))
        print(f"  {name:8s} {method:34s} NFE {nfe!s:>5}  cases {cases:4d}  mean {e.mean():.4f}  "
              f"worst {e.max():.4f}  {1e3 * seconds / cases:9.2f} ms/case", flush=True)

    for steps in HEUN_STEPS:
        mean, _, rep = engine(name, t, "heun", steps, work)
        add(f"DGMF, libdgmf heun {steps}", rep["nfe"], per_case_error(mean, t),
            rep["wall_ms"] / 1e3, n_cases)
    mean, _, rep = engine(name, t, DEFAULT_SAMPLER, DEFAULT_STEPS, work)
    e_default = per_case_error(mean, t)
    add(f"DGMF, libdgmf {DEFAULT_SAMPLER} {DEFAULT_STEPS} (library default)", rep["nfe"], e_default,
        rep["wall_ms"] / 1e3, n_cases)
    mean, _, rep = engine(name, t, "edm", 20, work)
    add("DGMF, libdgmf edm 20", rep["nfe"], per_case_error(mean, t), rep["wall_ms"] / 1e3, n_cases)
    ts = subset(t, pc_cases)
    for steps in PC_STEPS:
        mean, _, rep = engine(name, ts, "pc", steps, work)
        add(f"DGMF, libdgmf pc {steps}", rep["nfe"], per_case_error(mean, ts),
            rep["wall_ms"] / 1e3, pc_cases)
    pred, sec = baseline(name, t)
    add("direct regression (same backbone)", 1, per_case_error(pred, t), sec, n_cases)
    t0 = time.perf_counter()
    lf = low_fidelity(name, t["params"], t.get("coords"))
    sec = time.perf_counter() - t0
    res = bench.BENCH[name]["module"].LEVELS[0]
    add(f"lowest-fidelity solver ({res} nodes), interpolated", "-", per_case_error(lf, t), sec,
        n_cases)

    # The CI subset the engine test checks: the default run's first cases. Sample j's noise depends only on
    # (seed, j), so those rows are bit-identical to a run of the subset alone.
    e = e_default[:CI_CASES]
    ci = dict(sampler=DEFAULT_SAMPLER, steps=DEFAULT_STEPS, cases=CI_CASES, seed=0, samples=1,
              mean=float(e.mean()), worst=float(e.max()))
    (REPO / "models" / name / "accuracy.json").write_text(json.dumps(ci, indent=1) + "\n")

    tf = subset(t, max(FIG_CASES) + 1)
    mean, std, _ = engine(name, tf, "heun", 18, work, samples=16, std=True)
    fig = fig_dir / f"{name}_cases.png"
    figure(name, tf, mean, std, fig)
    return rows, ci, fig


def markdown(results, pc_cases, seconds):
    lines = [
        "# Accuracy of the shipped models",
        "",
        "Generated by `scripts/accuracy.sh` (which runs `python3 -m dgmf_train.accuracy` in `training/`);",
        "do not edit by hand. Rerun it after retraining a model.",
        "",
        f"Machine: {machine()}; ONNX Runtime default threads; took {seconds / 60:.1f} min.",
        "",
        "Error: relative L2 ‖u − u_ref‖/‖u_ref‖ per held-out high-fidelity test case (the shipped",
        "`models/<name>/` test set), mean and worst over the cases. For Burgers a case is the whole",
        "space–time field of one Reynolds number (16 time slices, each a network query with `t` as",
        "`coords`). DGMF rows use one sample per case (seed 0) and the final denoising step;",
        f"`pc` (reverse-diffusion predictor + 1 Langevin step, snr 0.16) runs on the first {pc_cases} cases",
        "only, since it costs 2 network evaluations per level. ms/case is wall time divided by the",
        "number of cases, with up to 64 rows batched per network call; it is indicative only (one run,",
        "on whatever else the machine was doing) — docs/performance.md has the controlled timings.",
        "The regression baseline is the same U-Net trained with MSE on the same data",
        "(`models/baselines/`); the lowest-fidelity solver is the coarsest mesh of the training data,",
        "linearly interpolated onto the output grid.",
        "",
    ]
    for name, (rows, ci, fig) in results.items():
        lines += [f"## {name}", "", bench.BENCH[name]["description"] + ".", "",
                  "| method | NFE | cases | rel. L2 mean | rel. L2 worst | ms / case |",
                  "|---|---:|---:|---:|---:|---:|"]
        for r in rows:
            lines.append(f"| {r['method']} | {r['nfe']} | {r['cases']} | {r['mean']:.4f} | "
                         f"{r['worst']:.4f} | {r['ms']:.2f} |")
        lines += ["", f"Engine test (`tests/accuracy.rs`, in CI): {ci['sampler']} {ci['steps']} on the "
                      f"first {ci['cases']} cases gives mean {ci['mean']:.4f}, worst {ci['worst']:.4f} "
                      f"(`models/{name}/accuracy.json`).", "",
                  f"![{name}](figures/{fig.name})", ""]
    return "\n".join(lines)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bench", nargs="+", default=["poisson", "heat", "burgers"],
                    choices=list(bench.BENCH))
    ap.add_argument("--pc-cases", type=int, default=16)
    ap.add_argument("--out", default=str(REPO / "docs" / "accuracy.md"))
    args = ap.parse_args(argv)
    if not CLI.exists():
        subprocess.run(["cargo", "build", "--release"], cwd=REPO, check=True)
    fig_dir = Path(args.out).parent / "figures"
    fig_dir.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.bench:
            results[name] = run_bench(name, args.pc_cases, Path(tmp), fig_dir)
    Path(args.out).write_text(markdown(results, args.pc_cases, time.perf_counter() - t0))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
