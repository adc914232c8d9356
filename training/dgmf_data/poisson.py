"""Poisson 2-D benchmark (discrete fidelity).

Problem:  -Δu = f  on the unit square, Dirichlet data on the boundary.

Parameters (5, each in [0.1, 0.9]):
    (left, right, bottom, top, A)
    left/right  = u on x=0 / x=1,  bottom/top = u on y=0 / y=1 (constant per edge).
    Corner nodes take the average of their two adjacent edges (they never enter the
    5-point stencil of an interior node; the rule only matters for the output field).
    A scales a Gaussian source of unit total mass:
        f(x, y) = A * exp(-r^2 / (2 s^2)) / (2 pi s^2),  r = |(x, y) - (0.5, 0.5)|, s = 0.1
    (the mass outside the square is ~e^-12.5, negligible), so A is ~ the total heat input.

Discretisation: n x n nodes including the boundary, h = 1/(n-1), 5-point Laplacian on the
(n-2)^2 interior nodes, direct sparse solve.  Array convention: u[i, j] = u(x_i, y_j)
("ij" indexing, first axis is x).

Converged reference: exact(), the Fourier-series solution, used for the test set.
"""
from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from scipy.interpolate import RegularGridInterpolator
from scipy.sparse.linalg import spsolve

PARAM_NAMES = ("left", "right", "bottom", "top", "amplitude")
PARAM_LOW = np.full(5, 0.1)
PARAM_HIGH = np.full(5, 0.9)
LEVELS = (8, 16, 32)  # nodes per side, fidelity level index = position in this tuple
OUT_N = 32
SIGMA = 0.1


def gaussian_source(x, y, amplitude):
    r2 = (x - 0.5) ** 2 + (y - 0.5) ** 2
    return amplitude * np.exp(-r2 / (2 * SIGMA**2)) / (2 * np.pi * SIGMA**2)


def edge_boundary(params, x, y):
    """Piecewise-constant edge data; corners = mean of the two adjacent edges."""
    left, right, bottom, top = (float(v) for v in params[:4])
    g = np.zeros(np.broadcast(x, y).shape)
    on_x = [(np.isclose(x, 0.0), left), (np.isclose(x, 1.0), right)]
    on_y = [(np.isclose(y, 0.0), bottom), (np.isclose(y, 1.0), top)]
    count = np.zeros_like(g)
    for mask, val in on_x + on_y:
        g = g + np.where(mask, val, 0.0)
        count = count + mask
    return np.where(count > 0, g / np.maximum(count, 1), 0.0)


def solve(params, n, source=None, boundary=None):
    """Solve on an n x n node grid; returns u[n, n] (boundary included).

    source(x, y) / boundary(x, y): optional callables overriding the benchmark's
    Gaussian source / edge data (used for manufactured-solution tests).
    """
    params = np.asarray(params, dtype=float)
    if n < 3:
        raise ValueError("need at least one interior node (n >= 3)")
    h = 1.0 / (n - 1)
    x = np.linspace(0.0, 1.0, n)
    X, Y = np.meshgrid(x, x, indexing="ij")
    u = boundary(X, Y) if boundary is not None else edge_boundary(params, X, Y)
    u = np.array(u, dtype=float)
    f = source(X, Y) if source is not None else gaussian_source(X, Y, params[4])

    k = n - 2
    t = sp.diags([-1.0, 2.0, -1.0], [-1, 0, 1], shape=(k, k))
    eye = sp.identity(k)
    lap = (sp.kron(t, eye) + sp.kron(eye, t)).tocsr() / h**2  # row-major over (i, j)

    # Known boundary values move to the right-hand side.
    rhs = np.array(f[1:-1, 1:-1], dtype=float)
    rhs[0, :] += u[0, 1:-1] / h**2
    rhs[-1, :] += u[-1, 1:-1] / h**2
    rhs[:, 0] += u[1:-1, 0] / h**2
    rhs[:, -1] += u[1:-1, -1] / h**2
    u[1:-1, 1:-1] = spsolve(lap, rhs.ravel()).reshape(k, k)
    return u


def to_output(u, out_n=OUT_N):
    """Bilinear interpolation of a nodal field u[n, n] onto linspace(0,1,out_n)^2 ('ij')."""
    n = u.shape[0]
    x = np.linspace(0.0, 1.0, n)
    xo = np.linspace(0.0, 1.0, out_n)
    Xo, Yo = np.meshgrid(xo, xo, indexing="ij")
    interp = RegularGridInterpolator((x, x), u, method="linear")
    return interp(np.stack([Xo, Yo], axis=-1))


def _gaussian_sine_coefficients(n_modes):
    """c_m = 2 int_0^1 g(x) sin(m pi x) dx, m = 1..n_modes, for the 1-D factor
    g(x) = exp(-(x - 0.5)^2 / (2 sigma^2)) / (sqrt(2 pi) sigma) of the source (f = A g(x) g(y)
    exactly).  Gauss-Legendre with 4 nodes per half-period of the highest mode: smooth
    integrand, exact to rounding."""
    z, w = np.polynomial.legendre.leggauss(4 * n_modes)
    s, w = 0.5 * (z + 1), 0.5 * w
    g = np.exp(-((s - 0.5) ** 2) / (2 * SIGMA**2)) / (np.sqrt(2 * np.pi) * SIGMA)
    return 2 * np.sin(np.pi * np.outer(np.arange(1, n_modes + 1), s)) @ (g * w)


def exact(params, n=OUT_N, n_source=128, decay_digits=40.0):
    """Exact solution on the n x n node grid (boundary nodes: the edge data, corners averaged).

    u = harmonic part + source part.  Harmonic: one sine series per edge, e.g. for the top edge
    top * sum_{k odd} 4/(k pi) sin(k pi x) sinh(k pi y)/sinh(k pi), summed until
    exp(-k pi d) < e^-decay_digits at the interior node d = h closest to an edge.  Source: the
    double sine series of -Lap v = A g(x) g(y), v = 0 on the boundary:
    v = A sum c_m c_n sin(m pi x) sin(n pi y) / (pi^2 (m^2 + n^2)), c_m from
    _gaussian_sine_coefficients.  |c_m| falls like exp(-(m pi sigma)^2 / 2) until the ~2e-5/m of
    the source's jump at the edges (g(0) = 1.5e-5) takes over, so 128 modes leave ~1e-11.
    """
    params = np.asarray(params, dtype=float)
    x = np.linspace(0.0, 1.0, n)
    s = x[1:-1]
    k = np.arange(1, int(np.ceil(decay_digits / (np.pi * s[0]))) + 1, 2)
    # sinh(k pi s) / sinh(k pi) without overflow, [node, k]
    ratio = lambda d: (np.exp(np.pi * np.outer(d - 1, k)) * -np.expm1(-2 * np.pi * np.outer(d, k))
                       / -np.expm1(-2 * np.pi * k))
    along = np.sin(np.pi * np.outer(s, k)) * (4 / (np.pi * k))  # [node along the edge, k]
    toward_high, toward_low = along @ ratio(s).T, along @ ratio(1 - s).T  # [along, across]
    left, right, bottom, top, amplitude = params
    harmonic = (left * toward_low.T + right * toward_high.T      # functions of (x, y): [x, y]
                + bottom * toward_low + top * toward_high)
    m = np.arange(1, n_source + 1)
    c = _gaussian_sine_coefficients(n_source)
    modes = np.sin(np.pi * np.outer(s, m))
    source = modes @ (amplitude * np.outer(c, c) / (np.pi**2 * (m[:, None] ** 2 + m ** 2))) @ modes.T
    X, Y = np.meshgrid(x, x, indexing="ij")
    u = edge_boundary(params, X, Y)
    u[1:-1, 1:-1] = harmonic + source
    return u


def reference(params, out_n=OUT_N):
    """Converged reference on the output grid (the output nodes are the n = out_n solver nodes)."""
    return exact(params, out_n)
