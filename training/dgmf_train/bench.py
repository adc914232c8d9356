"""Per-benchmark facts shared by training, export and evaluation: how to read the .npz written by
dgmf_data.generate into network inputs, and the contract metadata that describes them."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from dgmf_data import burgers, heat, poisson  # noqa: F401  (dgmf_data puts training/ on sys.path)

def poisson_known_values():
    """Poisson's Dirichlet boundary as a linear map of the inputs, exactly as dgmf_data.generate
    writes it: (mask [1, 32, 32] bool, the boundary nodes of the output grid; maps [L, P, 1, 32, 32]
    float64) with u = sum_{l, p} fidelity[l] * params[p] * maps[l, p] on the mask, fidelity one-hot.

    At the top level (32 x 32 solver nodes = the output nodes) that is the edge data: u = left on
    x = 0, right on x = 1, bottom on y = 0, top on y = 1, corners the mean of their two edges
    (poisson.edge_boundary).  A coarser level's output is its solution interpolated bilinearly
    (poisson.to_output); an output node on an edge is then interpolated along that edge from the
    level's own boundary nodes only, so near the corners (y < 1/7 at 8 x 8, y < 1/15 at 16 x 16)
    it lies between the corner's mean and the edge's value: still linear in the edge data and
    known, hence one map per level."""
    n = poisson.OUT_N
    mask = np.zeros((1, n, n), dtype=bool)
    mask[0, [0, -1], :] = mask[0, :, [0, -1]] = True
    maps = np.zeros((len(poisson.LEVELS), len(poisson.PARAM_NAMES), 1, n, n))
    for level, res in enumerate(poisson.LEVELS):
        x = np.linspace(0.0, 1.0, res)
        X, Y = np.meshgrid(x, x, indexing="ij")
        for p in range(4):  # the four edge values; the amplitude does not reach the boundary
            unit = np.eye(len(poisson.PARAM_NAMES))[p]
            maps[level, p, 0] = np.where(mask[0], poisson.to_output(poisson.edge_boundary(unit, X, Y)), 0)
    return mask, maps


BENCH = {
    # dims: U-Net dimensionality; fidelity: ("discrete", K) or ("continuous", LO, HI);
    # known_values: None or a function () -> (mask, maps) of the output values fixed by the
    # inputs, which the export imposes exactly (poisson_known_values has the layout)
    "poisson": dict(module=poisson, dims=2, fidelity=("discrete", 3), labels="8x8,16x16,32x32",
                    coords=None, known_values=poisson_known_values,
                    description="Poisson 2-D, -Lap u = Gaussian source, edge Dirichlet data; "
                                "u[x, y] on a 32x32 grid; fidelity = solver grid 8/16/32 nodes"),
    "heat": dict(module=heat, dims=2,
                 fidelity=("continuous", 0.0,  # h = 0: the exact solution (top training level)
                           float(heat.fidelity_value(heat.LEVELS[0]))),
                 labels=None, coords=None, known_values=None,
                 description="Heat 1-D with boundary fluxes; u[t, x] on a 32x32 grid; fidelity = "
                             "mesh spacing h = dt = 1/(m-1), m = 8..32, h = 0 the exact solution (smaller is finer)"),
    "burgers": dict(module=burgers, dims=1, fidelity=("discrete", 3), labels="nx16,nx32,nx64",
                    coords=("t", 0.0, burgers.T_END), known_values=None,
                    description="Viscous Burgers 1-D, Re in [10, 510]; u(x) on 64 points at time "
                                "t (coords); fidelity = solver grid 16/32/64 nodes"),
}


def load(data_dir, name, split):
    """Arrays of one split as float32 network inputs: x (physical u), params, fidelity, coords."""
    d = np.load(Path(data_dir) / f"{name}_{split}.npz")
    b = BENCH[name]
    if b["fidelity"][0] == "discrete":
        fid = np.eye(b["fidelity"][1], dtype=np.float32)[d["level"]]
    else:
        fid = d["fidelity"].astype(np.float32)[:, None]
    out = dict(u=d["u"].astype(np.float32), params=d["params"].astype(np.float32), fidelity=fid,
               level=d["level"], raw_fidelity=d["fidelity"])
    if b["coords"] is not None:
        out["coords"] = d["coords"].astype(np.float32)
    return out


def fmt(x):
    """Shortest round-trip decimal of a float64, without a trailing '.0'."""
    s = repr(float(x))
    return s[:-2] if s.endswith(".0") else s


def metadata(name, shape, sigma_min, sigma_max, shift, scale):
    """Every dgmf.* key of contract v1 for this benchmark (insertion order kept in the file)."""
    b, m = BENCH[name], BENCH[name]["module"]
    lst = lambda xs: ",".join(fmt(x) for x in xs)
    f = b["fidelity"]
    meta = {
        "dgmf.contract": "1", "dgmf.sde": "ve",
        "dgmf.sigma_min": fmt(sigma_min), "dgmf.sigma_max": fmt(sigma_max),
        "dgmf.output": "score", "dgmf.shape": lst(shape),
        "dgmf.param_names": ",".join(m.PARAM_NAMES),
        "dgmf.param_min": lst(m.PARAM_LOW), "dgmf.param_max": lst(m.PARAM_HIGH),
        "dgmf.fidelity": f"discrete:{f[1]}" if f[0] == "discrete" else f"continuous:{fmt(f[1])}:{fmt(f[2])}",
    }
    if b["labels"]:
        meta["dgmf.fidelity_labels"] = b["labels"]
    if b["coords"] is not None:
        cname, lo, hi = b["coords"]
        meta.update({"dgmf.coord_names": cname, "dgmf.coord_min": fmt(lo), "dgmf.coord_max": fmt(hi)})
    meta.update({"dgmf.data_shift": lst(shift), "dgmf.data_scale": lst(scale),
                 "dgmf.name": name, "dgmf.description": b["description"]})
    return meta
