"""The model recommends its own sampler: `dgmf-train calibrate` (without --sampler) tries a small set of cheap
samplers on the calibration cases with the engine itself and keeps the cheapest within TOLERANCE of the
most accurate; `dgmf calibrate` then fits the std scale with it and writes it into `dgmf.sampler`.

Each candidate draws one sample per case (seed 0) and is scored by the mean relative L2 over the cases,
the quantity docs/nfe_sweep.md ranks samplers by. Cost is network evaluations per sample (NFE), as the
engine reports them. The candidates are the few-step settings that did well on the shipped models
(docs/nfe_sweep.md), and the model's own recommendation when it has one (a student's `consistency`).
"""
from __future__ import annotations

from . import engine
from .contract import read_metadata
from .testsets import cases_fidelity_arg, load_cases, per_case_error, subset

CANDIDATES = (("ancestral", 4), ("ancestral", 6), ("ancestral", 10), ("ancestral", 20), ("heun", 6),
              ("heun", 10), ("ode-euler", 10))
TOLERANCE = 0.10        # within 10 % of the best candidate's error
MAX_CASES = 64          # the first calibration cases the search scores on


def own_sampler(meta):
    """The model's dgmf.sampler as (name, steps), or None."""
    name, settings = meta.sampler
    return (name, int(settings["steps"])) if name and "steps" in settings else None


def score(model, cases_dir, candidates=None, max_cases=MAX_CASES):
    """[(name, steps, nfe, mean relative L2, own)] for each candidate on the first calibration cases."""
    meta = read_metadata(model)
    t = subset(load_cases(cases_dir), max_cases)
    fid = cases_fidelity_arg(t, meta.levels is not None, "the calibration cases")
    own = own_sampler(meta)
    rows = []
    for name, steps in (candidates or CANDIDATES) + ((own,) if own and own not in (candidates or CANDIDATES)
                                                     else ()):
        is_own = (name, steps) == own
        # The model's own sampler runs as it is written (sampler=None keeps its other settings, e.g. a
        # student's sigma_last); the others by name and steps.
        pred, _, r = engine.predict(model, t["params"], fid, coords=t.get("coords"),
                                    sampler=None if is_own else name, steps=None if is_own else steps)
        rows.append((name, steps, int(r["nfe"]), float(per_case_error(pred, t).mean()), is_own))
    return rows


def choose(rows, tolerance=TOLERANCE):
    """The cheapest row (fewest NFE, then the lower error) whose error is within `tolerance` of the best."""
    best = min(r[3] for r in rows)
    ok = [r for r in rows if r[3] <= (1 + tolerance) * best]
    return min(ok, key=lambda r: (r[2], r[3]))


def table(rows, chosen, tolerance=TOLERANCE):
    best = min(r[3] for r in rows)
    lines = [f"{'sampler':<12} {'steps':>5} {'NFE':>4} {'rel. L2':>8} {'vs best':>8}"]
    for r in sorted(rows, key=lambda r: (r[2], r[3])):
        mark = "  <- chosen" if r == chosen else ("  (the model's own)" if r[4] else "")
        lines.append(f"{r[0]:<12} {r[1]:>5} {r[2]:>4} {r[3]:>8.4f} {r[3] / best:>7.2f}x{mark}")
    lines.append(f"chosen: the cheapest within {100 * tolerance:.0f} % of the best error ({best:.4f})")
    return "\n".join(lines)
