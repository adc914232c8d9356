"""Burgers 1-D benchmark (discrete fidelity, time as a coordinate input).

Problem:  u_t + (u^2/2)_x = nu u_xx  on (0, 1),  u(0,t) = u(1,t) = 0,
          u(x, 0) = exp(-x/2) sin(pi x),  t in [0, 3],  nu = 1/Re,  Re in [10, 510].

Scheme (second order in smooth regions, robust for under-resolved fronts):
  * nx nodes including the two Dirichlet nodes, h = 1/(nx-1); each interior node owns
    the control volume [x_j - h/2, x_j + h/2] (conservative finite volumes).
  * Convection: MUSCL reconstruction with the van Leer limiter + exact Godunov flux for
    Burgers, advanced with SSP-RK2 (Heun).  TVD, so steep fronts at Re=510 on coarse
    grids neither oscillate nor blow up.  At extrema the limiter drops to first order.
  * Diffusion: 3-point Laplacian, Alexander's 2-stage SDIRK (L-stable, 2nd order), so
    the stiff diffusion at low Re imposes no step restriction; one LU per step size.
  * Strang splitting D(dt/2) C(dt) D(dt/2); dt from a convective CFL of 0.4 using the
    maximum principle max|u| <= max|u0|, shortened so that every requested time is hit.

Converged reference: exact(), the Cole-Hopf solution (heat-kernel integral with wall images,
evaluated in log space), used for the test set.  Output times: each training case gets its own
(train_times: t = 0, t = 3 and 14 stratified random times); every test case the 16 equispaced
TIMES, 0 and 3 included.
"""
from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from scipy.sparse.linalg import splu

from .times import stratified

PARAM_NAMES = ("Re",)
PARAM_LOW = np.array([10.0])
PARAM_HIGH = np.array([510.0])
LEVELS = (16, 32, 64)  # nx, fidelity level index = position in this tuple
OUT_N = 64
T_END = 3.0
N_TIMES = 16  # output times (rows) per case
TIMES = np.linspace(0.0, T_END, N_TIMES)  # the test set's times: 0, 0.2, ..., 3
CFL = 0.4
GAMMA = 1.0 - 1.0 / np.sqrt(2.0)  # SDIRK2 coefficient


def initial(x):
    return np.exp(-x / 2) * np.sin(np.pi * x)


def initial_integral(x):
    """int_0^x u0 (closed form); the Cole-Hopf transform needs it."""
    return (np.exp(-x / 2) * (-0.5 * np.sin(np.pi * x) - np.pi * np.cos(np.pi * x))
            + np.pi) / (0.25 + np.pi**2)


def train_times(rng, n_cases, n_times=N_TIMES):
    """Output times of each training case [n_cases, n_times], sorted: both ends of [0, T_END]
    plus one uniform draw in each of n_times - 2 equal sub-intervals, so every case spans the
    declared range and the draws together cover it densely (times.stratified)."""
    return stratified(rng, n_cases, T_END, n_times)


def _godunov_flux(ul, ur):
    """Exact Riemann-solver flux for f(u) = u^2/2."""
    return np.maximum(0.5 * np.maximum(ul, 0.0) ** 2, 0.5 * np.minimum(ur, 0.0) ** 2)


def _convection_rhs(u, h):
    """-(F_{j+1/2} - F_{j-1/2}) / h on interior nodes (0 on the Dirichlet nodes)."""
    d = np.diff(u)
    s = np.empty_like(u)
    a, b = d[:-1], d[1:]
    s[1:-1] = np.where(a * b > 0, 2 * a * b / np.where(a + b == 0, 1.0, a + b), 0.0)  # van Leer
    s[0], s[-1] = d[0], d[-1]  # one-sided slopes so the wall faces see u(h/2), not u(0)
    flux = _godunov_flux(u[:-1] + 0.5 * s[:-1], u[1:] - 0.5 * s[1:])
    r = np.zeros_like(u)
    r[1:-1] = -(flux[1:] - flux[:-1]) / h
    return r


class _Diffusion:
    """SDIRK2 step of length dt for u' = nu * L u (L = Dirichlet Laplacian, interior nodes)."""

    def __init__(self, nx, nu, h, dt):
        k = nx - 2
        self.L = sp.diags([1.0, -2.0, 1.0], [-1, 0, 1], shape=(k, k), format="csc") * (nu / h**2)
        self.dt = dt
        self.lu = splu(sp.identity(k, format="csc") - GAMMA * dt * self.L)  # shared by both stages

    def __call__(self, u):
        v = u[1:-1]
        y1 = self.lu.solve(v)
        y2 = self.lu.solve(v + (1 - GAMMA) * self.dt * (self.L @ y1))
        out = np.zeros_like(u)
        out[1:-1] = y2
        return out


def solve(re, nx, times=TIMES):
    """Profiles u(x_j, t) on nx nodes at each requested time -> array [len(times), nx]."""
    times = np.asarray(times, dtype=float)
    if np.any(np.diff(times) < 0) or np.any(times < 0):
        raise ValueError("times must be non-negative and non-decreasing")
    x = np.linspace(0.0, 1.0, nx)
    h = x[1] - x[0]
    u = initial(x)
    u[0] = u[-1] = 0.0
    dt_max = CFL * h / np.max(np.abs(u))
    out = np.empty((times.size, nx))
    t = 0.0
    for i, t_target in enumerate(times):
        span = t_target - t
        n_steps = int(np.ceil(span / dt_max - 1e-9)) if span > 0 else 0
        if n_steps:
            dt = span / n_steps
            half_diffusion = _Diffusion(nx, 1.0 / re, h, dt / 2)
        for _ in range(n_steps):
            u = half_diffusion(u)
            u1 = u + dt * _convection_rhs(u, h)  # SSP-RK2
            u = 0.5 * (u + u1 + dt * _convection_rhs(u1, h))
            u = half_diffusion(u)
        t = t_target
        out[i] = u
    return out


def to_output(profile, out_n=OUT_N):
    """Linear interpolation from linspace(0,1,nx) to linspace(0,1,out_n); works on [..., nx]."""
    profile = np.asarray(profile, dtype=float)
    x = np.linspace(0.0, 1.0, profile.shape[-1])
    xo = np.linspace(0.0, 1.0, out_n)
    flat = profile.reshape(-1, profile.shape[-1])
    res = np.stack([np.interp(xo, x, p) for p in flat])
    return res.reshape(profile.shape[:-1] + (out_n,))


def exact(re, x, t, points=8, panels_per_width=2.0):
    """Exact solution u(x, t) by Cole-Hopf, to rounding (~1e-14) for every Re >= 10 and t >= 0.

    u = -2 nu phi_x / phi with phi_t = nu phi_xx, phi_x = 0 at the walls (u = 0 there) and
    phi(y, 0) = exp(-(Re/2) F(y)), F = int_0^y u0.  The Neumann heat kernel on [0, 1] is the
    free-space kernel summed over the images z = x - y - 2n and z = x + y - 2n, so
        u(x, t) = sum z w / (t sum w),   w = exp(-(Re/2) (z^2 / (2t) + F(y))) dy.
    phi itself spans exp(-Re/4) (a cosine series loses everything to cancellation past Re ~ 50);
    the ratio is formed in log space (log-sum-exp: weights relative to the largest one).
    Quadrature: Gauss-Legendre panels narrower than the sharpest peak of w in y, whose width is
    sqrt(2 / (Re (1/t + max u0'))) with max u0' = pi.  Images: every n whose |z| can come within
    sqrt(2t (F(1) + 80/Re)), beyond which a term is e^-40 below the y = x term of the direct kernel.
    """
    x = np.asarray(x, dtype=float)
    if t == 0:
        return initial(x)
    width = np.sqrt(2.0 / (re * (1.0 / t + np.pi)))
    n_panels = int(np.ceil(panels_per_width / width))
    g, w = np.polynomial.legendre.leggauss(points)
    h = 1.0 / n_panels
    y = (np.arange(n_panels)[:, None] * h + h * (g + 1) / 2).ravel()
    dy = np.tile(w * h / 2, n_panels)
    reach = np.sqrt(2 * t * (initial_integral(1.0) + 80.0 / re))
    k = int(np.ceil((reach + 1) / 2))
    shifts = 2.0 * np.arange(-k, k + 2)
    xc, yc = x[:, None, None], y[None, :, None]
    z = np.concatenate([xc - yc - shifts, xc + yc - shifts], axis=2)  # [x, y, image]
    log_w = -0.5 * re * (z**2 / (2 * t) + initial_integral(y)[None, :, None])
    weight = np.exp(log_w - log_w.max(axis=(1, 2), keepdims=True)) * dy[None, :, None]
    return (weight * z).sum(axis=(1, 2)) / (t * weight.sum(axis=(1, 2)))


def reference(re, times=TIMES, out_n=OUT_N):
    """Converged reference on the output grid: exact() at each time -> [len(times), out_n]."""
    x = np.linspace(0.0, 1.0, out_n)
    return np.stack([exact(re, x, t) for t in times])
