"""Convergence and sanity tests for the data generators and the converged references.

Observed order p = log2(e(h) / e(h/2)) on successive halvings of the mesh spacing.
Tolerances: second-order schemes must show p >= 1.8 on every halving; the first-order
(backward Euler, nt = nx) coupling must show 0.9 <= p <= 1.2.  The references (exact solutions,
the test sets) must agree with an independent fine solve to REFERENCE_TOL.
"""
import numpy as np
import pytest

from dgmf_data import burgers, convergence, generate, heat, poisson

from conftest import orders, report  # noqa: E402,F401

REFERENCE_TOL = 1e-3  # relative L2 of a test-set reference vs a fine solve


# ---------------------------------------------------------------- Poisson
def test_poisson_manufactured_second_order():
    # sin*sin bubble plus a harmonic bilinear part, so the boundary data is non-trivial
    exact = lambda x, y: np.sin(np.pi * x) * np.sin(np.pi * y) + 0.3 + 0.5 * x - 0.2 * y + 0.7 * x * y
    source = lambda x, y: 2 * np.pi**2 * np.sin(np.pi * x) * np.sin(np.pi * y)
    sizes = (9, 17, 33, 65)
    errors = []
    for n in sizes:
        u = poisson.solve(np.zeros(5), n, source=source, boundary=exact)
        X, Y = np.meshgrid(np.linspace(0, 1, n), np.linspace(0, 1, n), indexing="ij")
        errors.append(np.abs(u - exact(X, Y)).max())
    p = report("poisson manufactured (max-norm)", sizes, errors)
    assert np.all(p >= 1.8)


def test_poisson_benchmark_self_convergence():
    # The benchmark itself (discontinuous corner data, Gaussian source): centre value.
    params = np.array([0.2, 0.8, 0.4, 0.6, 0.9])
    sizes = (17, 33, 65, 129)
    centre = [poisson.solve(params, n)[(n - 1) // 2, (n - 1) // 2] for n in sizes]
    p = report("poisson benchmark centre value (self-conv.)", sizes[1:], np.abs(np.diff(centre)))
    assert np.all(p >= 1.8)


def test_poisson_boundary_data():
    params = np.array([0.2, 0.8, 0.4, 0.6, 0.5])
    u = poisson.solve(params, 16)
    np.testing.assert_allclose(u[0, 1:-1], 0.2)   # left, x = 0
    np.testing.assert_allclose(u[-1, 1:-1], 0.8)  # right, x = 1
    np.testing.assert_allclose(u[1:-1, 0], 0.4)   # bottom, y = 0
    np.testing.assert_allclose(u[1:-1, -1], 0.6)  # top, y = 1
    np.testing.assert_allclose([u[0, 0], u[-1, -1]], [0.3, 0.7])  # corner averages
    # the source is positive, so u exceeds the harmonic part somewhere inside
    assert u[8, 8] > 0.55


def test_poisson_to_output_exact_for_bilinear():
    f = lambda x, y: 0.3 - 1.2 * x + 0.7 * y + 2.5 * x * y
    for n in poisson.LEVELS:
        X, Y = np.meshgrid(np.linspace(0, 1, n), np.linspace(0, 1, n), indexing="ij")
        Xo, Yo = np.meshgrid(np.linspace(0, 1, 32), np.linspace(0, 1, 32), indexing="ij")
        np.testing.assert_allclose(poisson.to_output(f(X, Y)), f(Xo, Yo), atol=1e-12)


# ---------------------------------------------------------------- Heat
def test_heat_space_order_with_fluxes_and_source():
    # u = e^-t cos(3x) + x: non-zero, time-dependent fluxes at both ends + a source.
    # dt = h^2 so the O(dt + h^2) error is O(h^2).
    a = 0.1
    exact = lambda t, x: np.exp(-t) * np.cos(3 * x) + x
    u_x = lambda t, x: -3 * np.exp(-t) * np.sin(3 * x) + 1
    source = lambda t, x: (9 * a - 1) * np.exp(-t) * np.cos(3 * x)
    flux = lambda t: (-a * u_x(t, 0.0), a * u_x(t, 1.0))  # inflow convention of heat.py
    sizes = (9, 17, 33, 65)
    errors = []
    for m in sizes:
        t, x, U = heat.solve((0.0, 0.0, a), m, nt=(m - 1) ** 2 + 1, source=source,
                             initial=lambda x: exact(0.0, x), flux=flux)
        T, X = np.meshgrid(t, x, indexing="ij")
        errors.append(np.abs(U - exact(T, X)).max())
    p = report("heat manufactured, dt = h^2 (max-norm)", sizes, errors)
    assert np.all(p >= 1.8)


def test_heat_first_order_with_benchmark_coupling():
    # nt = nx = m (as in the data set): backward Euler dominates -> first order.
    a = 0.1
    sizes = (17, 33, 65, 129)
    errors = []
    for m in sizes:
        t, x, U = heat.solve((0.0, 0.0, a), m, initial=lambda x: np.cos(np.pi * x))
        T, X = np.meshgrid(t, x, indexing="ij")
        errors.append(np.abs(U - np.cos(np.pi * X) * np.exp(-a * np.pi**2 * T)).max())
    p = report("heat exact cos(pi x) e^(-a pi^2 t), nt = nx (max-norm)", sizes, errors)
    assert np.all((p >= 0.9) & (p <= 1.2))


@pytest.mark.parametrize("m", heat.LEVELS)
def test_heat_conserves_heat_with_flux_signs(m):
    # d/dt int u = q_left + q_right under the inflow convention; initial content 0.5.
    q_left, q_right = 0.7, -0.3
    t, x, U = heat.solve((q_left, q_right, 0.05), m)
    np.testing.assert_allclose(heat.heat_content(x, U), 0.5 + (q_left + q_right) * t, atol=1e-12)
    assert U[-1, 0] > U[0, 0] and U[-1, -1] < U[0, -1]  # left heats up, right cools down


def test_heat_to_output_exact_for_bilinear_and_fidelity():
    f = lambda t, x: 0.5 + 0.3 * t - 0.8 * x + 1.7 * t * x
    g = np.linspace(0, 1, 32)
    To, Xo = np.meshgrid(g, g, indexing="ij")
    for m in heat.LEVELS:
        t = x = np.linspace(0, 1, m)
        T, X = np.meshgrid(t, x, indexing="ij")
        np.testing.assert_allclose(heat.to_output(t, x, f(T, X)), f(To, Xo), atol=1e-12)
    np.testing.assert_allclose(heat.fidelity_value(np.array([8, 32, 0])), [1 / 7, 1 / 31, 0])


# ---------------------------------------------------------------- Burgers
@pytest.mark.parametrize("re", [10, 50])
def test_burgers_second_order_against_exact(re):
    times = np.array([0.25, 0.5, 1.0])
    sizes = (33, 65, 129, 257)
    errors = []
    for nx in sizes:
        x = np.linspace(0, 1, nx)
        U = burgers.solve(re, nx, times)
        exact = np.stack([burgers.exact(re, x, t) for t in times])
        errors.append(np.sqrt(np.mean((U - exact) ** 2, axis=1)).max())  # RMS, worst time
    p = report(f"burgers Re={re} vs exact (RMS)", sizes, errors)
    assert np.all(p >= 1.8)


def test_burgers_robust_at_re510():
    times = burgers.TIMES
    ref = burgers.solve(510, 513, times)
    u0_max = burgers.initial(np.linspace(0, 1, 2001)).max()
    sizes, dists = (16, 32, 64, 128, 256), []
    for nx in sizes:
        U = burgers.solve(510, nx, times)
        assert np.all(np.isfinite(U))
        assert U.min() >= -1e-12 and U.max() <= u0_max + 1e-12  # maximum principle
        tv = np.abs(np.diff(np.vstack([burgers.initial(np.linspace(0, 1, nx)), U]), axis=1)).sum(1)
        assert np.all(np.diff(tv) <= 1e-12)  # no spurious oscillations at the steep front
        dists.append(np.abs(burgers.to_output(U, 513) - ref).mean(axis=1).max())
    report("burgers Re=510 L1 distance to nx=513 (not an order test)", sizes, dists)
    assert np.all(np.diff(dists) < 0) and dists[2] < 0.01  # 64-node grid: L1 gap < 1e-2


def test_burgers_to_output_exact_for_linear():
    for nx in burgers.LEVELS:
        x = np.linspace(0, 1, nx)
        prof = np.stack([0.2 - 1.3 * x, 0.7 * x])
        xo = np.linspace(0, 1, 64)
        np.testing.assert_allclose(burgers.to_output(prof), np.stack([0.2 - 1.3 * xo, 0.7 * xo]),
                                   atol=1e-12)


# ---------------------------------------------------------------- converged references
@pytest.mark.parametrize("params", [(0.1, 0.9, 0.9, 0.1, 0.9), (0.5, 0.2, 0.7, 0.3, 0.1)])
def test_poisson_reference_matches_fine_solve(params):
    p = np.array(params)  # the first: the largest jumps at all four corners
    assert convergence.rel_l2(convergence.fine_solve("poisson", p, 8), poisson.reference(p)) \
        < REFERENCE_TOL


def test_poisson_exact_constant_boundary():
    # no source, one value on every edge: u is that constant (the four edge series sum to 1)
    np.testing.assert_allclose(poisson.exact([0.4, 0.4, 0.4, 0.4, 0.0]), 0.4, atol=1e-12)


@pytest.mark.parametrize("params", [(1.0, -1.0, 0.01), (0.3, -0.6, 0.1)])
def test_heat_reference_matches_fine_solve(params):
    # alpha = 0.01 keeps the initial step sharp: the hardest case for the fine solve
    p = np.array(params)
    assert convergence.rel_l2(convergence.fine_solve("heat", p, 8), heat.reference(p)) \
        < REFERENCE_TOL


def test_heat_exact_initial_step_and_heat_balance():
    # d/dt int u = q_left + q_right (inflow convention) and u(x, 0) is the step itself
    q_left, q_right = 0.7, -0.3
    t = np.array([0.0, 0.1, 0.5, 1.0])
    z, w = np.polynomial.legendre.leggauss(200)
    U = heat.exact((q_left, q_right, 0.05), t, 0.5 * (z + 1))
    np.testing.assert_allclose(U[1:] @ (0.5 * w), 0.5 + (q_left + q_right) * t[1:], atol=1e-12)
    np.testing.assert_array_equal(heat.exact((1, -1, 0.05), [0.0], [0.2, 0.3, 0.7, 0.8]),
                                  [[0.0, 1.0, 1.0, 0.0]])


@pytest.mark.parametrize("re, r", [(510, 16), (200, 8), (10, 8)])
def test_burgers_reference_matches_fine_solve(re, r):
    p = np.array([re], dtype=float)
    assert convergence.rel_l2(convergence.fine_solve("burgers", p, r), burgers.reference(re)) \
        < REFERENCE_TOL


def _cole_hopf_cosine_series(re, x, t, n_terms=80, n_quad=400):
    """The textbook Cole-Hopf form: phi as a cosine series (phi_x = 0 at the walls).  A second,
    independent representation of burgers.exact, usable only for moderate Re (<~ 50): phi spans
    exp(-Re/4) and the series loses it to cancellation beyond."""
    g, wq = np.polynomial.legendre.leggauss(n_quad)
    s, wq = 0.5 * (g + 1), 0.5 * wq
    k = np.arange(n_terms)
    a = (np.cos(np.pi * np.outer(k, s)) * np.exp(-re / 2 * burgers.initial_integral(s))) @ wq
    a[1:] *= 2.0
    a *= np.exp(-(np.pi * k) ** 2 * t / re)
    phi = np.cos(np.pi * np.outer(x, k)) @ a
    phi_x = -(np.sin(np.pi * np.outer(x, k)) * (np.pi * k)) @ a
    return -2 / re * phi_x / phi


@pytest.mark.parametrize("re", [10, 50])
def test_burgers_exact_matches_cosine_series(re):
    x = np.linspace(0, 1, 64)
    for t in (0.05, 0.5, 3.0):
        np.testing.assert_allclose(burgers.exact(re, x, t), _cole_hopf_cosine_series(re, x, t),
                                   atol=1e-10)


def test_burgers_exact_initial_walls_and_quadrature():
    x = np.linspace(0, 1, 64)
    np.testing.assert_array_equal(burgers.exact(510, x, 0.0), burgers.initial(x))
    for t in (0.01, 0.2, 3.0):
        u = burgers.exact(510, x, t)
        assert abs(u[0]) < 1e-12 and abs(u[-1]) < 1e-12  # u = 0 on the walls
        finer = burgers.exact(510, x, t, points=16, panels_per_width=4.0)
        np.testing.assert_allclose(u, finer, atol=1e-13)


def test_burgers_train_times_cover_the_declared_range():
    n, k = 200, burgers.N_TIMES - 2
    times = burgers.train_times(np.random.default_rng(0), n)
    assert times.shape == (n, burgers.N_TIMES) and np.all(np.diff(times, axis=1) >= 0)
    np.testing.assert_array_equal(times[:, [0, -1]], np.broadcast_to([0.0, burgers.T_END], (n, 2)))
    # one draw in each of the k equal sub-intervals, so no gap wider than two of them
    inner = times[:, 1:-1]
    np.testing.assert_array_equal(np.floor(inner * k / burgers.T_END),
                                  np.broadcast_to(np.arange(k), inner.shape))
    np.testing.assert_array_equal(burgers.TIMES, np.linspace(0, 3, 16))


# ---------------------------------------------------------------- generator smoke test
def test_generate_smoke(tmp_path):
    counts = {"poisson": (2, 2, 1), "heat": (1, 1, 1, 1, 1, 1), "burgers": (1, 1, 1)}
    paths = generate.generate(tmp_path, names=tuple(counts), train_counts=counts, n_test=2, n_calib=3,
                              log=lambda *_: None)
    assert sorted(p.name for p in paths) == sorted(
        f"{b}_{s}.npz" for b in counts for s in ("train", "test", "calib"))
    n_t = burgers.TIMES.size
    expect = {  # (rows train, rows test, u shape per row, params)
        "poisson": (5, 2, (1, 32, 32), 5),
        "heat": (6, 2, (1, 32, 32), 3),
        "burgers": (3 * n_t, 2 * n_t, (1, 64), 1),
    }
    for name, (n_train, n_test, shape, n_par) in expect.items():
        tr = np.load(tmp_path / f"{name}_train.npz")
        te = np.load(tmp_path / f"{name}_test.npz")
        assert tr["u"].shape == (n_train,) + shape and te["u"].shape == (n_test,) + shape
        assert tr["params"].shape == (n_train, n_par) and tr["fidelity"].shape == (n_train,)
        assert np.all(np.isfinite(tr["u"])) and np.all(np.isfinite(te["u"]))
        lo, hi = tr["param_low"], tr["param_high"]
        assert np.all((tr["params"] >= lo) & (tr["params"] <= hi))
        assert np.all(te["level"] == len(tr["level_resolutions"]) - 1)
        assert ("coords" in tr.files) == (name == "burgers")
    # training rows are the solver, test rows the exact solution, for the stored parameters
    # (float32 in the file: compare to 1e-5)
    tr, te = np.load(tmp_path / "poisson_train.npz"), np.load(tmp_path / "poisson_test.npz")
    np.testing.assert_allclose(tr["u"][0, 0], poisson.to_output(poisson.solve(tr["params"][0], 8)),
                               atol=1e-5)
    np.testing.assert_allclose(te["u"][0, 0], poisson.reference(te["params"][0]), atol=1e-5)
    tr, te = np.load(tmp_path / "heat_train.npz"), np.load(tmp_path / "heat_test.npz")
    np.testing.assert_allclose(tr["fidelity"], heat.fidelity_value(tr["resolution"]), rtol=1e-6)
    # heat's top training level is the exact solution at h = 0 (generate.EXACT_TOP)
    assert tr["resolution"][-1] == 0 and tr["fidelity"][-1] == 0 and np.all(te["fidelity"] == 0)
    np.testing.assert_allclose(tr["u"][-1, 0], heat.reference(tr["params"][-1]), atol=1e-5)
    np.testing.assert_allclose(tr["u"][-2, 0], heat.to_output(*heat.solve(tr["params"][-2], 32)),
                               atol=1e-5)
    np.testing.assert_allclose(te["u"][1, 0], heat.reference(te["params"][1]), atol=1e-5)
    tr, te = np.load(tmp_path / "burgers_train.npz"), np.load(tmp_path / "burgers_test.npz")
    t = tr["coords"][:n_t, 0].astype(float)
    assert t[0] == 0 and t[-1] == np.float32(burgers.T_END) and np.all(np.diff(t) > 0)
    assert np.all(tr["case"][:n_t] == 0) and np.all(tr["case"][n_t:2 * n_t] == 1)
    # the float32 coords round the solver's times by < 1e-7: u changes by less than atol
    np.testing.assert_allclose(tr["u"][:n_t, 0],
                               burgers.to_output(burgers.solve(float(tr["params"][0, 0]), 16, t)),
                               atol=1e-5)
    np.testing.assert_allclose(te["coords"][:, 0], np.tile(burgers.TIMES, 2), rtol=1e-6)
    np.testing.assert_allclose(te["u"][n_t:, 0], burgers.reference(float(te["params"][n_t, 0])),
                               atol=1e-5)
    # the calibration split: laid out as the test set, exact, top level, its own draws
    for name, (_, n_test, shape, n_par) in expect.items():
        te, ca = np.load(tmp_path / f"{name}_test.npz"), np.load(tmp_path / f"{name}_calib.npz")
        n_cal = n_test // 2 * 3
        assert sorted(ca.files) == sorted(te.files)
        assert ca["u"].shape == (n_cal,) + shape and ca["params"].shape == (n_cal, n_par)
        assert np.all(ca["level"] == te["level"][0]) and np.all(ca["fidelity"] == te["fidelity"][0])
        tr = np.load(tmp_path / f"{name}_train.npz")
        for other in (te, tr):  # no parameter point shared with training or test
            assert not (ca["params"][:, None, :] == other["params"][None, :, :]).all(-1).any()
    ca = np.load(tmp_path / "poisson_calib.npz")
    np.testing.assert_allclose(ca["u"][2, 0], poisson.reference(ca["params"][2]), atol=1e-5)
    ca = np.load(tmp_path / "burgers_calib.npz")
    np.testing.assert_allclose(ca["coords"][:, 0], np.tile(burgers.TIMES, 3), rtol=1e-6)
    np.testing.assert_allclose(ca["u"][2 * n_t:, 0],
                               burgers.reference(float(ca["params"][2 * n_t, 0])), atol=1e-5)
    # params are stored as drawn (float64), so they equal the draw exactly
    np.testing.assert_array_equal(
        ca["params"][::n_t], generate.sample_params(burgers, 3, generate.CONFIG["burgers"][2] + 98))
    assert ca["params"].dtype == np.float64 and ca["u"].dtype == np.float32
    # fixed seeds: sampling is reproducible
    np.testing.assert_array_equal(generate.sample_params(heat, 4, 7), generate.sample_params(heat, 4, 7))
