"""How far each dataset is from the PDE's solution:  python3 -m dgmf_data.convergence [--n 32]

1. The references (the exact solutions the test sets hold) against
   (a) themselves with more series terms / a finer quadrature: their truncation error;
   (b) the benchmark's own scheme on two fine meshes (FINE), injected onto the output nodes:
       an independent solve that must approach the reference at second order.
2. Every fidelity level (the solver at its resolution, interpolated to the output grid, as in
   the training set) against the reference.
Errors are relative L2 over one case's whole output field (Burgers: its 16 times stacked), as
in the accuracy report.  Prints markdown tables; docs/benchmarks.md quotes them.
"""
from __future__ import annotations

import argparse

import numpy as np

from . import burgers, generate, heat, poisson

# Fine meshes per benchmark: refinement factors r of the output grid spacing, so the output
# nodes are mesh nodes (poisson/heat n = 31 r + 1, burgers nx = 63 r + 1).
FINE = {"poisson": (4, 8), "heat": (4, 8), "burgers": (8, 16)}
SEED = 77  # parameter draws for these checks: base + 77, disjoint from training and test


def rel_l2(a, b):
    """||a - b|| / ||b|| over the whole array."""
    return float(np.linalg.norm(np.ravel(a) - np.ravel(b)) / np.linalg.norm(b))


def fine_solve(name, params, r):
    """The benchmark's own scheme on an r-times finer mesh than the output grid, sampled at the
    output nodes.  Heat takes dt = h^2 so that backward Euler's O(dt) matches the O(h^2) in space;
    Burgers returns the 16 reference times burgers.TIMES."""
    if name == "poisson":
        return poisson.solve(params, 31 * r + 1)[::r, ::r]
    if name == "heat":
        m = 31 * r + 1
        _, _, u = heat.solve(params, m, nt=(m - 1) ** 2 + 1)
        return u[:: 31 * r * r, ::r]
    return burgers.solve(params[0], 63 * r + 1, burgers.TIMES)[:, ::r]


def truncation_check(name, params):
    """The reference recomputed with far more terms / quadrature nodes."""
    if name == "poisson":
        return poisson.exact(params, n_source=256, decay_digits=80.0)
    if name == "heat":
        return heat.reference(params, decay_digits=80.0)
    x = np.linspace(0.0, 1.0, burgers.OUT_N)
    return np.stack([burgers.exact(params[0], x, t, points=16, panels_per_width=4.0)
                     for t in burgers.TIMES])


def draws(name, n, corners=False):
    """n Sobol draws in the benchmark's box (seed base + SEED), optionally preceded by the box's
    low and high corners (Burgers Re = 10 and 510, Heat's alpha = 0.01 with q_right = -1)."""
    module, _, base = generate.CONFIG[name]
    sobol = generate.sample_params(module, n, base + SEED)
    return np.vstack([module.PARAM_LOW, module.PARAM_HIGH, sobol]) if corners else sobol


def reference_errors(name, n):
    """Per draw: (truncation error, error vs the fine solves r1 and r2) of the reference."""
    rows = []
    for p in draws(name, n, corners=True):
        ref = generate.reference_field(name, p, burgers.TIMES)
        rows.append([rel_l2(truncation_check(name, p), ref)]
                    + [rel_l2(fine_solve(name, p, r), ref) for r in FINE[name]])
    return np.array(rows)


def level_errors(name, n):
    """[draw, level] relative L2 of each fidelity level vs the reference, and vs the top level."""
    module = generate.CONFIG[name][0]
    exact, top = [], []
    for p in draws(name, n):
        ref = generate.reference_field(name, p, burgers.TIMES)
        fields = [generate.solver_field(name, p, res, burgers.TIMES) for res in module.LEVELS]
        exact.append([rel_l2(f, ref) for f in fields])
        top.append([rel_l2(f, fields[-1]) for f in fields])
    return np.array(exact), np.array(top)


def report(names, n_ref, n_levels, log=print):
    log(f"### References vs finer solutions (box corners + {n_ref} draws: max over draws)\n")
    log("| bench | truncation (more terms) | fine solve r1 | fine solve r2 | observed order |")
    log("|---|---|---|---|---|")
    for name in names:
        e = reference_errors(name, n_ref).max(axis=0)
        r1, r2 = FINE[name]
        order = np.log(e[1] / e[2]) / np.log(r2 / r1)
        log(f"| {name} | {e[0]:.1e} | {e[1]:.2e} (r = {r1}) | {e[2]:.2e} (r = {r2}) | {order:.2f} |")
    log(f"\n### Fidelity levels vs the converged reference ({n_levels} draws: mean / max)\n")
    log("| bench | level | resolution | vs reference | vs top level |")
    log("|---|---|---|---|---|")
    for name in names:
        exact, top = level_errors(name, n_levels)
        spread = lambda e: f"{e.mean():.4f} / {e.max():.4f}"
        for level, res in enumerate(generate.CONFIG[name][0].LEVELS):
            log(f"| {name} | {level} | {res} | {spread(exact[:, level])} | {spread(top[:, level])} |")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", nargs="+", choices=list(generate.CONFIG), default=list(generate.CONFIG))
    ap.add_argument("--n-ref", type=int, default=8, help="draws for the reference checks")
    ap.add_argument("--n", type=int, default=32, help="draws for the fidelity-level errors")
    args = ap.parse_args(argv)
    report(args.only, args.n_ref, args.n)


if __name__ == "__main__":
    main()
