"""Flow benchmark: 2-D incompressible Navier-Stokes in a box whose four walls slide.
The solver, its output grid and the training times; dgmf_data.generate writes the data sets
(docs/flow.md).

Problem (non-dimensional: lengths by the box side, velocities by the largest wall speed allowed):
    u_t + (u . grad) u = -grad p + (1/Re) lap u,   div u = 0   in (0, 1)^2,   0 < t <= T_END = 10,
    u = 0 at t = 0 (fluid at rest: impulsive start; the walls are at rest at t = 0 itself too),
    for t > 0 the walls slide along themselves (no penetration, no slip):
        north  y = 1:  (u, v) = (u_north phi(x), 0)        south  y = 0:  (u_south phi(x), 0)
        west   x = 0:  (u, v) = (0, v_west phi(y))         east   x = 1:  (0, v_east phi(y))
    phi = wall_profile: 1 except within CORNER_RAMP = 1/8 of a corner, where it falls to 0 (C^2
    smootherstep; see Corners).  Positive speeds point along +x / +y, so (u_north, u_south,
    v_west, v_east) = (1, -1, 1, -1) turns every wall clockwise (one vortex), (1, 1, 1, 1) drives
    two walls each way (a diagonal shear layer; both walls push into the corner (1, 1)), and
    (1, 0, 0, 0) is the classic lid-driven cavity.

Parameters (5): PARAM_NAMES = (Re, u_north, u_south, v_west, v_east), Re in [10, 300], speeds in
    [-1, 1].  The references (DMFAL: Li, Kirby & Zhe, AISTATS 2022; Infinite-Fidelity
    Coregionalization: Li et al., NeurIPS 2022) use the same five parameters in this order, with
    Seibold's MIT 18.086 MATLAB solver (MAC grid, implicit viscosity, Chorin projection, an upwind
    blend in the convection; data/matlab_solvers/NS-Solver in the IFC repository): nu = 1/Re,
    Re in [10, 500] (IFC; DMFAL [100, 5000]), wall speeds in [1, 10], final time 10.  Their flow
    Reynolds number Re * speed reaches 5000 (50000), far from resolved on their 16-100 meshes.
    Here the speeds are scaled to |speed| <= 1, so Re is the Reynolds number of a wall at full
    speed and the flow's own Reynolds number is at most 300: the 64^2 level has a cell Reynolds
    number <= 4.7, the 128^2 reference converges (below), every case shares its mesh's time step,
    and the 64^2 solve takes seconds.  Signed speeds instead of [1, 10]: the box then holds co- and
    counter-rotating wall combinations (one vortex; shear layers and corner stagnation), contains
    the classic cavity, and is closed under the box's symmetries (the tests use them).

Scheme (Mesh, simulate), second order in space and time:
  * MAC grid, n x n cells, h = 1/n: u on the vertical faces, v on the horizontal faces, p at the
    centres.  Convection in conservative form with central differences (products on a wall use
    the wall velocity, whose normal component is 0: no momentum crosses a wall).  Viscous fluxes
    at the walls through ghost cells, ghost = 2 wall - first interior value.
  * Time: low-storage RK3 for convection with Crank-Nicolson viscosity in each of the 3 substeps
    (Spalart, Moser & Rogers 1991, J. Comput. Phys. 96:297; Le & Moin 1991, J. Comput. Phys.
    92:369), each substep an incremental pressure-correction projection with the pressure update
    in rotational form, p += phi - (nu/2) div u* (Timmermans, Minev & van de Vosse 1996; Guermond,
    Minev & Shen 2006, Comput. Methods Appl. Mech. Engrg. 195:6011).
  * Linear algebra: the pressure Poisson matrix D G (Neumann walls, phi pinned in one cell) once
    per mesh, the Helmholtz matrices I - (alpha_k nu dt / 2) L for u and v once per mesh and step
    size, all factorised by SuperLU (minimum degree on A^T + A: half the fill of the default); a
    step is 9 pairs of triangular solves.  The projection uses the very D and G of the Poisson
    matrix, so every projected velocity is discretely divergence-free to round-off: measured max
    |div u| h / U = 8e-17 (16^2), 1e-14 (64^2) after every substep.
  * Step: dt = CFL h / (2 U), CFL = 1, U = max(1, max|u|, max|v|) at the start of each output
    interval (RK3 with central convection is stable up to dt (|u| + |v|) / h = sqrt(3)), then
    shortened to divide the interval evenly, so every requested time is hit exactly.  Viscosity is
    implicit and needs no step bound; the stiffest viscous mode is still damped by RK3-CN, by a
    factor 0.003 (16^2) .. 0.37 (128^2) .. 0.62 (256^2) per step at Re = 10.
  Measured (tests/test_flow.py): Taylor-Green decay (the exact solution sets the wall velocities;
  nu = 0.01, t = 1) converges at orders 1.83, 1.93, 1.97 (max norm, 16 -> 128, h and dt halved
  together) and 2.7, 2.4, 2.0 in dt alone (32^2, started with zero pressure); the steady
  lid-driven cavity at Re = 100 on 64^2 (ramp = 0) is within 0.0038 (u) and 0.0086 (v) of Ghia,
  Ghia & Shin (1982), J. Comput. Phys. 48:387, Tables I and II (32^2 and 128^2 deviate the same
  way: the 0.008 near the v minimum is the table's; the 64^2 centre lines are within 0.0011 of
  the 128^2 ones).

Corners: with uniform wall speeds the tangential velocities of two walls meet at a corner, the
velocity is discontinuous there and vorticity and pressure blow up like 1/r.  The scheme never
evaluates a corner (each wall enters only through the ghost cells along it), so it runs with
uniform walls (ramp = 0, used for the Ghia test), but a point at a fixed distance from a corner
converges only once h is well below that distance.  The output cells touching a corner are 0.011
from it: with uniform walls their velocities differ by ~0.2 between the 128^2 and 256^2 solves and
carry 91 % of the 128^2 mesh's squared error (128 vs 256: 1.2 % relative L2 in velocity, instead
of 0.28 % with the ramp; the 64^2 level's 2.6 % would mostly be corner error that no model can
learn away).  The benchmark therefore regularises the problem itself: each wall's speed is
speed * phi(s), phi rising from 0 at the corners to 1 at distance CORNER_RAMP = 1/8 as
x^3 (10 - 15 x + 6 x^2) (C^2), so 3/4 of every wall moves at full speed and the solution is
smooth; the ramp spans 2 cells of the 16^2 level, 8 of the 64^2 and 16 of the 128^2 mesh.
Snapshot arrays put the wall velocity on their outer rows/columns; at a corner point the mean of
the two walls' values (0 with the ramp).

Output (to_output): (u, v) bilinearly interpolated from the snapshot arrays (MAC values plus the
wall rows/columns) to the cell centres of the OUT_N x OUT_N = 32 x 32 output grid: [..., 2, 32,
32], channel 0 = u, 1 = v, field[row = y index from the bottom, column = x index] (as topopt).
32 rather than 64: the surrogate's cost per evaluation scales with the output cells, and the
series of 16 snapshots must come out well over 20x faster than a 64^2 solve (docs/flow.md); the
wall boundary layers (~1/sqrt(300) = 0.06 thick at the top Re) still get 2 output cells.
TIMES: 16 equispaced t in [0, 10], 0 included (the rest state, exactly 0 on every mesh); one
solve returns every requested time.  Training cases draw their own times (train_times).
vorticity(u, v) = dv/dx - du/dy on the output grid (second-order differences), for error reports.

Fidelity levels LEVELS = (16, 32, 64) cells a side; reference() = a REF_N = 128 solve.
Measured errors, case (Re, speeds) = (300, 1, 1, 1, 1), relative L2 over all 16 snapshots, velocity
/ vorticity on the 32 x 32 output grid (python3 -m dgmf_data.flow --ref-error 256, ~10 min):
    against 256^2:   64^2: 1.34 % / 2.08 %    reference 128^2: 0.29 % / 0.44 %  (per snapshot
                     0.22-0.45 % / 0.42-0.48 %); the 64 -> 128 ratio 4.6 is second order, so the
                     reference is ~0.4 % from the converged solution
    (on the former 64 x 64 output grid: 64^2 1.35 % / 4.7 %, 128^2 0.28 % / 0.50 %; against 128^2
    there, 16^2: 14.3 % / 23 %, 32^2: 4.6 % / 8.4 %.)
Wall time of one solve to T_END, case (300, 1, 1, 1, 1) (python3 -m dgmf_data.flow --time; one
core, numpy/scipy; measured at nice 19 on a 2-core machine loaded ~7 by other jobs, wall = CPU
time within 3 %):  16^2: 0.34 s,  32^2: 1.2 s,  64^2: 7.4 s,  reference 128^2: 56 s,  256^2: 527 s.
"""
from __future__ import annotations

import argparse
import time

import numpy as np
import scipy.sparse as sp
from scipy.sparse.linalg import splu

from .times import stratified

PARAM_NAMES = ("Re", "u_north", "u_south", "v_west", "v_east")
PARAM_LOW = np.array([10.0, -1.0, -1.0, -1.0, -1.0])
PARAM_HIGH = np.array([300.0, 1.0, 1.0, 1.0, 1.0])
LEVELS = (16, 32, 64)  # cells per side; fidelity level index = position in this tuple
REF_N = 128  # reference() mesh
OUT_N = 32
T_END = 10.0
N_TIMES = 16
TIMES = np.linspace(0.0, T_END, N_TIMES)
CORNER_RAMP = 0.125  # wall speeds rise from 0 at the corners over this length (wall_profile)
CFL = 1.0  # dt (max|u| + max|v|) / h, with max|u| and max|v| taken >= 1 (see simulate)

# Low-storage RK3 / Crank-Nicolson (Spalart, Moser & Rogers 1991; Le & Moin 1991):
# substep k advances by alpha_k dt, explicit terms weighted gamma_k (new) and zeta_k (previous).
RK_GAMMA = (8.0 / 15.0, 5.0 / 12.0, 3.0 / 4.0)
RK_ZETA = (0.0, -17.0 / 60.0, -5.0 / 12.0)
RK_ALPHA = tuple(g + z for g, z in zip(RK_GAMMA, RK_ZETA))  # 8/15, 2/15, 1/3
RK_C = tuple(np.cumsum(RK_ALPHA))  # substep end times / dt: 8/15, 2/3, 1
# SuperLU column ordering: minimum degree on A^T + A suits these symmetric 5-point matrices
# (about half the fill and solve time of the default COLAMD at n = 64 and 128).
ORDERING = "MMD_AT_PLUS_A"


def _second_difference(m, end):
    """m x m tridiag(1, -2, 1); end = -3 on the two corner entries for the ghost-cell Dirichlet
    condition of a cell-centred unknown (ghost = 2 wall - first), -2 for a face-centred unknown
    whose neighbour on the wall is a known value."""
    T = sp.diags([np.ones(m - 1), np.full(m, -2.0), np.ones(m - 1)], [-1, 0, 1], format="lil")
    T[0, 0] = T[m - 1, m - 1] = end
    return T.tocsr()


class Mesh:
    """Staggered (MAC) grid on [0, 1]^2 with n x n cells, h = 1/n, and its prefactorised operators.

    Unknowns (arrays [row = y index, column = x index], C order when flattened):
      u [n, n-1]   u at the vertical faces x = i h (i = 1..n-1), y = (j + 1/2) h (j = 0..n-1)
      v [n-1, n]   v at the horizontal faces x = (i + 1/2) h, y = j h (j = 1..n-1)
      p [n, n]     pressure at the cell centres
    The normal velocity on the walls (u at x = 0, 1; v at y = 0, 1) is zero and not stored.
    """

    def __init__(self, n):
        self.n = n
        self.h = h = 1.0 / n
        I = lambda m: sp.identity(m, format="csr")
        # 1-D divergence, interior faces -> cells: (face c+1 - face c) / h
        d = sp.diags([np.ones(n - 1), -np.ones(n - 1)], [0, -1], shape=(n, n - 1)) / h
        self.Du = sp.kron(I(n), d, format="csr")  # u acts along x (the fast index)
        self.Dv = sp.kron(d, I(n), format="csr")  # v along y (the slow index)
        self.Gu = (-self.Du.T).tocsr()  # gradient = -divergence^T (cells -> faces)
        self.Gv = (-self.Dv.T).tocsr()
        lap_p = (self.Du @ self.Gu + self.Dv @ self.Gv).tocsc()  # = D G exactly, Neumann walls
        # Pure-Neumann Laplacian: singular (constants).  Pin phi = 0 in cell 0 and drop that row;
        # the dropped equation then holds to round-off because sum(D u*) = 0 (no wall flux).
        self._poisson = splu(lap_p[1:, 1:].tocsc(), permc_spec=ORDERING)
        self.Lu = (sp.kron(_second_difference(n, -3.0), I(n - 1))
                   + sp.kron(I(n), _second_difference(n - 1, -2.0))).tocsr() / h**2
        self.Lv = (sp.kron(_second_difference(n - 1, -2.0), I(n))
                   + sp.kron(I(n - 1), _second_difference(n, -3.0))).tocsr() / h**2
        self._helmholtz = {}
        # coordinates
        self.s = np.linspace(0.0, 1.0, n + 1)  # wall nodes (faces along a wall), corners included
        self.c = (np.arange(n) + 0.5) * h  # cell centres

    def helmholtz(self, a):
        """LU factors of (I - a L) for u and for v, cached per coefficient a = alpha nu dt / 2."""
        key = float(a)
        if key not in self._helmholtz:
            self._helmholtz[key] = (
                splu((sp.identity(self.Lu.shape[0]) - a * self.Lu).tocsc(), permc_spec=ORDERING),
                splu((sp.identity(self.Lv.shape[0]) - a * self.Lv).tocsc(), permc_spec=ORDERING))
        return self._helmholtz[key]

    def poisson(self, rhs):
        """phi with (D G) phi = rhs, phi = 0 in cell 0 (rhs must sum to ~0)."""
        phi = np.empty_like(rhs)
        phi[0] = 0.0
        phi[1:] = self._poisson.solve(rhs[1:])
        return phi

    def divergence(self, u, v):
        """Cell divergence [n*n] of flattened interior u, v (wall normal velocity zero)."""
        return self.Du @ u + self.Dv @ v

    def wall_terms(self, w):
        """Boundary part b of the Laplacian, L_full u = L u + b, from the ghost cells:
        ghost = 2 wall - first interior, so each wall-adjacent unknown gets 2 wall / h^2."""
        n, h2 = self.n, self.h**2
        u_s, u_n, v_w, v_e = w
        bu = np.zeros((n, n - 1))
        bu[0] += 2.0 * u_s / h2
        bu[-1] += 2.0 * u_n / h2
        bv = np.zeros((n - 1, n))
        bv[:, 0] += 2.0 * v_w / h2
        bv[:, -1] += 2.0 * v_e / h2
        return bu.ravel(), bv.ravel()

    def convection(self, u, v, w):
        """-(div (u u), div (u v)) in conservative form, central (second order), at the u and v
        faces.  u [n, n-1], v [n-1, n]; w = (u_south, u_north, v_west, v_east) at the interior
        wall nodes.  Products on the walls use the wall velocity itself (the mean of ghost and
        first interior value), and the normal velocity there is zero, so no momentum crosses a
        wall and the corner nodes never enter."""
        n, h = self.n, self.h
        u_s, u_n, v_w, v_e = w
        uf = np.zeros((n, n + 1))  # u with the (zero) normal velocity on x = 0, 1
        uf[:, 1:-1] = u
        vf = np.zeros((n + 1, n))  # v with the (zero) normal velocity on y = 0, 1
        vf[1:-1] = v
        # u-momentum
        uc = 0.5 * (uf[:, :-1] + uf[:, 1:])  # u at cell centres [n, n]
        duu = (uc[:, 1:] ** 2 - uc[:, :-1] ** 2) / h  # [n, n-1]
        un = np.empty((n + 1, n - 1))  # u at the nodes x = i h (i = 1..n-1), y = j h (j = 0..n)
        un[1:-1] = 0.5 * (u[:-1] + u[1:])
        un[0], un[-1] = u_s, u_n
        vn = 0.5 * (vf[:, :-1] + vf[:, 1:])  # v at the same nodes [n+1, n-1]
        fuv = un * vn
        duv_y = (fuv[1:] - fuv[:-1]) / h
        # v-momentum
        vc = 0.5 * (vf[:-1] + vf[1:])  # v at cell centres [n, n]
        dvv = (vc[1:] ** 2 - vc[:-1] ** 2) / h  # [n-1, n]
        vn2 = np.empty((n - 1, n + 1))  # v at the nodes x = i h (i = 0..n), y = j h (j = 1..n-1)
        vn2[:, 1:-1] = 0.5 * (v[:, :-1] + v[:, 1:])
        vn2[:, 0], vn2[:, -1] = v_w, v_e
        un2 = 0.5 * (uf[:-1] + uf[1:])  # u at the same nodes [n-1, n+1]
        fvu = un2 * vn2
        duv_x = (fvu[:, 1:] - fvu[:, :-1]) / h
        return -(duu + duv_y), -(duv_x + dvv)

    def augment(self, u, v, w):
        """Snapshot arrays with the boundary values: U [n+2, n+1] at x = i h (i = 0..n) and
        y = 0, (j + 1/2) h, 1; V [n+1, n+2] at x = 0, (i + 1/2) h, 1 and y = j h (j = 0..n).
        Wall rows/columns carry the wall velocity; at a corner, where the tangential speed of one
        wall meets the zero normal velocity of the other, the mean of the two."""
        n = self.n
        u_s, u_n, v_w, v_e = w  # here at all n+1 wall nodes, corners included
        U = np.zeros((n + 2, n + 1))
        U[1:-1, 1:-1] = u.reshape(n, n - 1)
        U[0, 1:-1], U[-1, 1:-1] = u_s[1:-1], u_n[1:-1]
        U[0, [0, -1]] = 0.5 * u_s[[0, -1]]
        U[-1, [0, -1]] = 0.5 * u_n[[0, -1]]
        V = np.zeros((n + 1, n + 2))
        V[1:-1, 1:-1] = v.reshape(n - 1, n)
        V[1:-1, 0], V[1:-1, -1] = v_w[1:-1], v_e[1:-1]
        V[[0, -1], 0] = 0.5 * v_w[[0, -1]]
        V[[0, -1], -1] = 0.5 * v_e[[0, -1]]
        return U, V


def wall_profile(s, ramp=None):
    """Shape of every wall's speed along the wall, s in [0, 1]: 1 in the middle, rising from 0 at
    each corner over a length `ramp` as the C^2 smootherstep x^3 (10 - 15 x + 6 x^2),
    x = distance to the nearer corner / ramp.  ramp = 0: uniform (singular corners)."""
    ramp = CORNER_RAMP if ramp is None else ramp
    s = np.asarray(s, dtype=float)
    if ramp <= 0:
        return np.ones_like(s)
    x = np.clip(np.minimum(s, 1.0 - s) / ramp, 0.0, 1.0)
    return x**3 * (10.0 - 15.0 * x + 6.0 * x**2)


def constant_walls(u_north, u_south, v_west, v_east, ramp=None):
    """Wall velocities of the benchmark: speed * wall_profile(s, ramp), switched on at t = 0+
    (the impulsive start: the walls are at rest at t = 0 itself, like the fluid)."""
    speeds = np.array([u_south, u_north, v_west, v_east], dtype=float)
    cache = {}

    def walls(t, s):
        if t <= 0:
            return tuple(np.zeros(s.shape) for _ in speeds)
        key = s.size
        if key not in cache:
            cache[key] = wall_profile(s, ramp)
        return tuple(c * cache[key] for c in speeds)

    return walls


def simulate(n, nu, walls, times, initial=None, cfl=CFL, dt_max=None, monitor=None, mesh=None):
    """Integrate from t = 0 and return the snapshots (U [len(times), n+2, n+1], V [.., n+1, n+2])
    laid out as Mesh.augment.

    walls(t, s) -> (u_south, u_north, v_west, v_east), the tangential wall velocities at the
        positions s along the walls (x for south/north, y for west/east).
    initial: None (fluid at rest) or (u0(x, y), v0(x, y), p0(x, y)) callables, sampled at the faces
        and cell centres.
    dt_max: overrides the CFL step bound.  monitor(t, mesh, u, v) is called after every projection
        (three per step) with the flattened interior velocities.
    """
    times = np.asarray(times, dtype=float)
    if times.ndim != 1 or np.any(np.diff(times) < 0) or np.any(times < 0):
        raise ValueError("times must be a 1-D non-negative non-decreasing sequence")
    m = mesh if mesh is not None else Mesh(n)
    h, s_in = m.h, m.s[1:-1]
    if initial is None:
        u = np.zeros(n * (n - 1))
        v = np.zeros((n - 1) * n)
        p = np.zeros(n * n)
    else:
        u0, v0, p0 = initial
        xu, yu = np.meshgrid(s_in, m.c)
        xv, yv = np.meshgrid(m.c, s_in)
        xp, yp = np.meshgrid(m.c, m.c)
        u, v, p = u0(xu, yu).ravel(), v0(xv, yv).ravel(), p0(xp, yp).ravel()

    U = np.empty((times.size, n + 2, n + 1))
    V = np.empty((times.size, n + 1, n + 2))
    t = 0.0
    for i, t_out in enumerate(times):
        span = t_out - t
        if span > 0:
            scale = max(1.0, np.abs(u).max(initial=0.0), np.abs(v).max(initial=0.0))
            bound = cfl * h / (2.0 * scale) if dt_max is None else dt_max
            steps = int(np.ceil(span / bound - 1e-9))
            dt = span / steps
            for k in range(steps):
                u, v, p = _rk3_step(m, u, v, p, t + k * dt, dt, nu, walls, monitor)
            t = t_out
        U[i], V[i] = m.augment(u, v, walls(t_out, m.s))
    return U, V


def _rk3_step(m, u, v, p, t, dt, nu, walls, monitor):
    """One RK3/CN step t -> t + dt; substep k goes from t + RK_C[k-1] dt to t + RK_C[k] dt.
    Per substep: u* from (I - a L) u* = u + dt (gamma N + zeta N_prev) - alpha dt G p
    + a (L u + b_old + b_new), a = alpha nu dt / 2, b = wall (ghost-cell) terms at the substep's
    start and end; then (D G) phi = D u* / (alpha dt), u = u* - alpha dt G phi,
    p += phi - (nu / 2) D u*."""
    cu_prev = cv_prev = 0.0  # convection of the previous substep (zeta_1 = 0)
    s = m.s[1:-1]
    w0 = walls(t, s)
    b0 = m.wall_terms(w0)
    for k in range(3):
        alpha = RK_ALPHA[k]
        t1 = t + RK_C[k] * dt
        w1 = walls(t1, s)
        b1 = m.wall_terms(w1)
        cu, cv = m.convection(u.reshape(m.n, m.n - 1), v.reshape(m.n - 1, m.n), w0)
        cu, cv = cu.ravel(), cv.ravel()
        a = 0.5 * alpha * nu * dt
        lu_u, lu_v = m.helmholtz(a)
        ru = (u + dt * (RK_GAMMA[k] * cu + RK_ZETA[k] * cu_prev) - alpha * dt * (m.Gu @ p)
              + a * (m.Lu @ u + b0[0] + b1[0]))
        rv = (v + dt * (RK_GAMMA[k] * cv + RK_ZETA[k] * cv_prev) - alpha * dt * (m.Gv @ p)
              + a * (m.Lv @ v + b0[1] + b1[1]))
        us, vs = lu_u.solve(ru), lu_v.solve(rv)
        div = m.divergence(us, vs)
        phi = m.poisson(div / (alpha * dt))
        u = us - alpha * dt * (m.Gu @ phi)
        v = vs - alpha * dt * (m.Gv @ phi)
        p = p + phi - 0.5 * nu * div  # rotational incremental pressure correction
        if monitor is not None:
            monitor(t1, m, u, v)
        cu_prev, cv_prev = cu, cv
        w0, b0 = w1, b1
    return u, v, p


def solve(params, n, times=TIMES, monitor=None, ramp=None):
    """The benchmark case params = (Re, u_north, u_south, v_west, v_east) on an n x n mesh:
    snapshots (U, V) at each requested time, laid out as Mesh.augment.  ramp: the corner
    regularisation length (default CORNER_RAMP; 0 = uniform walls, singular corners)."""
    re, u_n, u_s, v_w, v_e = (float(x) for x in params)
    return simulate(n, 1.0 / re, constant_walls(u_n, u_s, v_w, v_e, ramp), times,
                    monitor=monitor)


def train_times(rng, n_cases, n_times=N_TIMES):
    """Output times of each training case [n_cases, n_times]: 0 and T_END plus one uniform draw
    in each of n_times - 2 equal sub-intervals (times.stratified)."""
    return stratified(rng, n_cases, T_END, n_times)


def _interp_matrix(nodes, x):
    """Linear interpolation weights [len(x), len(nodes)] (nodes increasing, x inside)."""
    k = np.clip(np.searchsorted(nodes, x, side="right") - 1, 0, nodes.size - 2)
    w = (x - nodes[k]) / (nodes[k + 1] - nodes[k])
    A = np.zeros((x.size, nodes.size))
    A[np.arange(x.size), k] = 1.0 - w
    A[np.arange(x.size), k + 1] = w
    return A


def output_grid(out_n=OUT_N):
    """Cell centres (k + 1/2) / out_n of the output grid (x for columns, y for rows)."""
    return (np.arange(out_n) + 0.5) / out_n


def to_output(U, V, out_n=OUT_N):
    """Bilinear interpolation of snapshots (U [..., n+2, n+1], V [..., n+1, n+2]) to the cell
    centres of the out_n x out_n output grid -> [..., 2, out_n, out_n], channel 0 = u, 1 = v,
    field[row = y index from the bottom, column = x index]."""
    U, V = np.asarray(U, dtype=float), np.asarray(V, dtype=float)
    n = U.shape[-1] - 1
    h = 1.0 / n
    faces = np.linspace(0.0, 1.0, n + 1)
    centres = np.concatenate([[0.0], (np.arange(n) + 0.5) * h, [1.0]])
    xo = output_grid(out_n)
    uo = _interp_matrix(centres, xo) @ U @ _interp_matrix(faces, xo).T
    vo = _interp_matrix(faces, xo) @ V @ _interp_matrix(centres, xo).T
    return np.stack([uo, vo], axis=-3)


def vorticity(u, v):
    """omega = dv/dx - du/dy of cell-centred fields [..., N, N] on the output grid (spacing 1/N;
    rows = y): second-order central differences inside, second-order one-sided on the edge
    rows/columns (np.gradient, edge_order=2).  Only the output fields enter, so a surrogate's
    prediction and the reference are differentiated by the same operator."""
    h = 1.0 / u.shape[-1]
    return (np.gradient(v, h, axis=-1, edge_order=2) - np.gradient(u, h, axis=-2, edge_order=2))


def field_vorticity(field):
    """vorticity of output fields [..., 2, N, N] (channel 0 = u, 1 = v) -> [..., N, N]."""
    field = np.asarray(field, dtype=float)
    return vorticity(field[..., 0, :, :], field[..., 1, :, :])


def reference(params, times=TIMES, out_n=OUT_N):
    """Converged reference on the output grid: the REF_N mesh -> [len(times), 2, out_n, out_n]."""
    return to_output(*solve(params, REF_N, times), out_n=out_n)


def _rel_l2(a, b, axes):
    return np.sqrt(((a - b) ** 2).sum(axis=axes) / np.maximum((b**2).sum(axis=axes), 1e-300))


def write_case(out_dir, params, meshes):
    """One case solved on each mesh, on the output grid at TIMES, for a program outside Python:
    raw little-endian float32 plus the wall time of the solve alone (no interpreter start-up)."""
    from pathlib import Path
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    for n in meshes:
        t0 = time.perf_counter()
        field = to_output(*solve(params, n))
        seconds = time.perf_counter() - t0
        field.astype("<f4").tofile(out / f"mesh{n}.bin")
        (out / f"mesh{n}.txt").write_text(f"seconds {seconds:.6f}\nparams "
                                           + " ".join(repr(float(x)) for x in params) + "\n")
        print(f"mesh {n:4d}: {seconds:7.2f} s -> {out / f'mesh{n}.bin'}", flush=True)


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python3 -m dgmf_data.flow",
                                 description="Timings and reference error of the flow solver.")
    ap.add_argument("--time", action="store_true",
                    help="wall and CPU time of one solve to T_END on each mesh of --meshes")
    ap.add_argument("--meshes", type=int, nargs="*", default=list(LEVELS) + [REF_N])
    ap.add_argument("--ref-error", type=int, default=0, metavar="N",
                    help="relative L2 error of the top level and of the REF_N reference against "
                         "a solve on an N x N mesh (velocity and vorticity, all TIMES)")
    ap.add_argument("--params", type=float, nargs=5, default=[300.0, 1.0, 1.0, 1.0, 1.0],
                    metavar=PARAM_NAMES)
    ap.add_argument("--write-case", metavar="DIR",
                    help="solve --params on each mesh of --meshes and write DIR/mesh<N>.bin (float32, "
                         "[16 TIMES, 2, OUT_N, OUT_N], little-endian) and DIR/mesh<N>.txt (the solve's "
                         "wall seconds and the params): what examples/flow compares its prediction with")
    args = ap.parse_args(argv)
    params = np.array(args.params)
    if args.write_case:
        write_case(args.write_case, params, args.meshes)
    if args.time:
        for n in args.meshes:
            w0, c0 = time.perf_counter(), time.process_time()
            solve(params, n)
            print(f"n = {n:4d}: wall {time.perf_counter() - w0:7.2f} s, "
                  f"CPU {time.process_time() - c0:7.2f} s", flush=True)
    if args.ref_error:
        fine = to_output(*solve(params, args.ref_error))
        wf = vorticity(fine[:, 0], fine[:, 1])
        print("t            " + " ".join(f"{t:6.2f}" for t in TIMES))
        for n in (LEVELS[-1], REF_N):
            out = to_output(*solve(params, n))
            w = vorticity(out[:, 0], out[:, 1])
            print(f"{n:3d} (u, v)    " + " ".join(f"{e:6.4f}" for e in _rel_l2(out, fine, (1, 2, 3)))
                  + f"   all {_rel_l2(out, fine, None):.4f}")
            print(f"{n:3d} vorticity " + " ".join(f"{e:6.4f}" for e in _rel_l2(w, wf, (1, 2)))
                  + f"   all {_rel_l2(w, wf, None):.4f}", flush=True)


if __name__ == "__main__":
    main()
