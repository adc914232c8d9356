#!/usr/bin/env python3
"""Teacher against student: accuracy per NFE on the same axes, and the 16-sample ensemble's time side by side.

    python3 bench/student_sweep.py                        # every model with a models/<name>_fast.onnx
    python3 bench/student_sweep.py --models burgers --cases 8 --reps 3

For each shipped student (`models/<name>_fast.onnx`, docs/distill.md) and its teacher (`models/<name>.onnx`),
on the first cases of the test set (docs/nfe_sweep.md's counts): the teacher with `ancestral` at 2, 3, 4 and
6 levels (6 is what it recommends), the student with `consistency` at 1–4 levels (its schedule ends at the
student's sigma_last; 2 is what it recommends). Per setting: the mean relative L2 error of one sample
(seed 0) and of the 16-sample mean against the exact/converged references, plotted against NFE
(docs/figures/nfe_students_<name>.png). Then the time of one 16-sample query (first test case, the model
loaded once, the second of two runs, ONNX Runtime's default threads) for each model's recommended sampler,
alternating teacher and student, median over --reps. The section goes into docs/nfe_sweep.md after the
marker line (bench/nfe_sweep.py keeps it), the numbers into docs/figures/nfe_students.json.
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "training"))
from dgmf_train import engine  # noqa: E402
from dgmf_train.contract import read_metadata  # noqa: E402
from dgmf_train.testsets import fidelity_arg, load_testset, machine, per_case_error, subset  # noqa: E402

MARK = "<!-- bench/student_sweep.py writes below this line -->"
CASES = {"poisson": 32, "heat": 32, "burgers": 8, "topopt": 16, "flow": 8}
TEACHER = ("ancestral", (2, 3, 4, 6))
STUDENT = ("consistency", (1, 2, 3, 4))
SAMPLES = 16


def sigma_last(model):
    """The student's sigma_last from its dgmf.sampler (the consistency schedule's end at any step count)."""
    return read_metadata(model).sampler[1].get("sigma_last")


def sweep(name, cases, work):
    t = subset(load_testset(name), cases)
    rows = []
    for who, (sampler, steps_list) in (("teacher", TEACHER), ("student", STUDENT)):
        model = REPO / "models" / (f"{name}.onnx" if who == "teacher" else f"{name}_fast.onnx")
        last = sigma_last(model) if who == "student" else None
        extra = ("--sigma-last", last) if last else ()
        for steps in steps_list:
            one, _, r = engine.predict(model, t["params"], fidelity_arg(name, t), coords=t.get("coords"),
                                       sampler=sampler, steps=steps, extra=extra, work=work)
            mean, _, _ = engine.predict(model, t["params"], fidelity_arg(name, t), coords=t.get("coords"),
                                        sampler=sampler, steps=steps, extra=extra, samples=SAMPLES, work=work)
            row = dict(who=who, sampler=sampler, steps=steps, nfe=r["nfe"],
                       one_sample=float(per_case_error(one, t).mean()),
                       mean_of_16=float(per_case_error(mean, t).mean()))
            rows.append(row)
            print(f"{name:8s} {who} {sampler} {steps}: {row['nfe']} NFE  one {row['one_sample']:.4f}  "
                  f"mean of 16 {row['mean_of_16']:.4f}", flush=True)
    return rows


def timing(name, reps):
    """ms per 16-sample query, each model with its own recommended sampler, alternating, median of reps."""
    t = load_testset(name)
    coords = t["coords"][:1] if "coords" in t else None
    ms = {"teacher": [], "student": []}
    for _ in range(reps):
        for who in ms:
            model = REPO / "models" / (f"{name}.onnx" if who == "teacher" else f"{name}_fast.onnx")
            _, _, r = engine.predict(model, t["params"][:1], fidelity_arg(name, t), coords=coords,
                                     samples=SAMPLES, repeat=2)
            ms[who].append(r["wall_ms"])
    return {k: float(np.median(v)) for k, v in ms.items()}, ms


def plot(name, rows, cases, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(6.5, 4.2))
    for who, colour in (("teacher", "tab:blue"), ("student", "tab:red")):
        mine = [r for r in rows if r["who"] == who]
        nfe = [r["nfe"] for r in mine]
        ax.plot(nfe, [r["one_sample"] for r in mine], "o--", color=colour, ms=4,
                label=f"{who} ({mine[0]['sampler']}), one sample")
        ax.plot(nfe, [r["mean_of_16"] for r in mine], "s-", color=colour, ms=4,
                label=f"{who} ({mine[0]['sampler']}), mean of {SAMPLES}")
    ax.set_yscale("log")
    ax.set(xlabel="NFE (network evaluations per sample)", ylabel="mean relative L2 error",
           title=f"{name}: teacher and student, first {cases} test cases")
    ax.set_xticks(sorted({r["nfe"] for r in rows}))
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def section(results, took):
    lines = [MARK, "", "## Teacher and few-step student (generated by `python3 bench/student_sweep.py`)", "",
             f"Took {took / 60:.1f} min. Machine: {machine()}. The students are docs/distill.md's. Errors: "
             f"mean relative L2 over the first test cases against the references, one sample (seed 0) and the "
             f"mean of {SAMPLES}; the teacher with `ancestral` (it recommends 6), the student with `consistency` "
             f"ending at its sigma_last (it recommends 2). Time: one {SAMPLES}-sample query with each model's "
             f"recommended sampler, teacher and student alternating in one run, median of the repetitions.", "",
             f"| model | teacher, {SAMPLES}-sample query | student | speed-up | teacher mean of {SAMPLES} "
             f"(recommended) | student mean of {SAMPLES} (recommended) |",
             "|---|---:|---:|---:|---:|---:|"]
    for name, res in results.items():
        rec = {r["who"]: r for r in res["rows"] if (r["who"], r["steps"]) in (("teacher", 6), ("student", 2))}
        ms = res["median_ms"]
        lines.append(f"| {name} | {ms['teacher']:.1f} ms | {ms['student']:.1f} ms | "
                     f"{ms['teacher'] / ms['student']:.2f}× | {rec['teacher']['mean_of_16']:.4f} | "
                     f"{rec['student']['mean_of_16']:.4f} |")
    for name, res in results.items():
        lines += ["", f"### {name} (first {res['cases']} test cases)", "",
                  f"| model | sampler | N | NFE | one sample | mean of {SAMPLES} |", "|---|---|---:|---:|---:|---:|"]
        lines += [f"| {r['who']} | {r['sampler']} | {r['steps']} | {r['nfe']} | {r['one_sample']:.4f} | "
                  f"{r['mean_of_16']:.4f} |" for r in res["rows"]]
        lines += ["", f"![{name}: teacher and student](figures/nfe_students_{name}.png)"]
    return "\n".join(lines) + "\n"


def splice(doc, block):
    """docs/nfe_sweep.md with everything from the marker on replaced by `block`."""
    text = doc.read_text() if doc.exists() else ""
    head = text.split(MARK)[0].rstrip("\n")
    doc.write_text((head + "\n\n" if head else "") + block)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--models", nargs="+",
                    default=[n for n in CASES if (REPO / "models" / f"{n}_fast.onnx").exists()])
    ap.add_argument("--cases", type=int, help="test cases per model (default: per model, see above)")
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--out", default=str(REPO / "docs" / "nfe_sweep.md"))
    a = ap.parse_args(argv)
    missing = [n for n in a.models if not (REPO / "models" / f"{n}_fast.onnx").exists()]
    if missing:
        ap.error(f"no student for {', '.join(missing)}: models/<name>_fast.onnx (docs/distill.md makes one)")
    figs = Path(a.out).parent / "figures"
    figs.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name in a.models:
            cases = a.cases or CASES[name]
            rows = sweep(name, cases, Path(tmp))
            med, ms = timing(name, a.reps)
            print(f"{name:8s} 16-sample query: teacher {med['teacher']:.1f} ms, student {med['student']:.1f} ms "
                  f"-> {med['teacher'] / med['student']:.2f}x", flush=True)
            plot(name, rows, cases, figs / f"nfe_students_{name}.png")
            results[name] = dict(cases=cases, rows=rows, median_ms=med, ms=ms)
    splice(Path(a.out), section(results, time.perf_counter() - t0))
    (figs / "nfe_students.json").write_text(json.dumps({"machine": machine(), "results": results}, indent=1)
                                            + "\n")
    print(f"wrote {a.out}")


if __name__ == "__main__":
    main()
