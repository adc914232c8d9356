"""A 2-D PDE that the tests never see, for the new-user study in docs/training.md ("25 CPU minutes").

Steady advection-diffusion of a Gaussian source in the unit square:

    -eps (u_xx + u_yy) + cos(theta) u_x + sin(theta) u_y = exp(-|(x, y) - (x0, y0)|^2 / (2 w^2))
    u = 0 on the boundary,        w = 0.08,

    eps in [0.05, 0.2], theta in [0, 2 pi], x0, y0 in [0.3, 0.7]   (four parameters)

solved by second-order central differences on n x n nodes (x_i = i / (n - 1)) with a sparse direct
solve.  The cell Peclet number h / (2 eps) stays below 1 on every grid used, so no level oscillates;
the coarse grids smear the source and the plume.  Three solver levels, n = 17, 33, 65, on the finest
solver's 65 x 65 nodes (the coarse runs interpolated onto them, their nodes a subset); the reference
is the n = 257 solve at the same 65 x 65 nodes (every 4th node), which `--check` compares with n = 513.

    python3 bench/own_pde/advdiff.py --out work/advdiff            # the whole study's data
    python3 bench/own_pde/advdiff.py --check                       # how converged the reference is

Writes, under --out:
  advdiff.json + .npz     training runs: 400 at n17, 120 at n33, 16 at n65 (a user's budget)
  calib/, test/           24 and 40 held-out cases at the target fidelity (n65) whose u.npy is the n = 257
                          reference (the layout `dgmf-train calibrate/evaluate --data` reads)
  levels_at_test.json     the three solver levels run at the test cases' parameters
                          (for `dgmf-train evaluate --dataset`: what running each solver there gives)
  seconds.txt             median seconds per solve, levels n17, n33, n65 (for --solver-seconds)
"""
import argparse
import time
from pathlib import Path

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spl

from dgmf_train import dataset as D

LEVELS = (17, 33, 65)
RUNS = (400, 120, 16)
OUT = 65
REF = 257
WIDTH = 0.08
RANGES = (("eps", 0.05, 0.2), ("theta", 0.0, 2 * np.pi), ("x0", 0.3, 0.7), ("y0", 0.3, 0.7))


def solve(eps, theta, x0, y0, n):
    """u on the n x n nodes (boundary included, zero there), rows along y, columns along x."""
    h = 1.0 / (n - 1)
    m = n - 2
    x = np.linspace(0, 1, n)[1:-1]
    one = np.ones(m)
    # 1-D operators on the interior nodes; the zero boundary values drop out.
    d2 = sp.diags([one[1:], -2 * one, one[1:]], [-1, 0, 1]) / h**2
    d1 = sp.diags([-one[1:], one[1:]], [-1, 1]) / (2 * h)
    eye = sp.identity(m)
    # unknowns ordered u[j, i] (y index j, x index i) -> j * m + i
    lap = sp.kron(eye, d2) + sp.kron(d2, eye)
    a = -eps * lap + np.cos(theta) * sp.kron(eye, d1) + np.sin(theta) * sp.kron(d1, eye)
    xx, yy = np.meshgrid(x, x)
    f = np.exp(-((xx - x0) ** 2 + (yy - y0) ** 2) / (2 * WIDTH**2))
    u = np.zeros((n, n))
    u[1:-1, 1:-1] = spl.spsolve(a.tocsc(), f.ravel()).reshape(m, m)
    return u


def on_output_grid(u):
    """A run on n nodes onto the 65 x 65 output nodes: a subsample when n > 65 (nested nodes), else
    bilinear interpolation (exact at the coarse run's own nodes)."""
    n = u.shape[-1]
    if n >= OUT:
        step = (n - 1) // (OUT - 1)
        return u[::step, ::step]
    return D.resample(u, (OUT, OUT))


def draw(rng, k):
    return np.column_stack([rng.uniform(lo, hi, k) for _, lo, hi in RANGES])


def manifest(description):
    return D.Manifest(
        name="advdiff", description=description,
        params=tuple(D.Range(n, lo, hi) for n, lo, hi in RANGES),
        fidelity=D.Fidelity("discrete", labels=tuple(f"n{n}" for n in LEVELS)))


def runs(param_rows, levels, seconds=None):
    rows = {"u": [], "params": [], "fidelity": []}
    for level, n in levels:
        times = []
        for p in param_rows:
            t0 = time.perf_counter()
            u = solve(*p, n)
            times.append(time.perf_counter() - t0)
            rows["u"].append(on_output_grid(u)[None])
            rows["params"].append(p)
            rows["fidelity"].append(level)
        if seconds is not None:
            seconds.append(float(np.median(times)))
    return {k: np.array(v) for k, v in rows.items()}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", help="directory for the study's data")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--check", action="store_true",
                    help="compare the n=257 reference with n=513 on 4 cases, and each level with the reference")
    a = ap.parse_args()
    rng = np.random.default_rng(a.seed)
    if a.check:
        for p in draw(rng, 4):
            fine, ref = on_output_grid(solve(*p, 513)), on_output_grid(solve(*p, REF))
            err = lambda u: np.linalg.norm(u - fine) / np.linalg.norm(fine)
            print("params", np.round(p, 3), f"n257 vs n513 {err(ref):.2e};",
                  ", ".join(f"n{n} {err(on_output_grid(solve(*p, n))):.2e}" for n in LEVELS))
        return 0
    if not a.out:
        ap.error("give --out DIR (or --check)")
    out = Path(a.out)
    seconds = []
    train = [draw(rng, k) for k in RUNS]
    rows = {k: [] for k in ("u", "params", "fidelity")}
    for level, (n, p) in enumerate(zip(LEVELS, train)):
        got = runs(p, [(level, n)], seconds)
        for k in rows:
            rows[k].append(got[k])
    ds = D.validate(manifest("advection-diffusion of a Gaussian source; u on 65 x 65 nodes"),
                    {k: np.concatenate(v) for k, v in rows.items()})
    print(f"wrote {D.save(ds, out / 'advdiff.json')}: {len(ds)} runs")
    (out / "seconds.txt").write_text(",".join(f"{s:.3g}" for s in seconds) + "\n")
    print("median seconds per solve:", ", ".join(f"n{n} {1e3 * s:.2f} ms" for n, s in zip(LEVELS, seconds)))
    target = len(LEVELS) - 1
    for name, k in (("calib", 24), ("test", 40)):
        p = draw(rng, k)
        ref = runs(p, [(target, REF)])
        (out / name).mkdir(parents=True, exist_ok=True)      # write_cases' layout, one level only
        np.save(out / name / "params.npy", ref["params"])
        np.save(out / name / "fidelity.npy", ref["fidelity"].astype(np.float64))
        np.save(out / name / "u.npy", ref["u"].astype(np.float32))
        print(f"wrote {out / name}: {k} cases, u = the n{REF} reference")
        if name == "test":
            lv = D.validate(manifest("the solver levels at the test cases' parameters"),
                            runs(p, list(enumerate(LEVELS))))
            print(f"wrote {D.save(lv, out / 'levels_at_test.json')}: {len(lv)} runs")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
