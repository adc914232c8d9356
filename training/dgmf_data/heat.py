"""Heat 1-D benchmark (space x time, continuous fidelity).

Problem:  u_t = alpha * u_xx  on x, t in [0, 1];  u(x, 0) = 1 on [0.25, 0.75], 0 elsewhere.

Flux convention: each flux parameter is the heat flux INTO the rod through that end
(alpha * du/dn with n the outward normal):
    left end:   -alpha * u_x(0, t) = q_left    q_left  in [0, 1]  -> heat flows in (heating)
    right end:  +alpha * u_x(1, t) = q_right   q_right in [-1, 0] -> heat flows out (cooling)
so d/dt  int_0^1 u dx = q_left + q_right exactly (the scheme conserves this discretely).

Parameters: (q_left, q_right, alpha), alpha in [0.01, 0.1].

Discretisation: vertex-centred finite volumes on m nodes x_j = j h, h = 1/(m-1) (half
control volumes at the ends; identical to central differences with ghost-node Neumann
BCs), backward Euler on nt = m time levels t_k = k dt, dt = 1/(nt-1) (t=0 included).
The discontinuous initial state is cell-averaged over each control volume so the initial
heat content is exactly 0.5 on every mesh.  Error O(dt + h^2).

Fidelity: mesh size m (nx = nt = m).  The continuous fidelity value fed to the surrogate
is the mesh spacing h = 1/(m-1) (smaller = higher fidelity), see fidelity_value().

Converged reference: exact(), the cosine-series solution, used for the test set.
"""
from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from scipy.interpolate import RegularGridInterpolator
from scipy.sparse.linalg import splu

PARAM_NAMES = ("q_left", "q_right", "alpha")
PARAM_LOW = np.array([0.0, -1.0, 0.01])
PARAM_HIGH = np.array([1.0, 0.0, 0.1])
LEVELS = (8, 12, 16, 24, 32)  # m = nx = nt
OUT_N = 32


def fidelity_value(m):
    """Continuous fidelity of mesh m: the spacing h = dt = 1/(m-1); m = 0 stands for the exact
    solution, h = 0 (the limit the solver converges to)."""
    m = np.asarray(m, dtype=float)
    return np.where(m == 0, 0.0, 1.0 / np.where(m == 0, 2.0, m - 1.0))


def _control_widths(x):
    h = x[1] - x[0]
    w = np.full(x.size, h)
    w[0] = w[-1] = h / 2
    return w


def _initial_cell_average(x, lo=0.25, hi=0.75):
    """Exact average of the indicator of [lo, hi] over each control volume."""
    h = x[1] - x[0]
    a = np.clip(x - h / 2, 0.0, 1.0)
    b = np.clip(x + h / 2, 0.0, 1.0)
    overlap = np.clip(np.minimum(b, hi) - np.maximum(a, lo), 0.0, None)
    return overlap / (b - a)


def solve(params, m, nt=None, source=None, initial=None, flux=None):
    """Returns (t[nt], x[m], U[nt, m]) with U[k, j] = u(x_j, t_k).

    Optional hooks for manufactured solutions:
      nt:      number of time levels (default m, the benchmark coupling nt = nx)
      source:  s(t, x) added to the right-hand side (u_t = alpha u_xx + s)
      initial: u0(x), sampled at the nodes (replaces the cell-averaged step)
      flux:    t -> (q_left, q_right), replaces the constant fluxes in params
    """
    q_left, q_right, alpha = (float(v) for v in params)
    nt = m if nt is None else nt
    x = np.linspace(0.0, 1.0, m)
    t = np.linspace(0.0, 1.0, nt)
    h, dt = x[1] - x[0], t[1] - t[0]
    w = _control_widths(x)

    # Conductance matrix: face flux alpha (u_j - u_{j+1}) / h between neighbours.
    main = np.full(m, 2.0)
    main[0] = main[-1] = 1.0
    K = sp.diags([-np.ones(m - 1), main, -np.ones(m - 1)], [-1, 0, 1]) * (alpha / h)
    lu = splu((sp.diags(w / dt) + K).tocsc())  # same matrix every step: factor once

    U = np.empty((nt, m))
    U[0] = initial(x) if initial is not None else _initial_cell_average(x)
    for k in range(1, nt):
        rhs = w * U[k - 1] / dt
        ql, qr = flux(t[k]) if flux is not None else (q_left, q_right)
        rhs[0] += ql
        rhs[-1] += qr
        if source is not None:
            rhs += w * source(t[k], x)
        U[k] = lu.solve(rhs)
    return t, x, U


def heat_content(x, U):
    """Discrete integral of u over [0, 1] (the quantity the scheme conserves)."""
    return U @ _control_widths(x)


def to_output(t, x, U, out_n=OUT_N):
    """Bilinear interpolation of U[nt, nx] onto the common (t, x) = linspace(0,1,out_n)^2."""
    g = np.linspace(0.0, 1.0, out_n)
    T, X = np.meshgrid(g, g, indexing="ij")
    interp = RegularGridInterpolator((t, x), U, method="linear")
    return interp(np.stack([T, X], axis=-1))


def exact(params, t, x, lo=0.25, hi=0.75, decay_digits=40.0):
    """Exact solution U[i, j] = u(x_j, t_i) (cosine series; at t = 0 the step itself).

    u = (q_left + q_right) t + b x + c x^2 + w,  b = -q_left/alpha,  c = (q_left + q_right)/(2 alpha):
    the polynomial carries both fluxes, and w solves the insulated problem from the initial step
    minus the polynomial, w = sum_k a_k cos(k pi x) exp(-alpha (k pi)^2 t).  Terms are kept until
    the factor exp(-alpha (k pi)^2 t) at the smallest t > 0 is below e^-decay_digits.
    """
    q_left, q_right, alpha = (float(v) for v in params)
    t, x = np.asarray(t, dtype=float), np.asarray(x, dtype=float)
    b, c = -q_left / alpha, (q_left + q_right) / (2 * alpha)
    u = np.where((x >= lo) & (x <= hi), 1.0, 0.0) * np.ones((t.size, 1))
    later = t > 0
    if not later.any():
        return u
    n_terms = int(np.ceil(np.sqrt(decay_digits / (alpha * np.pi**2 * t[later].min())))) + 1
    kp = np.pi * np.arange(1, n_terms + 1)
    odd_sign = (-1.0) ** np.arange(1, n_terms + 1)
    a = (2 * (np.sin(kp * hi) - np.sin(kp * lo)) / kp  # 2 int_0^1 w(x, 0) cos(k pi x) dx
         - b * 2 * (odd_sign - 1) / kp**2 - c * 4 * odd_sign / kp**2)
    a0 = (hi - lo) - b / 2 - c / 3
    tl = t[later]
    w = a0 + (np.exp(-alpha * np.outer(tl, kp**2)) * a) @ np.cos(np.outer(kp, x))
    u[later] = w + (q_left + q_right) * tl[:, None] + b * x + c * x**2
    return u


def reference(params, out_n=OUT_N, decay_digits=40.0):
    """Converged reference on the output grid (t, x) = linspace(0,1,out_n)^2."""
    g = np.linspace(0.0, 1.0, out_n)
    return exact(params, g, g, decay_digits=decay_digits)
