"""The built-in benchmarks as datasets (dgmf_train.dataset): their manifests and known values,
and the per-benchmark facts the evaluation tools use (solver module, grids)."""
from __future__ import annotations


import numpy as np

from dgmf_data import burgers, flow, heat, poisson, topopt
from .dataset import Fidelity, Manifest, Range

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


def topopt_known_values():
    """The L-bracket's void quadrant: density 0 on every mesh and level (topopt.void_mask on the
    output grid), whatever the load: mask [1, 64, 64], maps all zero."""
    mask = topopt.void_mask(topopt.OUT_N)[None]
    return mask, np.zeros((len(topopt.LEVELS), len(topopt.PARAM_NAMES)) + mask.shape)


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
    "topopt": dict(module=topopt, dims=2, fidelity=("discrete", 3), labels="n16,n32,n64",
                   coords=None, known_values=topopt_known_values,
                   description="L-bracket minimum compliance (SIMP, volume 0.4), point load at y = 0.5 - "
                               "0.5 p on x = 1, direction a pi/2; density[y, x] on 64x64 elements; "
                               "fidelity = SIMP mesh 16/32/64"),
    "flow": dict(module=flow, dims=2, fidelity=("discrete", 3), labels="n16,n32,n64",
                 coords=("t", 0.0, flow.T_END), known_values=None,
                 description="Navier-Stokes 2-D in a box with four sliding walls, Re in [10, 300], wall "
                             "speeds in [-1, 1]; (u, v)[y, x] on a 32x32 grid at time t (coords); "
                             "fidelity = solver mesh 16/32/64 cells a side"),
}


def manifest(name, arrays=""):
    """The benchmark's dataset manifest (dgmf_data.generate writes it beside each split)."""
    b, m = BENCH[name], BENCH[name]["module"]
    params = tuple(Range(n, float(lo), float(hi))
                   for n, lo, hi in zip(m.PARAM_NAMES, m.PARAM_LOW, m.PARAM_HIGH))
    f = b["fidelity"]
    fid = (Fidelity("discrete", labels=tuple(b["labels"].split(","))) if f[0] == "discrete" else
           Fidelity("continuous", name="h", min=float(f[1]), max=float(f[2]), target=float(f[1])))
    coords = (Range(*b["coords"]),) if b["coords"] is not None else ()
    return Manifest(name=name, description=b["description"], params=params, fidelity=fid,
                    coords=coords, arrays=arrays)


def known_values(name):
    """(mask, maps) of the benchmark's known output values, or None."""
    fn = BENCH[name].get("known_values")
    return None if fn is None else fn()
