"""dgmf-train compare: the designs a budget buys, the GP arms on a problem they must solve, and the errors
a user meets (a bad manifest, a level with no rows, a budget below one run)."""
import json

import numpy as np
import pytest
from conftest import require

from dgmf_train import compare, dataset, main
from dgmf_train.dataset import Dataset, Fidelity, Manifest, Range

X = np.linspace(0, 1, 16)


def toy(n_per_level=(40, 30), seed=0):
    """u(x; a, b) = a sin(pi x) + b x^2 on 16 nodes; level 0 is a biased, damped copy (a cheap solver)."""
    rng = np.random.default_rng(seed)
    rows, fid = [], []
    for level, n in enumerate(n_per_level):
        for _ in range(n):
            a, b = rng.uniform(0.5, 1.5), rng.uniform(-1, 1)
            u = a * np.sin(np.pi * X) + b * X ** 2
            if level == 0:
                u = 0.9 * u + 0.05 * np.cos(3 * X)
            rows.append(((a, b), u))
            fid.append(level)
    m = Manifest(name="toy", description="", params=(Range("a", 0.5, 1.5), Range("b", -1, 1)),
                 fidelity=Fidelity(kind="discrete", labels=("coarse", "fine")))
    params = np.array([p for p, _ in rows])
    u = np.array([v for _, v in rows])[:, None, :]
    return Dataset(manifest=m, u=u, params=params, fidelity=np.array(fid, np.float64))


def test_budget_designs_cost_at_most_the_budget():
    train = toy()
    cost = [0.1, 1.0]
    fine, runs, spent = compare.design(train, "fine", cost, budget=7.5)
    assert runs == [0, 7] and spent == 7.0 and len(fine) == 7
    assert (fine.fidelity == 0).all() and fine.manifest.fidelity.labels == ("fine",)
    ladder, runs, spent = compare.design(train, "ladder", cost, budget=20.0)
    assert spent <= 20.0 and runs[1] >= 1 and runs[0] > 0
    assert np.isclose(runs[0] / 40, runs[1] / 30, atol=0.1)  # each level keeps about the same share
    with pytest.raises(dataset.DatasetError, match="below one run at the target fidelity"):
        compare.design(train, "fine", cost, budget=0.5)


def test_gp_arms_learn_a_smooth_family():
    require("smt")
    from dgmf_train.gp import GpArm
    train, test = toy(), toy((0, 12), seed=1)
    for multi in (False, True):
        arm = GpArm(multi).fit(compare.design(train, "ladder" if multi else "fine")[0])
        mean, std = arm.predict(test)
        err = np.linalg.norm((mean - test.u).reshape(len(test), -1), axis=1) / np.linalg.norm(
            test.u.reshape(len(test), -1), axis=1)
        assert err.max() < 0.01, (arm.name, err.max())
        assert std.shape == test.u.shape and (std >= 0).all()


def test_compare_writes_its_table(tmp_path, capsys):
    require("smt")
    require("matplotlib")
    manifest = dataset.save(toy(), tmp_path / "toy.json")
    rc = main.main(["compare", str(manifest), "--out", str(tmp_path / "out"), "--cost", "0.1,1",
                    "--budget", "15"])
    assert rc == 0
    doc = json.loads((tmp_path / "out/compare.json").read_text())
    assert [(r["arm"], r["design"]) for r in doc["rows"]] == [("gp", "fine"), ("mf-gp", "ladder")]
    assert all(r["cost_s"] <= 15 for r in doc["rows"])
    assert all(0 <= r["coverage_2sigma"] <= 1 and r["mean_rel_l2"] < 0.05 for r in doc["rows"])
    assert (tmp_path / "out/compare.png").stat().st_size > 1000
    assert "mf-gp" in capsys.readouterr().out


@pytest.mark.parametrize("args, message", [
    (["--cost", "0.1"], "--cost needs 2 positive numbers"),
    (["--cost", "0.1,1", "--budget", "0.5"], "below one run at the target fidelity"),
])
def test_compare_refuses_bad_costs(tmp_path, capsys, args, message):
    require("smt")
    manifest = dataset.save(toy(), tmp_path / "toy.json")
    assert main.main(["compare", str(manifest), "--out", str(tmp_path / "out")] + args) == 1
    assert message in capsys.readouterr().err


def test_compare_refuses_a_bad_manifest_and_an_empty_level(tmp_path, capsys):
    require("smt")
    (tmp_path / "bad.json").write_text("{not json")
    assert main.main(["compare", str(tmp_path / "bad.json"), "--out", str(tmp_path / "o")]) == 1
    assert "bad.json" in capsys.readouterr().err
    empty = toy((0, 30))  # level 0 declared, no rows at it
    dataset.save(empty, tmp_path / "empty.json")
    assert main.main(["compare", str(tmp_path / "empty.json"), "--out", str(tmp_path / "o")]) == 1
    assert "have no rows" in capsys.readouterr().err


def test_compare_budget_needs_costs(tmp_path):
    with pytest.raises(SystemExit):
        compare.parse(["m.json", "--out", str(tmp_path), "--budget", "3"], "dgmf-train compare")


def test_equal_error_ratio_interpolates_the_fine_only_curve():
    from dgmf_reports.multifidelity_report import equal_error_ratio
    rows = [dict(arm="dgmf", design="fine", budget_s=b, mean_rel_l2=e) for b, e in ((1, 0.1), (4, 0.01))]
    rows += [dict(arm="dgmf", design="ladder", budget_s=1, mean_rel_l2=0.01 ** 0.5 * 0.1 ** 0.5),
             dict(arm="dgmf", design="ladder", budget_s=2, mean_rel_l2=0.001),
             dict(arm="dgmf", design="ladder", budget_s=8, mean_rel_l2=0.2)]
    (b1, _, q1, k1), (b2, _, q2, k2), (b3, _, q3, k3) = equal_error_ratio(rows, "dgmf")
    assert b1 == 1 and abs(q1 - 2.0) < 1e-9 and k1 is None  # the geometric mid-error at the mid-cost, 2 s
    assert k2 == ">" and q2 == 2.0  # below anything fine-only reached: more than its dearest 4 s over 2 s
    assert k3 == "<=" and q3 == 1 / 8  # worse than every fine-only row: its cheapest, 1 s, already does it


def test_solver_floor_is_the_finest_solver_against_the_reference():
    from dgmf_reports.multifidelity_report import solver_floor
    floor = solver_floor("poisson", 64)
    assert 1e-4 < floor < 1e-2  # the 32-node solver against the converged reference: small, not zero


def test_study_ladder_design_draws_exactly_its_runs():
    from dgmf_reports.multifidelity import design_at
    ds, runs, cost = design_at(toy(), "ladder", (7, 3), [0.1, 1.0], budget=3.7)
    assert runs == [7, 3] and np.bincount(ds.fidelity.astype(int)).tolist() == [7, 3] and abs(cost - 3.7) < 1e-12


def test_fno_arm_learns_a_smooth_family():
    require("neuralop")
    from dgmf_reports.fno import FnoArm
    train, test = compare.design(toy(), "fine")[0], toy((0, 8), seed=2)
    arm = FnoArm(minutes=0.1).fit(train)
    mean, _ = arm.predict(test)
    err = np.linalg.norm((mean - test.u).reshape(8, -1), axis=1) / np.linalg.norm(test.u.reshape(8, -1), axis=1)
    assert arm.steps > 50 and mean.shape == test.u.shape
    assert err.mean() < 0.2, err.mean()  # the training mean is 48 % off on these cases


def test_fine_design_keeps_the_target_levels_known_values(tmp_path):
    from dataclasses import replace
    mask = np.zeros((1, 16), bool)
    mask[0, 0] = True  # u(0) = 0 at both levels: a known value with an all-zero map
    ds = replace(toy(), known=(mask, np.zeros((2, 2, 1, 16))))
    fine = compare.design(ds, "fine")[0]
    assert fine.known[1].shape == (1, 2, 1, 16)
    assert len(dataset.load(dataset.save(fine, tmp_path / "fine.json"))) == 30


def test_gp_rows_are_capped_per_level(monkeypatch):
    require("smt")
    from dgmf_train import gp
    monkeypatch.setattr(gp, "MAX_ROWS", 12)
    arm = gp.GpArm(True).fit(toy())
    assert arm.rows_used == 24 and "fitted on 24 rows (at most 12 per level)" in arm.describe()
    assert gp.GpArm(False).fit(compare.design(toy(), "fine")[0]).rows_used == 12
    # The study's --gp-rows: a per-arm cap in place of the module's.
    assert gp.GpArm(True, max_rows=5).fit(toy()).rows_used == 10
    # The regularised variant (a noise variance per level, the study's `noise` sensitivity row) says so.
    noisy = gp.GpArm(True, max_rows=5, noise=True).fit(toy())
    assert "eval_noise" in noisy.describe() and noisy.models[0].options["eval_noise"]


def test_the_engine_commands_find_the_cli_or_say_how(monkeypatch, tmp_path, capsys):
    """An installed package has no target/release beside it: the commands look on $DGMF_CLI and PATH."""
    from dgmf_train import engine, paths
    monkeypatch.delenv("DGMF_CLI", raising=False)
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setattr(paths, "CLI", tmp_path / "missing")
    with pytest.raises(FileNotFoundError, match="DGMF_CLI"):
        engine.calibrate_command("m.onnx", "d")
    fake = tmp_path / "dgmf"
    fake.write_text("#!/bin/sh\n")
    fake.chmod(0o755)
    assert engine.calibrate_command("m.onnx", "d")[0] == str(fake)
    manifest = dataset.save(toy(), tmp_path / "toy.json")
    fake.unlink()
    if require("torch"):
        assert main.main(["compare", str(manifest), "--out", str(tmp_path / "o"), "--networks"]) == 1
        assert "the dgmf CLI was not found" in capsys.readouterr().err


def test_network_training_resumes_from_its_latest_snapshot(tmp_path):
    """An interrupted network row continues from its snapshot (steps carry on) and tidies the snapshots."""
    require("torch")
    import torch
    from dgmf_train import train as fit
    ds = compare.design(toy(), "fine")[0]
    stem = tmp_path / "reg"
    dataset.save(ds, stem.with_suffix(".json"))
    # An interrupted run: a snapshot at 0.005 min and no finished checkpoint.
    fit.main([str(stem.with_suffix(".json")), "--out", str(stem.with_suffix(".pt")), "--minutes", "0.01",
              "--snapshot-minutes", "0.005", "--baseline", "--threads", "1", "--log-every", "1000000"])
    stem.with_suffix(".pt").unlink()
    snaps = fit.snapshots(stem.with_suffix(".pt"))
    assert snaps, "the interrupted run left no snapshot"
    before = torch.load(snaps[-1], weights_only=False)["steps"]
    compare.train_network(ds, "regression", stem, minutes=0.02, threads=1)
    after = torch.load(stem.with_suffix(".pt"), weights_only=False)
    assert after["args"]["resume"] == str(snaps[-1]) and after["steps"] > before
    assert fit.snapshots(stem.with_suffix(".pt")) == [] and stem.with_suffix(".onnx").exists()
