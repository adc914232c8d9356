"""The uncertainty studies' rules (bench/fallback_policy.py, bench/local_calibration.py): the fallback
threshold keeps its promised miss rate, and the local scale finds a scale that varies with the parameters
and keeps ±2σ coverage."""
import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
import fallback_policy  # noqa: E402
import local_calibration  # noqa: E402


def test_controlled_trusts_all_cases_only_with_enough_of_them():
    std = np.linspace(0.1, 1.0, 64)
    # 64 cases, none worse than the tolerance: the bound 1 - 0.1^(1/64) = 3.5 % is under 10 %
    assert fallback_policy.controlled(std, np.zeros(64), 0.05, 0.1, 0.1) == pytest.approx(1.0)
    # 8 cases: even 0 misses bound the rate only by 25 %
    assert fallback_policy.controlled(std[:8], np.zeros(8), 0.05, 0.1, 0.1) == 0.0


def test_controlled_stops_before_the_misses():
    std = np.linspace(0.01, 1.0, 100)
    err = np.where(std > 0.5, 1.0, 0.0)  # every case above std 0.5 misses
    t = fallback_policy.controlled(std, err, 0.05, 0.1, 0.1)
    assert 0.5 <= t < 0.6  # a few misses fit in 10 %, not many


def test_controlled_keeps_its_promise_over_calibration_draws():
    # std ~ U(0, 1), a case misses with probability std: the miss rate at T is T^2 / 2.
    rng = np.random.default_rng(0)
    alpha, delta, broken, trials = 0.1, 0.1, 0, 1000
    for _ in range(trials):
        std = rng.uniform(size=64)
        err = (rng.uniform(size=64) < std).astype(float)
        t = fallback_policy.controlled(std, err, 0.5, alpha, delta)
        broken += t * t / 2 > alpha
    assert broken / trials <= delta + 0.03


def synthetic(rng, n):
    """Cases whose error scale grows tenfold along the first parameter; the std does not know it."""
    x = rng.uniform(size=(n, 2))
    scale = np.exp(np.log(10) * x[:, 0])
    std = np.full((n, 50), 0.1)
    err = std * scale[:, None] * rng.standard_normal((n, 50))
    return x, err, std


def rms(a):
    return np.sqrt((a ** 2).mean(1))


def fit(x, err, std, size=None):
    case = np.repeat(np.arange(len(x)), std.shape[1])
    size = np.ones(len(x)) if size is None else size
    return local_calibration.fit(x, rms(err), rms(std), size, np.abs(err).ravel(), std.ravel(), case)


def apply(local, factor, x, std, size=None):
    size = np.ones(len(x)) if size is None else size
    return std * factor * np.exp(local.log_scale(x, np.log(rms(std)), np.log(size)))[:, None]


def test_local_scale_follows_the_parameters_and_keeps_coverage():
    rng = np.random.default_rng(1)
    local, factor = fit(*synthetic(rng, 64))
    assert local.choice != ("neighbours", 64)  # it found structure
    x, err, std = synthetic(rng, 256)
    scaled = apply(local, factor, x, std)
    assert 0.93 <= np.mean(np.abs(err) <= 2 * scaled) <= 0.98
    from scipy.stats import spearmanr
    assert spearmanr(scaled[:, 0], np.sqrt((err ** 2).mean(1))).statistic > 0.8


def test_local_scale_without_structure_is_one_scale():
    rng = np.random.default_rng(2)
    x = rng.uniform(size=(64, 3))
    std = np.full((64, 50), 0.1)
    err = 0.3 * rng.standard_normal((64, 50))
    local, factor = fit(x, err, std)
    g = np.log(rms(apply(local, factor, rng.uniform(size=(100, 3)), np.full((100, 50), 0.1))) / 0.1)
    assert np.ptp(g) < 0.3  # nearly flat: 0.1 std against 0.3 errors, a scale near 3 everywhere
    assert 2.5 < np.exp(g.mean()) < 3.6


def test_local_scale_learns_a_dependence_on_the_prediction_size():
    # Errors scale with 1 / size, which the std ignores: the ridge on [log std, log size] finds it.
    rng = np.random.default_rng(3)

    def cases(n):
        x = rng.uniform(size=(n, 2))
        size = np.exp(rng.uniform(-1, 1, n))
        std = np.full((n, 50), 0.1)
        return x, 0.1 / size[:, None] * rng.standard_normal((n, 50)), std, size

    x, err, std, size = cases(64)
    local, factor = fit(x, err, std, size)
    assert local.choice[0] == "ridge"
    x, err, std, size = cases(256)
    from scipy.stats import spearmanr
    assert spearmanr(rms(apply(local, factor, x, std, size)), rms(err)).statistic > 0.9


def test_risk_coverage_answers_the_most_confident_cases():
    import ensemble_uncertainty as eu
    err = np.array([0.5, 0.1, 0.4, 0.2, 0.3])
    rank = np.array([5.0, 1.0, 4.0, 2.0, 3.0])  # a perfect ranking
    rows = {round(q, 1): (m, w) for q, m, w in eu.risk_coverage(rank, err)}
    assert rows[0.2] == (pytest.approx(0.1), pytest.approx(0.1))  # ceil(0.2 * 5) = 1 case
    assert rows[0.6] == (pytest.approx(0.2), pytest.approx(0.3))
    assert rows[1.0] == (pytest.approx(0.3), pytest.approx(0.5))
    assert eu.risk_coverage(rank, err) == eu.risk_coverage(err, err)


def test_scores_on_cases_of_several_rows():
    import ensemble_uncertainty as eu
    rng = np.random.default_rng(4)
    # 6 cases of 3 rows each (a coordinate model), errors growing with the case's std
    case = np.repeat(np.arange(6), 3)
    u = rng.uniform(1, 2, size=(18, 1, 8))
    std = np.repeat(np.linspace(0.01, 0.06, 6), 3)[:, None, None] * np.ones((18, 1, 8))
    mean = u + std * 1.5
    s = eu.scores(mean, std, dict(u=u, case=case, params=np.zeros((18, 1))))
    assert s["coverage_2"] == 1.0 and s["coverage_1"] == 0.0
    assert s["spread_skill"] == pytest.approx(1 / 1.5)
    assert s["spearman_abs"] == pytest.approx(1.0)
    assert s["risk_coverage"][0][2] == pytest.approx(s["oracle"][0][2])
