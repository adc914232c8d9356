"""A user's own solver, run at three resolutions, written as a dgmf dataset (docs/training.md).

The problem, a steady convection-diffusion boundary layer with source strength s:

    -eps u'' + u' = s   on (0, 1),   u(0) = u(1) = 0,   eps in [0.05, 0.5], s in [0.5, 2]

solved by central finite differences on n nodes.  The exact solution is
u = s (x - (exp((x - 1)/eps) - exp(-1/eps)) / (1 - exp(-1/eps))); the layer at x = 1 is what the
coarse grids get wrong.  Fidelity levels: n = 9, 17 (cheap, many runs) and 65 (fine, few runs).
The output grid is the finest solver's own 65 nodes, as the solver writes them (the built-in network
takes any grid); the coarse runs are interpolated onto it (their nodes are a subset of its nodes).

    python3 examples/training/my_solver.py --out work/layer.json
"""
import argparse
import time
from pathlib import Path

import numpy as np

from dgmf_train import dataset as D

LEVELS = (9, 17, 65)          # nodes per run, low -> high fidelity
RUNS = (160, 96, 70)          # runs per level (the tutorial's split holds out 42 fine runs)
OUT = LEVELS[-1]              # common output grid: the finest solver's nodes


def solve(eps, s, n):
    """Central differences on n nodes x_i = i/(n-1); returns u at the nodes."""
    h = 1.0 / (n - 1)
    m = n - 2
    a = np.zeros((m, m))
    i = np.arange(m)
    a[i, i] = 2 * eps / h**2
    a[i[1:], i[1:] - 1] = -eps / h**2 - 1 / (2 * h)
    a[i[:-1], i[:-1] + 1] = -eps / h**2 + 1 / (2 * h)
    u = np.zeros(n)
    u[1:-1] = np.linalg.solve(a, np.full(m, s))
    return u


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", required=True, help="manifest path (.json); the .npz goes beside it")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    rng = np.random.default_rng(args.seed)
    draw = lambda k: np.column_stack([rng.uniform(0.05, 0.5, k), rng.uniform(0.5, 2.0, k)])
    # A nested design: the cheap levels also run at the fine runs' parameters (then at their own draws),
    # so every fine case has its coarse answers beside it (dgmf-train evaluate --dataset compares them).
    fine = draw(RUNS[-1])
    rows = {"u": [], "params": [], "fidelity": []}
    seconds = []
    for level, (n, runs) in enumerate(zip(LEVELS, RUNS)):
        shared = min(runs, len(fine))
        times = []
        for eps, s in np.concatenate([fine[:shared], draw(runs - shared)]):
            t0 = time.perf_counter()
            u = solve(eps, s, n)
            times.append(time.perf_counter() - t0)
            if n != OUT:
                u = D.resample(u, (OUT,))                 # a coarse run onto the common grid
            rows["u"].append(u[None])                     # one channel: [1, 65]
            rows["params"].append([eps, s])
            rows["fidelity"].append(level)
        seconds.append(float(np.median(times)))
    manifest = D.Manifest(
        name="layer", description="-eps u'' + u' = s on (0, 1), u(0) = u(1) = 0; u on 65 nodes",
        params=(D.Range("eps", 0.05, 0.5), D.Range("s", 0.5, 2.0)),
        fidelity=D.Fidelity("discrete", labels=tuple(f"n{n}" for n in LEVELS)))
    ds = D.validate(manifest, {k: np.array(v) for k, v in rows.items()})
    print(f"wrote {D.save(ds, args.out)}: {len(ds)} runs")
    # The solver's own cost per run, for `dgmf-train evaluate --solver-seconds` (median per level).
    timing = Path(args.out).with_name(Path(args.out).stem + "_seconds.txt")
    timing.write_text(",".join(f"{s:.3g}" for s in seconds) + "\n")
    print(f"wrote {timing}: median seconds per run, levels {', '.join(f'n{n}' for n in LEVELS)}: "
          + ", ".join(f"{1e3 * s:.3f} ms" for s in seconds))


if __name__ == "__main__":
    main()
