"""docs/topopt.md's warm-start table: examples/topopt (C++ SIMP + libdgmf) over held-out load cases.

    cmake -S examples/topopt -B build/topopt -DCMAKE_PREFIX_PATH=<libdgmf prefix> && cmake --build build/topopt
    python3 bench/topopt_warmstart.py --exe build/topopt/topopt --cases 16

For each of the first --cases load cases (p, a) of the shipped test set (models/topopt/params.npy), runs
`topopt --model models/topopt.onnx --position p --angle a --mesh 64 --samples S --json ...` once: (a) SIMP
from the uniform start, (b) SIMP warm-started from the surrogate's projected mean design, (c) the
surrogate's design alone. Writes --out (default docs/figures/topopt_warmstart.json: every run, the
machine, the command) and the same name .png (cold / warm / surrogate / ensemble std of --figure-cases
cases), and prints the markdown table. --sampler/--steps choose the surrogate's sampler. Cases run one after another, one process at a time.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]


def machine():
    cpu = next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo")
                if line.startswith("model name")), "unknown CPU")
    return f"{cpu}, {os.cpu_count()} logical CPUs, {platform.system()} {platform.machine()}"


def run_case(exe, model, p, a, samples, save, sampler=None, steps=None):
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "r.json"
        cmd = [str(exe), "--model", str(model), "--position", repr(float(p)), "--angle", repr(float(a)),
               "--mesh", "64", "--samples", str(samples), "--json", str(out)]
        if sampler:
            cmd += ["--sampler", sampler]
        if steps:
            cmd += ["--steps", str(steps)]
        if save:
            Path(save).mkdir(parents=True, exist_ok=True)
            cmd += ["--save", str(save)]
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
        return json.loads(out.read_text())


def stats(v):
    v = np.asarray(v, float)
    return dict(median=float(np.median(v)), worst=float(v.max()), best=float(v.min()))


def summarize(runs):
    col = lambda design, key: np.array([r[design][key] for r in runs], float)
    cold_it, cold_c, cold_s = col("cold", "iterations"), col("cold", "compliance"), col("cold", "seconds")
    gap_warm = col("warm", "compliance") / cold_c - 1
    gap_sur = col("surrogate", "compliance") / cold_c - 1
    sur_s = col("surrogate", "seconds")
    load_s = np.array([r["surrogate_load_seconds"] for r in runs], float)
    return dict(
        iterations_cold=stats(cold_it), iterations_warm=stats(col("warm", "iterations")),
        iterations_ratio=stats(col("warm", "iterations") / cold_it),
        compliance_warm_vs_cold=stats(gap_warm), compliance_surrogate_vs_cold=stats(gap_sur),
        seconds_cold=stats(cold_s), seconds_warm=stats(col("warm", "seconds")),
        seconds_surrogate=stats(sur_s),
        time_ratio_warm=stats(col("warm", "seconds") / cold_s),
        time_ratio_surrogate=stats(sur_s / cold_s),
        # In a design loop the model is loaded once: the same ratio without the load.
        time_ratio_surrogate_loaded=stats((sur_s - load_s) / cold_s),
        warm_within_1pct=float(np.mean(gap_warm <= 0.01)),
        surrogate_within_5pct=float(np.mean(gap_sur <= 0.05)))


def table(s, n):
    pct = lambda d: f"{100 * d['median']:+.2f} % | {100 * d['worst']:+.2f} %"
    num = lambda d, f: f"{d['median']:{f}} | {d['worst']:{f}}"
    return "\n".join([
        f"| over {n} held-out load cases | median | worst |",
        "|---|---:|---:|",
        f"| SIMP iterations, cold start | {num(s['iterations_cold'], '.0f')} |",
        f"| SIMP iterations, warm start | {num(s['iterations_warm'], '.0f')} |",
        f"| warm / cold iterations | {num(s['iterations_ratio'], '.2f')} |",
        f"| compliance, warm / cold − 1 | {pct(s['compliance_warm_vs_cold'])} |",
        f"| compliance, surrogate alone / cold − 1 | {pct(s['compliance_surrogate_vs_cold'])} |",
        f"| wall s, cold | {num(s['seconds_cold'], '.2f')} |",
        f"| wall s, warm (surrogate included) | {num(s['seconds_warm'], '.2f')} |",
        f"| wall s, surrogate alone (load, predict, project, 1 FE solve) | {num(s['seconds_surrogate'], '.3f')} |",
        f"| surrogate time / cold time | {num(s['time_ratio_surrogate'], '.3f')} |",
        f"| the same, model already loaded (a design loop) | {num(s['time_ratio_surrogate_loaded'], '.3f')} |",
        "",
        f"Warm starts within 1 % of the cold start's compliance (or better): "
        f"{100 * s['warm_within_1pct']:.0f} % of cases; surrogate designs within 5 %: "
        f"{100 * s['surrogate_within_5pct']:.0f} %."])


def figure(saves, cases, out):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(len(saves), 4, figsize=(11, 2.9 * len(saves)), squeeze=False)
    for r, (d, run) in enumerate(zip(saves, cases)):
        for c, (name, title) in enumerate((("cold", "SIMP, cold start"), ("warm", "SIMP, warm start"),
                                           ("surrogate", "surrogate alone"), ("std", "ensemble std"))):
            ax = axes[r, c]
            img = np.load(Path(d) / f"{name}.npy")
            kw = dict(cmap="magma") if name == "std" else dict(cmap="gray_r", vmin=0, vmax=1)
            im = ax.imshow(img, origin="lower", **kw)
            sub = "" if name == "std" else (f"\n{run[name]['iterations']} it, c = {run[name]['compliance']:.3f}"
                                             if name != "surrogate" else f"\nc = {run[name]['compliance']:.3f}")
            ax.set_title(f"{title}{sub}", fontsize=8)
            ax.set_xticks([])
            ax.set_yticks([])
            if name == "std":
                fig.colorbar(im, ax=ax, fraction=0.046)
        axes[r, 0].set_ylabel(f"p = {run['position']:.3f}, a = {run['angle']:.3f}", fontsize=8)
    fig.tight_layout()
    fig.savefig(out, dpi=90)
    plt.close(fig)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--exe", required=True, help="the built examples/topopt executable")
    ap.add_argument("--model", default=str(REPO / "models" / "topopt.onnx"))
    ap.add_argument("--testset", default=str(REPO / "models" / "topopt"))
    ap.add_argument("--cases", type=int, default=16)
    ap.add_argument("--samples", type=int, default=8)
    ap.add_argument("--sampler",
                    help="the surrogate's sampler (default: the model's recommended one, dgmf info shows it)")
    ap.add_argument("--steps", type=int, help="its noise levels (default: the sampler's)")
    ap.add_argument("--figure-cases", type=int, default=3)
    ap.add_argument("--out", default=str(REPO / "docs" / "figures" / "topopt_warmstart.json"))
    args = ap.parse_args(argv)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    params = np.load(Path(args.testset) / "params.npy")[:args.cases]
    t0 = time.perf_counter()
    runs, saves = [], []
    with tempfile.TemporaryDirectory() as tmp:
        for i, (p, a) in enumerate(params):
            save = Path(tmp) / f"case{i}" if i < args.figure_cases else None
            r = run_case(args.exe, args.model, p, a, args.samples, save, args.sampler, args.steps)
            runs.append(r)
            if save:
                saves.append(save)
            print(f"case {i:2d} p={p:.3f} a={a:.3f}: iterations {r['cold']['iterations']:3d} -> "
                  f"{r['warm']['iterations']:3d}, compliance warm/cold {r['warm']['compliance'] / r['cold']['compliance']:.4f}, "
                  f"surrogate/cold {r['surrogate']['compliance'] / r['cold']['compliance']:.4f}, "
                  f"s {r['cold']['seconds']:.2f} / {r['warm']['seconds']:.2f} / {r['surrogate']['seconds']:.3f}",
                  flush=True)
        fig = Path(args.out).with_suffix(".png")
        if saves:
            figure(saves, runs[:len(saves)], fig)
    s = summarize(runs)
    doc = dict(command=" ".join([Path(sys.argv[0]).name] + (argv or sys.argv[1:])), machine=machine(),
               seconds=time.perf_counter() - t0, samples=args.samples, runs=runs, summary=s)
    Path(args.out).write_text(json.dumps(doc, indent=1) + "\n")
    print(table(s, len(runs)))
    print(f"wrote {args.out}" + (f" and {fig}" if saves else ""))


if __name__ == "__main__":
    main()
