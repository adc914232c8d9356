"""L-bracket topology-optimization benchmark (discrete fidelity).

Problem:  minimum compliance c = f . u of a linear-elastic plane-stress plate, K(x) u = f,
over element densities x in [0, 1] with sum(x) = VOLFRAC * n^2 (SIMP, optimality criteria).

Domain: the unit square, n x n square bilinear (Q4) elements of side h = 1/n, thickness 1.
    Young's modulus of element e: E_e = EMIN + x_e^PENAL * (E0 - EMIN), E0 = 1, EMIN = 1e-9,
    PENAL = 3, Poisson ratio NU = 0.3 (plane stress).
    Void (passive): the top-right quadrant x > 0.5, y > 0.5 (elements ex >= n/2, ey >= n/2) is
    held at density 0 (modulus EMIN) in every design; the remaining L is the design domain.
    Volume: sum(x) = 0.4 * n^2, a fraction 0.4 of the whole square (the void quadrant counts in
    the denominator, as in DMFAL's code), i.e. 0.4 / 0.75 = 53.3 % of the L.
    Clamped: both displacement components of the top-edge nodes of the left arm, y = 1,
    x = 0, h, ..., 0.5 (node indices iy = n, ix = 0..n/2: n/2 + 1 nodes, the corner (0.5, 1)
    of the void included).  The top-edge nodes with x > 0.5 border only void elements and
    stay free (they hang on EMIN).
    Load: a unit point force on the free end of the lower arm, x = 1, at height
    y = 0.5 - 0.5 p, snapped to the nearest node of each mesh, iy = floor(n y + 1/2) (a tie
    goes up, toward y = 0.5); p = 0 is the arm's upper tip corner (1, 0.5) (the corner next to
    the void, not the L's re-entrant corner (0.5, 0.5)), p = 1 the bottom corner (1, 0).
    Direction theta = a pi / 2, force (sin theta, -cos theta): a = 0 pushes down, a = 1 pulls
    to the right (x).

Parameters (2, each in [0, 1]): (p, a).

SIMP (solve): start from the uniform design x = 0.4 / 0.75 on the L (volume satisfied); each
iteration one FE solve, the compliance sensitivities dc_e = -PENAL x_e^(PENAL-1) (E0 - EMIN)
u_e.KE.u_e, the SENSITIVITY filter of radius RMIN = 1.5 elements (top88's ft = 1, restricted to
the L: weights max(0, RMIN - centre distance in elements) between active elements only), then
the optimality-criteria update with move MOVE = 0.2 and damping 1/2, x_new = clip(x sqrt(-dc /
lam), x - MOVE, x + MOVE, 0, 1), lam by bisection to relative 1e-9 so the volume is met to
~1e-9. Stop when max |x_new - x| <= TOL = 0.01 or after MAX_ITER = 300 updates (none of ~170
measured runs reached it; the most was 217 updates, at n = 64). The returned design is x_new
(never a filtered copy: with the sensitivity filter the design variables ARE the densities), its
compliance is one more FE solve of x_new.
Why the sensitivity filter: (1) the output density is the design variable itself, so the
returned density is exactly the design whose compliance SIMP minimised and compliance() of it
reproduces SIMP's number; (2) a SIMP loop warm-started from a surrogate's design (the C++
example, examples/topopt) starts from that design exactly, without inverting a density filter; (3) no filter
blur in the design itself (a density filter makes every edge a grey band ~RMIN wide, 0.09 of the
domain on the 16 mesh; the grey left here comes from the loose stopping rule). The price: the
filtered sensitivities are a heuristic, not the gradient of a problem, so the stopping point is
a fixed point of the OC iteration rather than a KKT point.

FE: the standard Q4 element matrix (top88's KE, element_stiffness(); independent of h for square
elements of thickness 1), assembled straight into LAPACK's symmetric band storage (nodes
numbered row by row, half-bandwidth 2(n+1)+3 DOFs) and solved by banded Cholesky
(scipy.linalg.solveh_banded); clamped DOFs become identity rows.  At n = 64 (8450 DOFs) one
assembly + solve takes ~17 ms on one core, vs ~39 ms for SuperLU (MMD on A'+A, symmetric mode),
~94 ms for scipy's default spsolve, ~2 s for Jacobi-preconditioned CG (the EMIN / E0 = 1e-9
contrast ruins CG); scikit-sparse's CHOLMOD is not installed.

Fidelity: the mesh n in LEVELS = (16, 32, 64); the filter radius is 1.5 elements on every mesh,
so the coarse designs are coarser in physical terms too.  Output: the density on the
64 x 64 element grid, density[row, column] = x of the element at y-index row (from the bottom)
and x-index column; a coarse design is resampled piecewise-constantly (each coarse element's
density copied to the (64/n)^2 output elements it covers: exact volume, no new grey values).

Reference: reference() = the n = 64 SIMP result, which is also the top training level (there is
no converged solution to hold out: a SIMP optimum is a mesh-, filter- and start-dependent local
optimum, not the discretisation of a mesh-independent limit).  Note that the compliance of a
point load is not mesh-converged either: it grows like (2 / (pi E)) ln(1/h) (the Flamant
solution), so compliances are comparable only on one mesh.
"""
from __future__ import annotations

import functools

import numpy as np
import scipy.sparse as sp
from scipy.linalg import solveh_banded

PARAM_NAMES = ("p", "a")
PARAM_LOW = np.array([0.0, 0.0])
PARAM_HIGH = np.array([1.0, 1.0])
LEVELS = (16, 32, 64)  # elements per side, fidelity level index = position in this tuple
OUT_N = 64
# The test set's target is the top training level itself (no converged limit exists, see above):
# the evaluation tools write no separate "finest training solver" copy of it.
REFERENCE_IS_TOP_LEVEL = True

E0 = 1.0
EMIN = 1e-9
NU = 0.3
PENAL = 3.0
VOLFRAC = 0.4   # of the whole square, void quadrant included
RMIN = 1.5      # sensitivity-filter radius, in elements
MOVE = 0.2
TOL = 0.01      # stop when max |x_new - x| <= TOL ...
MAX_ITER = 300  # ... or after this many OC updates


def element_stiffness(nu=NU):
    """Q4 plane-stress stiffness of a square element (E = 1, thickness 1), top88's closed form.
    DOF order: (ux, uy) of the corners (0,0), (1,0), (1,1), (0,1), counter-clockwise."""
    k = np.array([1 / 2 - nu / 6, 1 / 8 + nu / 8, -1 / 4 - nu / 12, -1 / 8 + 3 * nu / 8,
                  -1 / 4 + nu / 12, -1 / 8 - nu / 8, nu / 6, 1 / 8 - 3 * nu / 8])
    order = [[0, 1, 2, 3, 4, 5, 6, 7], [1, 0, 7, 6, 5, 4, 3, 2], [2, 7, 0, 5, 6, 3, 4, 1],
             [3, 6, 5, 0, 7, 2, 1, 4], [4, 5, 6, 7, 0, 1, 2, 3], [5, 4, 3, 2, 1, 0, 7, 6],
             [6, 3, 4, 1, 2, 7, 0, 5], [7, 2, 1, 4, 3, 6, 5, 0]]
    return k[order] / (1 - nu**2)


KE = element_stiffness()


def dof(ix, iy, nelx, component):
    """Global DOF of node (ix, iy) (at (ix h, iy h)) on a grid nelx elements wide;
    component 0 = ux, 1 = uy.  Nodes are numbered row by row from the bottom."""
    return 2 * (np.asarray(iy) * (nelx + 1) + np.asarray(ix)) + component


class _BandedFE:
    """Q4 mesh of nely x nelx square elements, assembled into LAPACK lower band storage."""

    def __init__(self, nelx, nely, fixed):
        self.nelx, self.nely = nelx, nely
        nx1 = nelx + 1
        self.ndof = 2 * nx1 * (nely + 1)
        ey, ex = np.divmod(np.arange(nelx * nely), nelx)
        n0 = ey * nx1 + ex
        nodes = np.stack([n0, n0 + 1, n0 + 1 + nx1, n0 + nx1], axis=1)
        self.edof = np.stack([2 * nodes, 2 * nodes + 1], axis=2).reshape(-1, 8)
        i = np.repeat(self.edof, 8, axis=1).ravel()  # entry (e, r, s) -> (edof[e, r], edof[e, s])
        j = np.tile(self.edof, (1, 8)).ravel()
        self.fixed = np.unique(np.asarray(fixed, dtype=np.int64))
        is_fixed = np.zeros(self.ndof, bool)
        is_fixed[self.fixed] = True
        sel = np.flatnonzero((i >= j) & ~is_fixed[i] & ~is_fixed[j])
        self.bw = 2 * nx1 + 3  # largest i - j inside an element
        self.flat = (i[sel] - j[sel]) * self.ndof + j[sel]
        self.elem = sel // 64
        self.ke = KE.ravel()[sel % 64]

    def solve(self, modulus, force):
        """Displacements u [ndof] for element moduli [nel] (row-major over (ey, ex))."""
        ab = np.bincount(self.flat, weights=modulus[self.elem] * self.ke,
                         minlength=(self.bw + 1) * self.ndof).reshape(self.bw + 1, self.ndof)
        ab[0, self.fixed] = 1.0
        rhs = np.array(force, dtype=float)
        rhs[self.fixed] = 0.0
        return solveh_banded(ab, rhs, lower=True, check_finite=False)

    def element_energy(self, u):
        """u_e . KE . u_e per element (twice the strain energy at unit modulus)."""
        ue = u[self.edof]
        return np.einsum("ij,jk,ik->i", ue, KE, ue)


@functools.lru_cache(maxsize=None)
def _fe(nelx, nely, fixed):
    return _BandedFE(nelx, nely, fixed)


def fe_solve(modulus, force, fixed):
    """General FE core (the benchmark's, exposed for checks): displacements u [ndof] of the
    Q4 grid with element moduli modulus [nely, nelx] (row = y from the bottom), nodal forces
    force [ndof] (numbering: dof()) and zero displacement on the DOFs `fixed`."""
    modulus = np.asarray(modulus, dtype=float)
    nely, nelx = modulus.shape
    fe = _fe(nelx, nely, tuple(int(d) for d in np.unique(fixed)))
    return fe.solve(modulus.ravel(), force)


# ---------------------------------------------------------------- the L-bracket
def _check_mesh(n):
    if n < 2 or n % 2:
        raise ValueError(f"n must be even (the void quadrant is n/2 x n/2 elements), got {n}")


def void_mask(n):
    """[n, n] bool, True on the passive void quadrant (ex >= n/2 and ey >= n/2)."""
    _check_mesh(n)
    ey, ex = np.mgrid[0:n, 0:n]
    return (ex >= n // 2) & (ey >= n // 2)


def clamped_nodes(n):
    """(ix, iy) of the clamped nodes: the top edge y = 1 from x = 0 to x = 0.5 inclusive."""
    _check_mesh(n)
    ix = np.arange(n // 2 + 1)
    return ix, np.full_like(ix, n)


def clamped_dofs(n):
    ix, iy = clamped_nodes(n)
    return np.sort(np.concatenate([dof(ix, iy, n, 0), dof(ix, iy, n, 1)]))


def load_node(p, n):
    """(ix, iy) of the loaded node: x = 1, the node nearest y = 0.5 - 0.5 p (ties go up)."""
    _check_mesh(n)
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"p must lie in [0, 1], got {p}")
    y = 0.5 - 0.5 * float(p)
    return n, min(int(np.floor(n * y + 0.5)), n // 2)


def load_direction(a):
    """Unit force (sin theta, -cos theta), theta = a pi / 2."""
    theta = 0.5 * np.pi * float(a)
    return np.array([np.sin(theta), -np.cos(theta)])


def load_vector(p, a, n):
    ix, iy = load_node(p, n)
    f = np.zeros(2 * (n + 1) ** 2)
    f[[dof(ix, iy, n, 0), dof(ix, iy, n, 1)]] = load_direction(a)
    return f


def _bracket(n):
    _check_mesh(n)
    return _fe(n, n, tuple(int(d) for d in clamped_dofs(n)))


@functools.lru_cache(maxsize=None)
def sensitivity_filter(n, rmin=RMIN):
    """(H, Hs): the filter matrix over the ACTIVE elements (row-major order of the active
    elements of the flattened [n, n] grid), H_ij = max(0, rmin - |c_i - c_j|) in element
    units, Hs = row sums.  Built once per mesh."""
    active = np.flatnonzero(~void_mask(n).ravel())
    ey, ex = np.divmod(active, n)
    pos = -np.ones(n * n, dtype=np.int64)
    pos[active] = np.arange(active.size)
    r = int(np.ceil(rmin)) - 1
    rows, cols, vals = [], [], []
    for dy in range(-r, r + 1):
        for dx in range(-r, r + 1):
            w = rmin - np.hypot(dx, dy)
            if w <= 0:
                continue
            x2, y2 = ex + dx, ey + dy
            ok = (x2 >= 0) & (x2 < n) & (y2 >= 0) & (y2 < n)
            nb = pos[np.where(ok, y2 * n + x2, 0)]
            ok &= nb >= 0
            rows.append(np.arange(active.size)[ok])
            cols.append(nb[ok])
            vals.append(np.full(ok.sum(), w))
    H = sp.csr_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
                      shape=(active.size, active.size))
    return H, np.asarray(H.sum(axis=1)).ravel()


def uniform_design(n):
    """The SIMP start: VOLFRAC n^2 spread evenly over the L (x = 0.4 / 0.75), void 0."""
    x = np.full((n, n), VOLFRAC * n * n / (~void_mask(n)).sum())
    x[void_mask(n)] = 0.0
    return x


def modulus(density):
    return EMIN + np.asarray(density, dtype=float) ** PENAL * (E0 - EMIN)


def compliance(density, p, a, n=None):
    """Compliance f . u of a given design [n, n] (row = y from the bottom) on its own mesh:
    one FE solve.  Densities are clipped to [0, 1] and the void quadrant is set to 0 (it is
    part of the problem, not of the design); the volume is NOT adjusted."""
    x = np.clip(np.asarray(density, dtype=float), 0.0, 1.0)
    if n is None:
        n = x.shape[0]
    if x.shape != (n, n):
        raise ValueError(f"density must be [{n}, {n}], got {x.shape}")
    x = np.where(void_mask(n), 0.0, x)
    f = load_vector(p, a, n)
    u = _bracket(n).solve(modulus(x).ravel(), f)
    return float(f @ u)


def project_volume(density, n=None):
    """A predicted design made admissible before it is used or evaluated (the C++ example's
    Bracket::project, identically): densities clipped to [0, 1] (non-finite -> 0), the void quadrant
    set to 0, then one constant added to the L (clipped again) so that the volume is exactly
    VOLFRAC n^2 (bisection on the constant)."""
    x = np.asarray(density, dtype=float)
    if n is None:
        n = x.shape[0]
    if x.shape != (n, n):
        raise ValueError(f"density must be [{n}, {n}], got {x.shape}")
    void = void_mask(n)
    x = np.where(void | ~np.isfinite(x), 0.0, np.clip(x, 0.0, 1.0))
    target, act = VOLFRAC * n * n, ~void
    lo, hi = -1.0, 1.0
    for _ in range(200):
        if hi - lo <= 1e-15:
            break
        mid = 0.5 * (lo + hi)
        if np.clip(x[act] + mid, 0.0, 1.0).sum() > target:
            hi = mid
        else:
            lo = mid
    x[act] = np.clip(x[act] + 0.5 * (lo + hi), 0.0, 1.0)
    return x


def compliance_gap(design, reference, p, a):
    """The designer's measure of a predicted design [OUT_N, OUT_N] against SIMP's optimum `reference`
    on the finest mesh: compliance(project_volume(design)) / compliance(reference) - 1 (0: as good
    as SIMP; > 0: that much more compliant)."""
    n = LEVELS[-1]
    c = compliance(project_volume(np.asarray(design, float).reshape(n, n)), p, a, n)
    return c / compliance(np.asarray(reference, float).reshape(n, n), p, a, n) - 1.0


def _oc_update(x, dc, target):
    """Optimality criteria on the active densities x (dc <= 0): sum(x_new) = target."""
    lo, hi = np.maximum(x - MOVE, 0.0), np.minimum(x + MOVE, 1.0)
    b = np.sqrt(np.maximum(-dc, 0.0))
    l1, l2 = 0.0, 1e9
    while (l2 - l1) / (l1 + l2) > 1e-9:
        lmid = 0.5 * (l1 + l2)
        xnew = np.clip(x * b / np.sqrt(lmid), lo, hi)
        if xnew.sum() > target:
            l1 = lmid
        else:
            l2 = lmid
    return xnew


def solve(p, a, n, max_iter=MAX_ITER, tol=TOL, x0=None, history=None):
    """SIMP optimum of load case (p, a) on the n x n mesh.

    Returns (density [n, n] with row = y from the bottom and column = x, its compliance,
    the number of OC updates).  x0: start design [n, n] (default uniform_design(n); clipped
    to [0, 1], void set to 0, volume not adjusted).  history: a list that receives
    (compliance before the update, change) per iteration.
    """
    _check_mesh(n)
    fe = _bracket(n)
    f = load_vector(p, a, n)
    H, Hs = sensitivity_filter(n)
    active = ~void_mask(n).ravel()
    x = uniform_design(n) if x0 is None else np.clip(np.asarray(x0, dtype=float), 0.0, 1.0)
    x = np.where(active, x.ravel(), 0.0)
    target = VOLFRAC * n * n
    iterations = 0
    for iterations in range(1, max_iter + 1):
        u = fe.solve(modulus(x), f)
        ce = fe.element_energy(u)
        xa = x[active]
        dc = -PENAL * xa ** (PENAL - 1) * (E0 - EMIN) * ce[active]
        dc = (H @ (xa * dc)) / Hs / np.maximum(1e-3, xa)
        xnew = x.copy()
        xnew[active] = _oc_update(xa, dc, target)
        change = float(np.abs(xnew - x).max())
        if history is not None:
            history.append((float(f @ u), change))
        x = xnew
        if change <= tol:
            break
    density = x.reshape(n, n)
    c = float(f @ fe.solve(modulus(x), f))
    return density, c, iterations


def to_output(density, out_n=OUT_N):
    """Piecewise-constant resampling of an [n, n] element field to [out_n, out_n]: each element's
    value is copied to the (out_n / n)^2 output elements it covers (same mean, same values)."""
    density = np.asarray(density)
    n = density.shape[0]
    if density.shape != (n, n) or out_n % n:
        raise ValueError(f"need a square [n, n] field with n dividing {out_n}, got {density.shape}")
    k = out_n // n
    return np.repeat(np.repeat(density, k, axis=0), k, axis=1)


def reference(params, out_n=OUT_N):
    """The test-set target: the SIMP optimum on the finest mesh (n = 64), on the output grid."""
    p, a = (float(v) for v in params)
    return to_output(solve(p, a, LEVELS[-1])[0], out_n)
