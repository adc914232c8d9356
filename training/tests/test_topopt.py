"""Checks of the L-bracket topology-optimization generator (dgmf_data.topopt).

Hand calculations for the FE core (exact uniaxial tension, a cantilever against Timoshenko's
beam formula, the element matrix against Gauss quadrature), mesh convergence of a fixed design's
compliance (a distributed load converges; the benchmark's point load grows like the Flamant
log), the load snapping and clamped nodes, and a small SIMP run.
"""
import numpy as np
import pytest

from dgmf_data import topopt

dof = topopt.dof


def uniform_traction(n, a):
    """Unit total force in direction a spread uniformly over the arm's end x = 1, y in [0, 0.5]
    (consistent nodal loads: h at interior nodes, h/2 at the two end nodes, normalised)."""
    iy = np.arange(n // 2 + 1)
    w = np.full(iy.size, 1.0)
    w[[0, -1]] = 0.5
    w /= w.sum()
    f = np.zeros(2 * (n + 1) ** 2)
    d = topopt.load_direction(a)
    f[dof(n, iy, n, 0)] = w * d[0]
    f[dof(n, iy, n, 1)] = w * d[1]
    return f


# ---------------------------------------------------------------- FE core vs hand calculations
def test_element_stiffness_matches_gauss_quadrature():
    """top88's closed-form KE = 2x2 Gauss integration of B' D B over the unit square."""
    nu = topopt.NU
    D = np.array([[1, nu, 0], [nu, 1, 0], [0, 0, (1 - nu) / 2]]) / (1 - nu**2)
    K = np.zeros((8, 8))
    for xi in (-1, 1):
        for eta in (-1, 1):
            s, t = (1 + xi / np.sqrt(3)) / 2, (1 + eta / np.sqrt(3)) / 2
            dNds = np.array([-(1 - t), 1 - t, t, -t])
            dNdt = np.array([-(1 - s), -s, s, 1 - s])
            B = np.zeros((3, 8))
            B[0, 0::2], B[1, 1::2] = dNds, dNdt
            B[2, 0::2], B[2, 1::2] = dNdt, dNds
            K += B.T @ D @ B / 4
    np.testing.assert_allclose(topopt.KE, K, atol=1e-15)
    # three rigid-body modes, nothing else in the null space
    assert np.sum(np.linalg.eigvalsh(topopt.KE) < 1e-12) == 3


def test_uniaxial_tension_is_exact():
    """Unit square, E = 1, rollers on x = 0 (ux = 0) and uy = 0 at the origin, unit traction on
    x = 1: sigma_xx = 1, u = (x, -nu y) (bilinear elements hold it exactly), so
    c = F^2 L / (E A) = 1."""
    n = 8
    i = np.arange(n + 1)
    fixed = np.concatenate([dof(0, i, n, 0), [dof(0, 0, n, 1)]])
    f = np.zeros(2 * (n + 1) ** 2)
    w = np.full(n + 1, 1.0 / n)
    w[[0, -1]] /= 2
    f[dof(n, i, n, 0)] = w
    u = topopt.fe_solve(topopt.modulus(np.ones((n, n))), f, fixed)
    iy, ix = np.divmod(np.arange((n + 1) ** 2), n + 1)
    np.testing.assert_allclose(u[0::2], ix / n, atol=1e-12)
    np.testing.assert_allclose(u[1::2], -topopt.NU * iy / n, atol=1e-12)
    assert f @ u == pytest.approx(1.0, abs=1e-12)


def test_cantilever_matches_timoshenko_beam():
    """Cantilever of length 8, depth 1, E = 1, nu = 0.3, clamped at x = 0, unit shear load
    spread uniformly over the free end: Timoshenko's tip deflection
        delta = P L^3 / (3 E I) + P L / (kappa G A),  I = 1/12, A = 1, kappa = 5/6,
    = 2048 + 24.96 = 2072.96; the compliance is P times the mean end deflection.  Q4 elements
    are stiff in bending (parasitic shear): measured -3.3 %, -1.0 %, -0.44 % at 4, 8, 16
    elements through the depth."""
    length, depth, G = 8.0, 1.0, 1.0 / (2 * (1 + topopt.NU))
    delta = length**3 / (3 * depth**3 / 12) + length / (5 / 6 * G * depth)
    errors = []
    for m in (4, 8, 16):
        nelx, h = 8 * m, depth / m
        iy = np.arange(m + 1)
        fixed = np.concatenate([dof(0, iy, nelx, 0), dof(0, iy, nelx, 1)])
        f = np.zeros(2 * (nelx + 1) * (m + 1))
        w = np.full(m + 1, h)
        w[[0, -1]] /= 2
        f[dof(nelx, iy, nelx, 1)] = -w / depth
        u = topopt.fe_solve(topopt.modulus(np.ones((m, nelx))), f, fixed)
        errors.append(f @ u / delta - 1)
    print(f"\ncantilever vs Timoshenko (m = 4, 8, 16 through the depth): {np.round(errors, 4)}")
    assert errors[0] < errors[1] < errors[2] < 0  # stiffer than the beam, converging from below
    assert abs(errors[1]) < 0.02 and abs(errors[2]) < 0.01


# ---------------------------------------------------------------- mesh convergence
def test_compliance_mesh_convergence_distributed_load():
    """The uniform start design with the unit load spread over the arm's end: compliance
    converges; successive differences shrink at least like h (the re-entrant corner limits the
    energy error to ~h^1.09 asymptotically; measured orders 1.2 - 1.7)."""
    for a in (0.0, 0.5, 1.0):
        c = []
        for n in (16, 32, 64):
            f = uniform_traction(n, a)
            u = topopt.fe_solve(topopt.modulus(topopt.uniform_design(n)), f, topopt.clamped_dofs(n))
            c.append(f @ u)
        d = np.diff(c)
        order = np.log2(d[0] / d[1])
        print(f"\na = {a}: compliance {np.round(c, 4)}, differences {np.round(d, 4)}, "
              f"order {order:.2f}")
        assert np.all(d > 0) and order > 1.0  # refining softens: Q4 converges from the stiff side


def test_point_load_compliance_grows_like_flamant_log():
    """The benchmark's point load on a straight edge has no mesh-converged compliance: the
    displacement under a point force grows like (2 / (pi E)) ln(1/h) (Flamant, plane stress),
    so each halving of h adds 2 ln 2 / (pi E) (0.441 / E) for a unit force of any direction.
    Checked on the uniform start design at p = 0.5 (y = 0.25), a = 1 (normal pull): the
    increments fall towards the Flamant value and the n = 64 -> 128 one is within 5 %."""
    n_list = (16, 32, 64, 128)
    E = topopt.modulus(topopt.VOLFRAC / 0.75)
    c = [topopt.compliance(topopt.uniform_design(n), 0.5, 1.0, n) for n in n_list]
    d = np.diff(c) * E
    flamant = 2 * np.log(2) / np.pi
    print(f"\npoint load increments x E: {np.round(d, 4)}  (Flamant {flamant:.4f})")
    assert np.all(np.diff(d) < 0) and np.all(d > flamant)
    assert d[-1] == pytest.approx(flamant, rel=0.05)


# ---------------------------------------------------------------- the benchmark's geometry
def test_load_snapping_clamped_nodes_and_void():
    for n in topopt.LEVELS:
        assert topopt.load_node(0.0, n) == (n, n // 2)  # the arm's upper tip corner (1, 0.5)
        assert topopt.load_node(1.0, n) == (n, 0)       # the bottom corner (1, 0)
        ix, iy = topopt.clamped_nodes(n)
        np.testing.assert_array_equal(ix, np.arange(n // 2 + 1))  # x = 0 ... 0.5 inclusive
        np.testing.assert_array_equal(iy, n)                       # y = 1
        assert topopt.clamped_dofs(n).size == 2 * (n // 2 + 1)
        void = topopt.void_mask(n)
        assert void.sum() == n * n // 4 and void[-1, -1] and not void[n // 2 - 1, -1]
        assert not void[-1, n // 2 - 1]
    # y = 0.5 - 0.5 p = 0.35 on n = 16: 5.6 -> node 6 (y = 0.375); n = 64: 22.4 -> 22
    assert topopt.load_node(0.3, 16) == (16, 6) and topopt.load_node(0.3, 64) == (64, 22)
    # a tie (n y = 4.5 exactly, p = 0.4375 on n = 16) goes up, towards y = 0.5
    assert topopt.load_node(0.4375, 16) == (16, 5)
    f = topopt.load_vector(0.3, 1 / 3, 16)  # theta = 30 degrees
    np.testing.assert_allclose(f[[dof(16, 6, 16, 0), dof(16, 6, 16, 1)]], [0.5, -np.sqrt(3) / 2])
    assert np.count_nonzero(f) == 2
    np.testing.assert_allclose(topopt.load_direction(0.0), [0, -1], atol=1e-15)
    np.testing.assert_allclose(topopt.load_direction(1.0), [1, 0], atol=1e-15)
    # clamped nodes do not move, the loaded node does, along the force (positive work)
    u = topopt.fe_solve(topopt.modulus(topopt.uniform_design(16)), f, topopt.clamped_dofs(16))
    assert np.all(u[topopt.clamped_dofs(16)] == 0) and f @ u > 0


def test_filter_is_restricted_to_the_l():
    n = 16
    H, Hs = topopt.sensitivity_filter(n)
    assert H.shape == (3 * n * n // 4,) * 2
    assert (H != H.T).nnz == 0
    # interior element: itself 1.5, 4 edge neighbours 0.5, 4 diagonal 1.5 - sqrt 2
    assert Hs.max() == pytest.approx(1.5 + 4 * 0.5 + 4 * (1.5 - np.sqrt(2)))


# ---------------------------------------------------------------- SIMP
def test_simp_small_run_meets_the_rules():
    n, p, a = 16, 0.5, 0.5
    history = []
    x, c, iterations = topopt.solve(p, a, n, history=history)
    assert x.shape == (n, n) and len(history) == iterations
    assert iterations < topopt.MAX_ITER and history[-1][1] <= topopt.TOL  # stopped by the rule
    assert all(ch > topopt.TOL for _, ch in history[:-1])
    assert abs(x.mean() - topopt.VOLFRAC) < 1e-3
    assert np.all(x[topopt.void_mask(n)] == 0.0)  # passive void at the minimum density
    assert x.min() >= 0.0 and x.max() <= 1.0 and x.max() == 1.0
    # the returned compliance is the returned design's, and SIMP improved on its start
    assert c == pytest.approx(topopt.compliance(x, p, a, n), rel=1e-12)
    c0 = topopt.compliance(topopt.uniform_design(n), p, a, n)
    assert c < 0.4 * c0 and history[0][0] == pytest.approx(c0, rel=1e-12)
    # a restart from the optimum stops almost at once
    assert topopt.solve(p, a, n, x0=x)[2] <= 3


def test_to_output_is_piecewise_constant():
    n = 16
    x = topopt.uniform_design(n)
    x[0, 0] = 0.9
    out = topopt.to_output(x)
    assert out.shape == (topopt.OUT_N, topopt.OUT_N)
    assert out.mean() == pytest.approx(x.mean(), rel=1e-15)
    np.testing.assert_array_equal(out[:4, :4], 0.9)
    np.testing.assert_array_equal(out[topopt.void_mask(topopt.OUT_N)], 0.0)
    np.testing.assert_array_equal(topopt.to_output(out), out)
    with pytest.raises(ValueError):
        topopt.to_output(np.zeros((24, 24)))


def test_generated_dataset_is_valid_with_its_void(tmp_path):
    # dgmf_data.generate writes the benchmark in the dataset format; loading it checks every row's
    # void quadrant against the known values (density 0) and the declared ranges.
    from dgmf_data import generate
    from dgmf_train import dataset
    generate.generate(tmp_path, names=("topopt",), train_counts={"topopt": (2, 1, 1)}, n_test=1,
                      n_calib=1, log=lambda *_: None)
    ds = dataset.load(tmp_path / "topopt_train.json")
    assert ds.u.shape == (4, 1, 64, 64) and list(ds.fidelity) == [0, 0, 1, 2]
    assert ds.known[0].sum() == 32 * 32 and np.all((ds.u >= 0) & (ds.u <= 1))
    np.testing.assert_allclose(ds.u.reshape(4, -1).mean(axis=1), topopt.VOLFRAC, atol=1e-6)
    test = np.load(tmp_path / "topopt_test.npz")
    assert test["u"].shape == (1, 1, 64, 64) and test["level"][0] == 2


def test_project_volume():
    n = 16
    rng = np.random.default_rng(3)
    raw = rng.uniform(-0.5, 1.5, (n, n))
    raw[0, 0] = np.nan
    x = topopt.project_volume(raw)
    assert np.all((x >= 0) & (x <= 1)) and np.all(x[topopt.void_mask(n)] == 0) and x[0, 0] >= 0
    assert abs(x.sum() - topopt.VOLFRAC * n * n) < 1e-9
    # an admissible design is a fixed point; a shifted one comes back
    u = topopt.uniform_design(n)
    np.testing.assert_allclose(topopt.project_volume(u), u, atol=1e-12)
    np.testing.assert_allclose(topopt.project_volume(u + 0.1), u, atol=1e-12)


def test_compliance_gap():
    n = topopt.LEVELS[-1]
    ref = topopt.uniform_design(n)
    assert abs(topopt.compliance_gap(ref, ref, 0.5, 0.5)) < 1e-9  # the projection moves it by ~1e-15
    # the uniform design, shifted: projection brings it back, so the gap stays 0
    assert abs(topopt.compliance_gap(ref + 0.2, ref, 0.5, 0.5)) < 1e-9
