"""The threshold policy both fallback studies share (bench/topopt_fallback.py, bench/flow_fallback.py):
answer a case with the surrogate when its std RMS is at most T, else with the solver."""
from __future__ import annotations

import numpy as np


def sweep(std, err_surrogate, err_solver, cost_surrogate, cost_solver):
    """(T, share answered by the surrogate, mean error, worst error, mean cost per case) for T = 0 and T at
    each case's std: a case answered by the surrogate has its error and cost, any other the solver's error
    and both costs (the surrogate ran first)."""
    std, e_s, e_f, c_s, c_f = (np.asarray(v, float) for v in (std, err_surrogate, err_solver, cost_surrogate,
                                                             cost_solver))
    rows = []
    for t in np.concatenate([[0.0], np.sort(std)]):
        trust = std <= t
        e = np.where(trust, e_s, e_f)
        rows.append((float(t), float(trust.mean()), float(e.mean()), float(e.max()),
                     float(np.where(trust, c_s, c_s + c_f).mean())))
    return rows


def choose(curve, tolerance):
    """The largest T of a (calibration) curve whose worst error is within `tolerance` (0: trust none)."""
    return max([t for t, _, _, worst, _ in curve if worst <= tolerance], default=0.0)


def at(curve, t):
    """The curve's row for threshold `t` (its last row with T <= t)."""
    return [r for r in curve if r[0] <= t][-1]


def controlled(std, err, tolerance, alpha, delta):
    """The largest T whose miss rate is at most `alpha` with confidence 1 - `delta` (0: trust none).

    A miss is a case the surrogate answers (std <= T) with an error above `tolerance`; its rate over all
    cases, P(std <= T and error > tolerance), grows with T. On n calibration cases with m misses at T, the
    one-sided Clopper-Pearson bound at level 1 - delta bounds that rate; testing T upward from the smallest
    and stopping at the first bound above alpha (fixed-sequence testing, Learn-then-Test) keeps the
    guarantee for the chosen T: over the draw of exchangeable calibration cases, with probability
    >= 1 - delta at most alpha of future cases are surrogate answers worse than `tolerance`. Unlike
    `choose`, this promises a rate, not a worst case: no finite calibration set bounds the worst case."""
    from scipy.stats import beta

    std, err = np.asarray(std, float), np.asarray(err, float)
    n, chosen = len(std), 0.0
    for t in np.sort(std):
        m = int(np.sum((std <= t) & (err > tolerance)))
        bound = 1.0 if m >= n else float(beta.ppf(1 - delta, m + 1, n - m))
        if bound > alpha:
            break
        chosen = float(t)
    return chosen
