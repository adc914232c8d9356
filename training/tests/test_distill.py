"""dgmf-train distill: the energy score it minimises, a shipped teacher read back from ONNX, and a tiny
distillation end to end (teacher trained here, student sampled by libdgmf with one evaluation)."""
import numpy as np
import pytest
from conftest import require

from dgmf_train import dataset
from test_compare import toy


def test_energy_score_prefers_the_target_distribution():
    require("torch")
    import torch
    from dgmf_train.distill import energy_score
    gen = torch.Generator().manual_seed(0)
    y = 1.0 + 0.3 * torch.randn(64, 16, 8, generator=gen)
    right = 1.0 + 0.3 * torch.randn(64, 16, 8, generator=gen)
    collapsed = torch.ones(64, 16, 8) + 1e-3 * torch.randn(64, 16, 8, generator=gen)
    wide = 1.0 + 0.9 * torch.randn(64, 16, 8, generator=gen)
    shifted = 1.3 + 0.3 * torch.randn(64, 16, 8, generator=gen)
    es = {k: float(energy_score(g, y)) for k, g in
          dict(right=right, collapsed=collapsed, wide=wide, shifted=shifted).items()}
    assert es["right"] < min(es["collapsed"], es["wide"], es["shifted"]), es


def test_a_shipped_teacher_reads_back_exactly_and_others_are_refused(tmp_path):
    require("torch")
    from dgmf_train.contract import ContractError
    from dgmf_train.paths import REPO
    from dgmf_train.teacher import checkpoint_from_onnx
    ck = checkpoint_from_onnx(REPO / "models" / "burgers.onnx")  # checked against the file inside
    assert ck["shape"] == (1, 64) and ck["arch"]["channels"] == [16, 32, 64]
    with pytest.raises(ContractError, match="only the built-in benchmarks"):
        checkpoint_from_onnx(REPO / "tests" / "models" / "analytic_score.onnx")


def test_distill_refuses_bad_settings(tmp_path):
    require("torch")
    from dgmf_train import distill
    with pytest.raises(SystemExit):
        distill.parse(["t.pt", "--out", str(tmp_path / "s.pt"), "--student-samples", "1"])
    with pytest.raises(SystemExit):
        distill.parse(["t.pt", "--out", str(tmp_path / "s.pt"), "--conditions", "0"])


def test_tiny_student_samples_the_teachers_answer_in_one_evaluation(tmp_path):
    """A tiny teacher on the toy family; its one-step student's 16-sample mean (libdgmf, consistency
    steps=1) lands near the teacher's many-step mean (ancestral, 30 levels) on new conditions."""
    require("torch")
    from dgmf_train import distill, engine, export, train
    from dgmf_train.contract import read_metadata
    ds = toy((40, 40))
    dataset.save(ds, tmp_path / "toy.json")
    teacher = tmp_path / "teacher.pt"
    train.main([str(tmp_path / "toy.json"), "--out", str(teacher), "--minutes", "0.3", "--threads", "1",
                "--channels", "8,8,8", "--emb", "16", "--log-every", "100000"])
    student = tmp_path / "student.pt"
    distill.main([str(teacher), "--out", str(student), "--minutes", "0.3", "--conditions", "64",
                  "--teacher-samples", "4", "--student-samples", "4", "--steps", "1", "--threads", "1",
                  "--log-every", "100000"])
    export.main([str(teacher), str(tmp_path / "teacher.onnx")])
    export.main([str(student), str(tmp_path / "student.onnx")])
    assert read_metadata(tmp_path / "student.onnx").raw["dgmf.sampler"].startswith("consistency steps=1")
    rng = np.random.default_rng(5)
    params = np.column_stack([rng.uniform(0.5, 1.5, 8), rng.uniform(-1, 1, 8)])
    ref, _, _ = engine.predict(tmp_path / "teacher.onnx", params, 1, sampler="ancestral", steps=30,
                               samples=16)
    fast, std, report = engine.predict(tmp_path / "student.onnx", params, 1, samples=16, std=True)
    rel = np.linalg.norm((fast - ref).reshape(8, -1), axis=1) / np.linalg.norm(ref.reshape(8, -1), axis=1)
    assert report["sampler"] == "consistency" and report["nfe"] == 1
    assert rel.mean() < 0.2, rel  # measured 0.115 (the teacher's own one-step answer: 0.131)
    assert np.isfinite(std).all() and std.mean() > 0


def test_distill_resumes_from_a_snapshot(tmp_path):
    """An interrupted distillation continues (steps, time and log carry on) from its snapshot."""
    require("torch")
    import torch
    from dgmf_train import distill, train
    dataset.save(toy((20, 20)), tmp_path / "toy.json")
    teacher = tmp_path / "teacher.pt"
    train.main([str(tmp_path / "toy.json"), "--out", str(teacher), "--steps", "3", "--threads", "1",
                "--channels", "4,4,4", "--emb", "8"])
    common = [str(teacher), "--conditions", "8", "--teacher-samples", "2", "--student-samples", "2",
              "--batch", "2", "--threads", "1", "--log-every", "1"]
    first = tmp_path / "s1.pt"
    distill.main(common + ["--out", str(first), "--max-steps", "3"])
    second = tmp_path / "s2.pt"
    distill.main(common + ["--out", str(second), "--max-steps", "5", "--resume", str(first)])
    a, b = (torch.load(p, weights_only=False) for p in (first, second))
    assert (a["steps"], b["steps"]) == (3, 5) and b["seconds"] > a["seconds"]
    assert [r[0] for r in b["log"]] == [1, 2, 3, 4, 5]
    assert b["sampler"].startswith("consistency steps=2") and b["distill"]["method"] == "energy score"


def test_conditions_cover_the_declared_box_and_its_corners():
    from dgmf_train import benchmarks
    from dgmf_train.distill import draw_conditions
    m = benchmarks.manifest("burgers")
    params, fid, coords = draw_conditions(m, 4000, np.random.default_rng(0))
    for x, ranges in ((params, m.params), (coords, m.coords)):
        lo, hi = np.array([r.min for r in ranges]), np.array([r.max for r in ranges])
        assert (x >= lo).all() and (x <= hi).all()
        at_end = ((x == lo) | (x == hi)).all(axis=1).mean()
        assert 0.02 < at_end < 0.25  # corners are drawn (1/4 of the rows, each end with probability 1/2)
    assert 0.45 < (fid == m.fidelity.target_value()).mean() < 0.85 and set(np.unique(fid)) == {0.0, 1.0, 2.0}
