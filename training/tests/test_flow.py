"""Tests of the flow (moving-wall cavity Navier-Stokes) solver, dgmf_data.flow.

Observed order p = log2(e(h) / e(h/2)) on successive halvings; second order must show p >= 1.8 on
every halving (as in test_convergence.py).  Runtime about 40 s on 2 cores (the Ghia run dominates).
"""
import numpy as np

from dgmf_data import flow

from conftest import orders, report  # noqa: E402,F401


# ---------------------------------------------------------------- Taylor-Green decay
# u = sin(pi x) cos(pi y) F, v = -cos(pi x) sin(pi y) F, p = (cos 2 pi x + cos 2 pi y) F^2 / 4,
# F = exp(-2 pi^2 nu t): an exact Navier-Stokes solution whose normal velocity vanishes on the walls
# of the unit box, so it is a moving-wall box flow with the (space- and time-dependent) tangential
# wall velocities taken from it.  Convection, pressure and viscosity all act.
TG_NU = 0.01
TG_T = 1.0


def _tg_factor(t):
    return np.exp(-2 * np.pi**2 * TG_NU * t)


def _tg_walls(t, s):
    f = _tg_factor(t) * np.sin(np.pi * s)
    return f, -f, -f, f  # u_south, u_north, v_west, v_east


TG_INITIAL = (lambda x, y: np.sin(np.pi * x) * np.cos(np.pi * y),
              lambda x, y: -np.cos(np.pi * x) * np.sin(np.pi * y),
              lambda x, y: 0.25 * (np.cos(2 * np.pi * x) + np.cos(2 * np.pi * y)))


def _tg_error(n, U, V, t):
    """Max-norm error of the snapshot (faces and wall values) against the exact solution."""
    faces = np.linspace(0.0, 1.0, n + 1)
    centres = np.concatenate([[0.0], (np.arange(n) + 0.5) / n, [1.0]])
    X, Y = np.meshgrid(faces, centres)
    eu = np.abs(U - np.sin(np.pi * X) * np.cos(np.pi * Y) * _tg_factor(t)).max()
    X, Y = np.meshgrid(centres, faces)
    ev = np.abs(V + np.cos(np.pi * X) * np.sin(np.pi * Y) * _tg_factor(t)).max()
    return max(eu, ev)


def test_taylor_green_second_order_in_space_and_time():
    # h and dt halved together (dt = CFL h / 2, the benchmark's step rule)
    sizes = (16, 32, 64, 128)
    errors = []
    for n in sizes:
        U, V = flow.simulate(n, TG_NU, _tg_walls, [TG_T], initial=TG_INITIAL)
        errors.append(_tg_error(n, U[0], V[0], TG_T))
    p = report("Taylor-Green, h and dt halved together (max-norm vs exact)", sizes, errors)
    assert np.all(p >= 1.8)


def test_taylor_green_second_order_in_time():
    # Splitting and RK3/CN error alone: fixed 32^2 mesh, dt halved, against dt = 1/2048 on the same
    # mesh; started with zero pressure (as the benchmark's impulsive start is), so the
    # incremental pressure starts off wrong and must still leave second order.
    n = 32
    initial = TG_INITIAL[:2] + (lambda x, y: 0.0 * x,)
    Ur, Vr = flow.simulate(n, TG_NU, _tg_walls, [TG_T], initial=initial, dt_max=1 / 2048)
    steps = (1 / 8, 1 / 16, 1 / 32, 1 / 64)
    errors = []
    for dt in steps:
        U, V = flow.simulate(n, TG_NU, _tg_walls, [TG_T], initial=initial, dt_max=dt)
        errors.append(max(np.abs(U - Ur).max(), np.abs(V - Vr).max()))
    p = report("Taylor-Green 32^2, dt halved (max-norm vs dt = 1/2048)", [f"1/{round(1 / d)}" for d in steps], errors)
    assert np.all(p >= 1.8)


# ---------------------------------------------------------------- divergence
def test_divergence_free_after_every_projection():
    rng = np.random.default_rng(15)
    params = flow.PARAM_LOW + rng.random(5) * (flow.PARAM_HIGH - flow.PARAM_LOW)
    worst = {}
    for n in (16, 64):
        rel = []

        def monitor(t, mesh, u, v):
            scale = max(np.abs(params[1:]).max(), np.abs(u).max(), np.abs(v).max())
            rel.append(np.abs(mesh.divergence(u, v)).max() * mesh.h / scale)

        flow.solve(params, n, times=[0.0, 0.25, 0.5], monitor=monitor)
        worst[n] = max(rel)
        assert len(rel) >= 3 * 0.5 / (flow.CFL / (2 * n))  # every substep was seen
    print(f"\nmax |div u| h / U after a projection, params {np.round(params, 3)}: "
          + ", ".join(f"{n}^2: {e:.1e}" for n, e in worst.items()))
    assert max(worst.values()) < 1e-10


# ---------------------------------------------------------------- Ghia, Ghia & Shin (1982)
# U. Ghia, K. N. Ghia, C. T. Shin, "High-Re solutions for incompressible flow using the
# Navier-Stokes equations and a multigrid method", J. Comput. Phys. 48 (1982) 387-411,
# Table I (u on the vertical centre line x = 0.5) and Table II (v on the horizontal centre line
# y = 0.5), Re = 100, lid (north wall) speed 1.
GHIA_Y = np.array([1.0000, 0.9766, 0.9688, 0.9609, 0.9531, 0.8516, 0.7344, 0.6172, 0.5000,
                   0.4531, 0.2813, 0.1719, 0.1016, 0.0703, 0.0625, 0.0547, 0.0000])
GHIA_U = np.array([1.00000, 0.84123, 0.78871, 0.73722, 0.68717, 0.23151, 0.00332, -0.13641,
                   -0.20581, -0.21090, -0.15662, -0.10150, -0.06434, -0.04775, -0.04192,
                   -0.03717, 0.00000])
GHIA_X = np.array([1.0000, 0.9688, 0.9609, 0.9531, 0.9453, 0.9063, 0.8594, 0.8047, 0.5000,
                   0.2344, 0.2266, 0.1563, 0.0938, 0.0781, 0.0703, 0.0625, 0.0000])
GHIA_V = np.array([0.00000, -0.05906, -0.07391, -0.08864, -0.10313, -0.16914, -0.22445,
                   -0.24533, 0.05454, 0.17527, 0.17507, 0.16077, 0.12317, 0.10890, 0.10091,
                   0.09233, 0.00000])
# Tolerance: on 32^2, 64^2 and 128^2 this solver's centre-line values agree with each other to
# 0.0058 (32 vs 128) and 0.0011 (64 vs 128), second-order convergence, while all three deviate
# from the table by up to 0.008-0.009, in the same direction, near the v minimum (x ~ 0.81-0.86):
# that part is the table's own error (129^2, 1982).  0.02 = about twice the table's error plus
# the 64^2 mesh error.
GHIA_TOL = 0.02


def test_lid_driven_cavity_re100_against_ghia():
    n = 64
    # Ghia's lid moves at speed 1 up to the corners: the unregularised problem (ramp = 0)
    U, V = flow.solve([100.0, 1.0, 0.0, 0.0, 0.0], n, times=[19.0, 20.0], ramp=0.0)
    change = max(np.abs(U[1] - U[0]).max(), np.abs(V[1] - V[0]).max())
    centres = np.concatenate([[0.0], (np.arange(n) + 0.5) / n, [1.0]])
    u_line = np.interp(GHIA_Y, centres, U[1][:, n // 2])  # u faces at x = 0.5: column n/2
    v_line = np.interp(GHIA_X, centres, V[1][n // 2, :])  # v faces at y = 0.5: row n/2
    du, dv = u_line - GHIA_U, v_line - GHIA_V
    print(f"\nGhia Re=100 on {n}^2 at t = 20 (change over the last unit of time {change:.1e}):"
          f"\n  u(0.5, y) - Ghia: {np.round(du, 4)}\n  v(x, 0.5) - Ghia: {np.round(dv, 4)}"
          f"\n  max |u dev| {np.abs(du).max():.4f}  max |v dev| {np.abs(dv).max():.4f}")
    assert change < 1e-4  # steady
    assert np.abs(du).max() < GHIA_TOL and np.abs(dv).max() < GHIA_TOL


# ---------------------------------------------------------------- symmetry and sanity
def test_walls_at_rest_keep_the_fluid_at_rest():
    U, V = flow.solve([50.0, 0.0, 0.0, 0.0, 0.0], 16, times=[0.0, 1.0, 2.0])
    assert not U.any() and not V.any()


def test_reversed_walls_reverse_the_flow_up_to_convection():
    # Reversing every wall speed reverses the flow only in the Stokes limit: the convective term
    # is even in u, so u(-w) = -u(w) + O(Re).  Measured: the even part |u(w) + u(-w)| relative to
    # the odd part |u(w) - u(-w)| is proportional to Re (ratio 2 per doubling, to 1 %).  At
    # Re = 200 the reversed flow differs from -u by 0.26 (of max |u| = 0.8).
    w = np.array([0.8, -0.3, 0.5, 0.9])
    ratios = []
    for re in (1.0, 2.0, 4.0):
        U, V = flow.solve([re, *w], 32, times=[2.0])
        Ur, Vr = flow.solve([re, *(-w)], 32, times=[2.0])
        even = np.sqrt(((U + Ur) ** 2).sum() + ((V + Vr) ** 2).sum())
        odd = np.sqrt(((U - Ur) ** 2).sum() + ((V - Vr) ** 2).sum())
        ratios.append(even / odd)
    print(f"\nreversed walls, |even| / |odd| part at Re = 1, 2, 4: {np.round(ratios, 6)}")
    assert ratios[0] < 0.01
    assert np.all(np.abs(np.array(ratios[1:]) / ratios[:-1] - 2.0) < 0.05)


def test_half_turn_symmetry():
    # The exact statement for Navier-Stokes: reversing every wall speed AND swapping opposite walls
    # is the box turned by 180 degrees, (u, v)(x, y) -> -(u, v)(1 - x, 1 - y).
    re, un, us, vw, ve = 200.0, 0.8, -0.3, 0.5, 0.9
    times = [0.5, 2.0]
    U, V = flow.solve([re, un, us, vw, ve], 32, times)
    Ur, Vr = flow.solve([re, -us, -un, -ve, -vw], 32, times)
    np.testing.assert_allclose(Ur, -U[..., ::-1, ::-1], atol=1e-12)
    np.testing.assert_allclose(Vr, -V[..., ::-1, ::-1], atol=1e-12)


def test_mirror_and_diagonal_symmetry():
    # x -> 1 - x: (u, v)(x, y) -> (-u, v)(1 - x, y), walls (u_N, u_S, v_W, v_E) -> (-u_N, -u_S, v_E, v_W).
    # x <-> y: (u, v)(x, y) -> (v, u)(y, x), walls -> (v_E, v_W, u_S, u_N).
    re, un, us, vw, ve = 150.0, 0.9, -0.4, 0.3, 0.7
    times = [0.5, 1.5]
    U, V = flow.solve([re, un, us, vw, ve], 32, times)
    Um, Vm = flow.solve([re, -un, -us, ve, vw], 32, times)
    np.testing.assert_allclose(Um, -U[..., ::-1], atol=1e-12)
    np.testing.assert_allclose(Vm, V[..., ::-1], atol=1e-12)
    Ut, Vt = flow.solve([re, ve, vw, us, un], 32, times)
    np.testing.assert_allclose(Ut, np.swapaxes(V, -1, -2), atol=1e-12)
    np.testing.assert_allclose(Vt, np.swapaxes(U, -1, -2), atol=1e-12)


def test_impulsive_start_and_output_layout():
    params = np.array([100.0, 1.0, 0.0, 0.0, 0.0])
    for n in flow.LEVELS:
        U, V = flow.solve(params, n, times=[0.0, 0.1])
        out = flow.to_output(U, V)
        assert out.shape == (2, 2, flow.OUT_N, flow.OUT_N)
        assert not out[0].any()  # t = 0: fluid and walls at rest
        lid = flow.wall_profile(np.linspace(0.0, 1.0, n + 1))
        assert np.all(U[1, -1] == lid)  # the lid row carries the lid velocity for t > 0 ...
        assert U[1, -1, 0] == U[1, -1, -1] == 0.0 and U[1, -1, n // 2] == 1.0  # ... 0 at corners
        assert out[1, 0, -1].mean() > 0.3 and out[1, 0, 0].mean() < 0.05  # top row dragged


def test_wall_profile():
    s = np.linspace(0.0, 1.0, 801)
    phi = flow.wall_profile(s)
    r = flow.CORNER_RAMP
    assert phi[0] == phi[-1] == 0.0 and np.all(phi[(s >= r) & (s <= 1 - r)] == 1.0)
    assert np.all(np.diff(phi[s <= 0.5]) >= 0) and np.allclose(phi, phi[::-1])
    # C^2 at both ends of the ramp: phi and 1 - phi vanish like d^3 there (ratio 8 per halving)
    d = 1e-3
    e = flow.wall_profile(np.array([d, d / 2, r - d, r - d / 2]))
    assert 7.9 < e[0] / e[1] < 8.1 and 7.9 < (1 - e[2]) / (1 - e[3]) < 8.1
    assert np.all(flow.wall_profile(s, ramp=0.0) == 1.0)


def test_to_output_and_vorticity_exact_for_low_degree_fields():
    # to_output is bilinear: exact for u = a + b x + c y + d x y sampled on the snapshot layout;
    # vorticity is exact for quadratics (solid-body rotation about (0.5, 0.5): omega = 2 w).
    f = lambda x, y: 0.3 - 1.2 * x + 0.7 * y + 2.5 * x * y
    g = lambda x, y: -0.4 + 0.9 * x - 1.1 * y - 1.5 * x * y
    xo = flow.output_grid()
    Xo, Yo = np.meshgrid(xo, xo)
    for n in flow.LEVELS + (flow.REF_N,):
        faces = np.linspace(0.0, 1.0, n + 1)
        centres = np.concatenate([[0.0], (np.arange(n) + 0.5) / n, [1.0]])
        out = flow.to_output(f(*np.meshgrid(faces, centres)), g(*np.meshgrid(centres, faces)))
        np.testing.assert_allclose(out[0], f(Xo, Yo), atol=1e-13)
        np.testing.assert_allclose(out[1], g(Xo, Yo), atol=1e-13)
    w = 0.7
    u, v = -w * (Yo - 0.5) + 0.3 * Yo**2, w * (Xo - 0.5) + 0.2 * Xo**2
    np.testing.assert_allclose(flow.vorticity(u, v), 2 * w + 0.4 * Xo - 0.6 * Yo, atol=1e-11)


# ---------------------------------------------------------------- data sets and the example's case files
def test_train_times_span_the_declared_range():
    times = flow.train_times(np.random.default_rng(0), 50)
    assert times.shape == (50, flow.N_TIMES) and np.all(np.diff(times, axis=1) >= 0)
    np.testing.assert_array_equal(times[:, [0, -1]], np.broadcast_to([0.0, flow.T_END], (50, 2)))
    k = flow.N_TIMES - 2  # one draw in each equal sub-interval of (0, T_END)
    cells = np.floor(times[:, 1:-1] / flow.T_END * k)
    np.testing.assert_array_equal(cells, np.broadcast_to(np.arange(k), cells.shape))


def test_training_split_layout():
    """A flow training split: one row per (case, time), 2 channels, the case's own times as coords,
    inputs in float64 (what generate.build_split writes; the coarsest level keeps it fast)."""
    from dgmf_data import generate
    data = generate.build_split("flow", "train", [2], [5000], [0], log=lambda *_: None)
    n = 2 * flow.N_TIMES
    assert data["u"].shape == (n, 2, flow.OUT_N, flow.OUT_N) and data["u"].dtype == np.float32
    assert data["coords"].shape == (n, 1) and data["coords"].dtype == np.float64
    assert data["params"].dtype == np.float64 and np.all(data["level"] == 0)
    np.testing.assert_array_equal(data["case"], np.repeat([0, 1], flow.N_TIMES))
    times = data["coords"][:flow.N_TIMES, 0]
    assert times[0] == 0.0 and times[-1] == flow.T_END and not data["u"][0].any()
    # each row is the solver at that row's time
    U, V = flow.solve(data["params"][0], flow.LEVELS[0], times)
    np.testing.assert_allclose(data["u"][:flow.N_TIMES], flow.to_output(U, V), atol=1e-6)


def test_write_case_round_trip(tmp_path):
    params = np.array([50.0, 1.0, -0.5, 0.25, 0.0])
    flow.write_case(tmp_path, params, [16])
    field = np.fromfile(tmp_path / "mesh16.bin", dtype="<f4").reshape(flow.N_TIMES, 2, flow.OUT_N, flow.OUT_N)
    np.testing.assert_allclose(field, flow.to_output(*flow.solve(params, 16)), atol=1e-6)
    meta = dict(line.split(" ", 1) for line in (tmp_path / "mesh16.txt").read_text().splitlines())
    assert float(meta["seconds"]) > 0
    np.testing.assert_array_equal(np.array(meta["params"].split(), float), params)


def test_box_half_fraction_corners():
    """The flow box set's half fraction: 16 distinct corners, every combination of the first four
    parameters' extremes once, each extreme of the last one half of the time."""
    from dgmf_reports.evaluate import box_corners
    full = box_corners(flow.PARAM_LOW, flow.PARAM_HIGH)
    half = box_corners(flow.PARAM_LOW, flow.PARAM_HIGH, half=True)
    assert full.shape == (32, 5) and half.shape == (16, 5)
    assert len({tuple(r) for r in half[:, :4]}) == 16 and {tuple(r) for r in half} <= {tuple(r) for r in full}
    assert (half[:, 4] == flow.PARAM_HIGH[4]).sum() == 8
    for k in range(4):  # each pair (k, last) takes all four sign combinations
        assert len({(a, b) for a, b in half[:, [k, 4]]}) == 4
