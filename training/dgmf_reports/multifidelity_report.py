"""docs/multifidelity.md and its figures from the committed results of dgmf_reports.multifidelity:
error against data cost per benchmark, the equal-error cost ratio, and the paper-style table.

    cd training && python3 -m dgmf_reports.multifidelity report
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

ARMS = [("gp", "fine"), ("mf-gp", "ladder"), ("regression", "fine"), ("regression", "ladder"),
        ("dgmf", "fine"), ("dgmf", "ladder"), ("fno", "fine")]
PAPER_LADDER = [100, 20, 5]
COMMAND = "cd training && python3 -m dgmf_reports.multifidelity {}"


def load(results):
    rows = {}
    for path in sorted(Path(results, "results").glob("*/*.json")):
        r = json.loads(path.read_text())
        rows.setdefault(r["bench"], []).append(r)
    return rows


def curve(rows, arm, design):
    """(costs, errors) of one arm and design, by budget."""
    pts = sorted((r["budget_s"], r["mean_rel_l2"]) for r in rows if r["arm"] == arm and r["design"] == design)
    return np.array([p[0] for p in pts]), np.array([p[1] for p in pts])


def equal_error_ratio(rows, arm):
    """Per budget B: (B, the ladder's error at B, q, bound) where q is the cost at which `arm` on fine runs
    reaches that error, over B (log-log interpolation). Outside the measured fine-only range q is a bound:
    "<=" when even the cheapest fine-only row is as good (q <= its cost / B), ">" when no fine-only row is
    (q > the dearest one's cost / B); bound is None when q was interpolated."""
    cl, el = curve(rows, arm, "ladder")
    cf, ef = curve(rows, arm, "fine")
    out = []
    for b, e in zip(cl, el):
        ratio, bound = None, None
        if len(ef) and e >= ef.max():
            ratio, bound = float(cf[np.argmax(ef <= e)]) / b, "<="
        elif len(ef) and e < ef.min():
            ratio, bound = float(cf.max()) / b, ">"
        for i in range(len(cf) - 1):
            lo, hi = sorted((ef[i], ef[i + 1]))
            if bound is None and lo <= e <= hi and ef[i] != ef[i + 1]:
                w = (np.log(e) - np.log(ef[i])) / (np.log(ef[i + 1]) - np.log(ef[i]))
                ratio = float(np.exp(np.log(cf[i]) + w * (np.log(cf[i + 1]) - np.log(cf[i])))) / b
                break
        out.append((b, e, ratio, bound))
    return out


def solver_floor(name, n_cases):
    """Mean relative L2 of the finest training solver (the shipped test set's u_top) against the converged
    reference on the first n_cases test cases: what a learner trained on fine runs can hope to reach."""
    from dgmf_train.testsets import load_testset, per_case_error
    t = load_testset(name)
    if "u_top" not in t:
        return None
    keep = t["case"] < n_cases
    return float(per_case_error(t["u_top"][keep], dict(u=t["u"][keep], case=t["case"][keep])).mean())


def figure(name, rows, path, floor=None):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(6.4, 4.2), dpi=120)
    for arm, design in ARMS:
        c, e = curve(rows, arm, design)
        if len(c):
            ax.plot(c, 100 * e, "o-" if design == "ladder" else "s--", label=f"{arm} ({design})")
    if floor is not None:
        ax.axhline(100 * floor, color="k", ls=":", lw=1, label="finest solver itself")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("data cost: solver seconds of the training runs (measured)")
    ax.set_ylabel("mean relative L2 vs converged reference (%)")
    ax.set_title(f"{name}: test error against data cost")
    ax.grid(True, which="both", alpha=0.3)
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def bench_lines(name, rows, costs, floor=None):
    c = costs[name]
    lines = [f"## {name}", "",
             "Solver seconds per run (median of {} draws, one thread): ".format(c["runs"]) +
             ", ".join(f"resolution {r}: {1e3 * s:.2f} ms" for r, s in zip(c["resolutions"], c["seconds"])) +
             f" (finest / coarsest: {c['seconds'][-1] / c['seconds'][0]:.1f}x).", "",
             f"![{name}](figures/multifidelity/{name}.png)", "",
             "| budget (ladder runs per level) | cost s | " + " | ".join(f"{a} ({d})" for a, d in ARMS) + " |",
             "|---|---|" + "---|" * len(ARMS)]
    for ladder in sorted({tuple(r["ladder"]) for r in rows}, key=lambda l: l[-1]):
        at = [r for r in rows if tuple(r["ladder"]) == ladder]
        cells = []
        for arm, design in ARMS:
            r = next((r for r in at if r["arm"] == arm and r["design"] == design), None)
            cells.append("–" if r is None else f"{100 * r['mean_rel_l2']:.3f} % ({r['runs'][-1]} fine)")
        lines.append(f"| {'/'.join(map(str, ladder))} | {at[0]['budget_s']:.3g} | " + " | ".join(cells) + " |")
    lines.append("")
    for arm, design in ARMS:
        cov = [r["coverage_2sigma"] for r in rows if r["arm"] == arm and r["design"] == design
               and "coverage_2sigma" in r]
        if cov:
            lines.append(f"- ±2σ coverage of {arm} ({design}) over the budgets: "
                         f"{100 * min(cov):.1f}–{100 * max(cov):.1f} % (95.4 % is calibrated)"
                         + ("; its std is calibrated on the shipped calibration split" if arm == "dgmf" else
                            "; the GP variance, uncalibrated"))
    if floor is not None:
        lines.append(f"- The floor: the finest training solver is {100 * floor:.3f} % from the converged reference "
                     "on the same test cases (dotted line); an arm trained on its runs can hardly get below it.")
    d = next((r for r in rows if r["arm"] == "dgmf"), None)
    lines.append(f"- Test: the first {rows[0]['test_cases']} cases of the shipped test split (its converged references)"
                 + (f"; DGMF's answer is the mean of {d['samples']} samples with the shipped model's sampler "
                    f"({d['sampler']})" if d else "") + ".")
    nets = [r for r in rows if "train_steps" in r]
    if nets:
        steps = [r["train_steps"] for r in nets]
        lines.append(f"- Network arms: {nets[0]['train_minutes']:g} min each on one thread, "
                     f"{min(steps)}–{max(steps)} optimiser steps.")
    for arm in ("dgmf", "regression"):
        ratios = equal_error_ratio(rows, arm)
        if ratios:
            text = ", ".join(f"at {b:.3g} s: " + ("not bracketed" if q is None else
                                                  f"{bound or ''} {q:.2f}".strip()) for b, e, q, bound in ratios)
            lines.append(f"- {arm}: fine-only cost / ladder cost at the ladder's error: {text} (above 1 the ladder "
                         "pays; \"<=\": the cheapest fine-only row is already as good, \">\": no fine-only row is).")
    lines.append("")
    return lines


def paper_lines(rows_by_bench, floors):
    lines = ["## At the paper's budget", "",
             f"Relative L2 (mean over the test cases, %) with the ladder {'/'.join(map(str, PAPER_LADDER))} "
             "(the IFC paper's proportions for three levels) and the fine-only design of equal cost. The DGMF "
             "paper reports 45-58 % lower error than its best GP baseline.", "",
             "| benchmark | gp (fine) | mf-gp (ladder) | regression (best design) | dgmf (best design) | "
             "dgmf vs best GP | finest solver |", "|---|---|---|---|---|---|---|"]
    for name, rows in rows_by_bench.items():
        at = [r for r in rows if list(r["ladder"]) == PAPER_LADDER]

        def best(arm):
            es = [r["mean_rel_l2"] for r in at if r["arm"] == arm]
            return min(es) if es else None
        g, mg, reg, d = best("gp"), best("mf-gp"), best("regression"), best("dgmf")
        gps = [e for e in (g, mg) if e is not None]
        cmp = ("–" if d is None or not gps else f"{100 * (1 - d / min(gps)):.0f} % lower" if d < min(gps)
               else f"{d / min(gps):.1f}x higher")
        fmt = lambda e: "–" if e is None else f"{100 * e:.3f}"
        lines.append(f"| {name} | {fmt(g)} | {fmt(mg)} | {fmt(reg)} | {fmt(d)} | {cmp} | {fmt(floors.get(name))} |")
    lines.append("")
    return lines


def notes(results):
    """The hand-written text of docs/figures/multifidelity/notes.md by section ("summary", a benchmark's
    name): what the numbers show, said by a person; the numbers themselves are generated."""
    path = Path(results) / "notes.md"
    out, key = {}, None
    for line in (path.read_text().splitlines() if path.exists() else []):
        if line.startswith("## "):
            key = line[3:].strip()
            out[key] = []
        elif key is not None:
            out[key].append(line)
    return {k: "\n".join(v).strip() for k, v in out.items()}


def main(results, doc):
    results = Path(results)
    costs = json.loads((results / "costs.json").read_text())
    rows = load(results)
    text = notes(results)
    lines = ["# Does multi-fidelity pay? Error against data cost", "",
             "Generated by `" + COMMAND.format("report") + "` from the committed results in "
             "`docs/figures/multifidelity/` (each row: `" + COMMAND.format("pool --work W BENCH") + "` once, then `" +
             COMMAND.format("run --work W BENCH") + "`, which skips the rows whose result exists; flow's GP "
             "rows with `--arms gp --gp-rows 400` and `--arms mf-gp --gp-rows 200`; the solver "
             "costs: `" + COMMAND.format("costs") + "`, measured on " + costs.get("machine", "?") + "); the "
             "prose is docs/figures/multifidelity/notes.md.", ""]
    if "summary" in text:
        lines += [text["summary"], ""]
    floors = {name: solver_floor(name, rows[name][0]["test_cases"]) for name in rows}
    for name in rows:
        figure(name, rows[name], results / f"{name}.png", floors[name])
        lines += bench_lines(name, rows[name], costs, floors[name])
        if name in text:
            lines += [text[name], ""]
    lines += paper_lines(rows, floors)
    Path(doc).write_text("\n".join(lines) + "\n")
    print(f"wrote {doc}")
