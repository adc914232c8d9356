"""`dgmf-train evaluate` (dgmf_train.evaluate): the one table that answers "does it beat my solver?"."""
import json

import numpy as np
import pytest

from dgmf_train import dataset as D
from dgmf_train import evaluate as E
from dgmf_train.paths import REPO, find_cli
from dgmf_train.testsets import load_testset


def nested(tmp_path):
    """A dataset whose coarse level ran at the fine runs' parameters for 3 of the 4 fine cases."""
    rng = np.random.default_rng(0)
    fine_p = rng.random((4, 2))
    params = np.concatenate([fine_p[:3], rng.random((2, 2)), fine_p])
    u = rng.standard_normal((9, 1, 8))
    fid = np.array([0] * 5 + [1] * 4)
    m = D.Manifest(name="toy", description="", params=(D.Range("a", 0, 1), D.Range("b", 0, 1)),
                   fidelity=D.Fidelity("discrete", labels=("coarse", "fine")))
    ds = D.validate(m, dict(u=u, params=params, fidelity=fid))
    D.save(ds, tmp_path / "toy.json")
    D.write_cases(ds.rows(fid == 1), tmp_path / "test")
    return ds


def test_solver_levels_match_runs_at_the_held_out_parameters(tmp_path):
    ds = nested(tmp_path)
    t = {k: np.load(tmp_path / "test" / f"{k}.npy") for k in ("params", "fidelity", "u")}
    t["case"] = np.arange(4)
    found, target = E.solver_levels(tmp_path / "toy.json", t)
    assert target == "fine" and len(found) == 1
    level, label, fields, keep = found[0]
    assert (level, label) == (0, "coarse") and keep.tolist() == [True, True, True, False]
    np.testing.assert_allclose(fields[:3], ds.u[:3], rtol=1e-6)  # saved as float32
    r = E.row("solver", fields, t, None, keep=keep)
    assert r["cases"] == 3 and r["mean_rel_l2"] > 0


def test_the_target_level_is_a_row_when_a_finer_solve_is_the_reference(tmp_path):
    ds = nested(tmp_path)
    t = {k: np.load(tmp_path / "test" / f"{k}.npy") for k in ("params", "fidelity", "u")}
    t["case"] = np.arange(4)
    t["u"] = t["u"] * 1.01                      # a reference other than the target solver's own runs
    found, target = E.solver_levels(tmp_path / "toy.json", t)
    assert [label for _, label, _, _ in found] == ["coarse", "fine"]
    level, label, fields, keep = found[1]
    assert keep.all()
    r = E.row("solver", fields, t, None, keep=keep)
    np.testing.assert_allclose(r["mean_rel_l2"], 0.01 / 1.01, rtol=1e-4)


def test_baseline_inputs_are_the_documented_ones():
    feeds = E.baseline_feeds(3, dict(params=np.ones((2, 2)), fidelity=np.array([2, 2]), coords=np.zeros((2, 1))))
    assert feeds["fidelity"].tolist() == [[0, 0, 1], [0, 0, 1]] and feeds["params"].dtype == np.float32
    assert E.baseline_feeds(None, dict(params=np.ones((1, 2)), fidelity=np.array([0.5])))["fidelity"].shape == (1, 1)


def test_the_table_on_a_shipped_model_with_its_baseline(tmp_path, capsys):
    if find_cli() is None:
        pytest.skip("evaluate samples with the dgmf CLI (cargo build --release)")
    t = load_testset("burgers")
    keep = t["case"] < 2
    d = tmp_path / "cases"
    d.mkdir()
    for k in ("params", "fidelity", "u", "coords", "case"):
        np.save(d / f"{k}.npy", t[k][keep])
    out = tmp_path / "ev.json"
    rc = E.main([str(REPO / "models" / "burgers.onnx"), "--data", str(d), "--samples", "4", "--baseline",
                 str(REPO / "models" / "baselines" / "burgers_regression.onnx"), "--solver-seconds", "0.01",
                 "--json", str(out), "--png", str(tmp_path / "ev.png")])
    assert rc == 0 and (tmp_path / "ev.png").stat().st_size > 0
    rows = json.loads(out.read_text())["rows"]
    assert [r["method"] for r in rows] == ["DGMF ancestral 6, one sample", "DGMF ancestral 6, mean of 4",
                                           "regression baseline", "solver the target level (makes the reference)"]
    assert all(0 < r["mean_rel_l2"] < 0.1 for r in rows[:3]) and rows[1]["nfe"] == 24
    assert "coverage_2sigma" in rows[1] and rows[3]["ms_per_query"] == pytest.approx(10.0)
    assert "the 4-sample query costs" in capsys.readouterr().out
    with pytest.raises(SystemExit):
        E.main([str(REPO / "models" / "burgers.onnx"), "--data", str(d), "--solver-seconds", "1,2"])
    assert "2 values, but the model has 3 fidelity levels" in capsys.readouterr().err


def test_case_sets_a_split_writes_subset_by_id_and_name_their_fidelity():
    from dgmf_train.testsets import cases_fidelity_arg, subset
    # A split keeps the dataset's case ids: the first cases are the smallest ids, not ids below n.
    t = dict(case=np.array([7, 7, 3, 12]), fidelity=np.array([2, 2, 2, 2]), params=np.arange(4.0))
    assert subset(t, 2)["params"].tolist() == [0.0, 1.0, 2.0]
    assert cases_fidelity_arg(t, True) == "2" and cases_fidelity_arg(dict(fidelity=np.array([0.25])), False) == "0.25"
    with pytest.raises(ValueError, match="the cases of x are at 2 fidelities"):
        cases_fidelity_arg(dict(fidelity=np.array([1, 2])), True, "the cases of x")
