"""`dgmf-train ensemble` (dgmf_train.ensemble): K models of one contract as one deep-ensemble file."""
import filecmp

import numpy as np
import onnx
import onnxruntime as ort
import pytest

from dgmf_train import main as M
from dgmf_train.contract import ContractError, read_metadata
from dgmf_train.ensemble import compose
from dgmf_train.paths import REPO

MODELS = REPO / "tests" / "models"
MEMBERS = [MODELS / f for f in ("analytic_score.onnx", "analytic_member1.onnx", "analytic_member2.onnx")]


def test_each_member_runs_behind_the_member_input(tmp_path):
    out = tmp_path / "e.onnx"
    assert M.main(["ensemble", *map(str, MEMBERS), "--out", str(out), "--name", "e"]) == 0
    meta = read_metadata(out).raw
    assert meta["dgmf.members"] == "3" and meta["dgmf.name"] == "e"
    assert "dgmf.sampler" not in meta and "dgmf.std_scale" not in meta
    ens = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"])
    rng = np.random.default_rng(1)
    feeds = dict(z=rng.standard_normal((5, 2, 3, 4)).astype(np.float32), sigma=np.full(5, 0.3, np.float32),
                 params=rng.uniform(0, 1, (5, 2)).astype(np.float32),
                 fidelity=np.eye(3, dtype=np.float32)[[0, 1, 2, 1, 0]])
    outs = []
    for k, p in enumerate(MEMBERS):
        want = ort.InferenceSession(str(p), providers=["CPUExecutionProvider"]).run(None, feeds)[0]
        got = ens.run(None, dict(feeds, member=np.array(k, np.int64)))[0]
        np.testing.assert_array_equal(got, want)
        outs.append(got)
    assert not np.array_equal(outs[0], outs[1])      # the members differ
    # The committed test model is what the composer makes.
    compose(MEMBERS, tmp_path / "again.onnx", name="analytic_ensemble")
    assert filecmp.cmp(tmp_path / "again.onnx", MODELS / "analytic_ensemble.onnx", shallow=False)


@pytest.mark.parametrize("other, why", [
    ("analytic_x0.onnx", "dgmf.output is 'x0'"),
    ("analytic_fp16.onnx", "element types"),
    ("analytic_coords.onnx", "must share their contract"),
    ("analytic_ensemble.onnx", "already an ensemble"),
])
def test_members_of_other_contracts_are_refused(tmp_path, other, why):
    with pytest.raises(ContractError, match=why):
        compose([MEMBERS[0], MODELS / other], tmp_path / "e.onnx")
    assert not (tmp_path / "e.onnx").exists()


def _with_meta(src, dst, key, change):
    m = onnx.load(str(src))
    for p in m.metadata_props:
        if p.key == key:
            p.value = change(p.value)
    onnx.save(m, str(dst))
    return dst


def test_numbers_from_the_data_may_differ_in_their_last_digits(tmp_path):
    # A regenerated data set's float64 sums: sigma_max 1e-12 apart is the same contract (the first
    # member's value is kept); 1e-6 apart is another data set, refused with the key named.
    near = _with_meta(MEMBERS[1], tmp_path / "near.onnx", "dgmf.sigma_max", lambda v: repr(float(v) * (1 + 1e-12)))
    compose([MEMBERS[0], near], tmp_path / "e.onnx")
    assert read_metadata(tmp_path / "e.onnx").raw["dgmf.sigma_max"] == read_metadata(MEMBERS[0]).raw["dgmf.sigma_max"]
    far = _with_meta(MEMBERS[1], tmp_path / "far.onnx", "dgmf.sigma_max", lambda v: repr(float(v) * (1 + 1e-6)))
    with pytest.raises(ContractError, match="dgmf.sigma_max is .* must share their contract"):
        compose([MEMBERS[0], far], tmp_path / "e2.onnx")
    # Only numbers computed from the data get the tolerance: a declared range must match exactly.
    lo = _with_meta(MEMBERS[1], tmp_path / "lo.onnx", "dgmf.param_min",
                    lambda v: ",".join(repr(float(x) * (1 + 1e-12) + 1e-300) for x in v.split(",")))
    with pytest.raises(ContractError, match="dgmf.param_min"):
        compose([MEMBERS[0], lo], tmp_path / "e3.onnx")


def test_misuse_is_a_clear_error(tmp_path, capsys):
    (tmp_path / "junk.onnx").write_bytes(b"not a model")
    assert M.main(["ensemble", str(tmp_path / "junk.onnx"), str(MEMBERS[0]), "--out", str(tmp_path / "e.onnx")]) == 1
    assert "not a readable ONNX model" in capsys.readouterr().err
    assert M.main(["ensemble", str(MEMBERS[0]), "--out", str(tmp_path / "e.onnx")]) == 1
    assert "2 to 64 members, got 1" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        M.main(["ensemble", str(MEMBERS[0]), str(MEMBERS[1]), "--out", str(MEMBERS[1])])
    assert "names one of the members" in capsys.readouterr().err
    # An ONNX model that is no score model at all.
    g = onnx.helper.make_graph([onnx.helper.make_node("Identity", ["x"], ["y"])], "g",
                               [onnx.helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, [1])],
                               [onnx.helper.make_tensor_value_info("y", onnx.TensorProto.FLOAT, [1])])
    onnx.save(onnx.helper.make_model(g), str(tmp_path / "plain.onnx"))
    with pytest.raises(ContractError, match="plain.onnx is not a dgmf score model"):
        compose([MEMBERS[0], tmp_path / "plain.onnx"], tmp_path / "e.onnx")
    # A model whose opsets differ from the first member's.
    m = onnx.load(str(MEMBERS[1]))
    m.opset_import[0].version = 18
    onnx.save(m, str(tmp_path / "opset18.onnx"))
    with pytest.raises(ContractError, match="opsets"):
        compose([MEMBERS[0], tmp_path / "opset18.onnx"], tmp_path / "e.onnx")


def test_one_network_twice_is_refused(tmp_path):
    # The same file twice, and a copy that differs only in its metadata: the same weights either way.
    with pytest.raises(ContractError, match="member 1 .* holds the same network as member 0"):
        compose([MEMBERS[0], MEMBERS[0]], tmp_path / "e.onnx")
    m = onnx.load(str(MEMBERS[0]))
    for p in m.metadata_props:
        if p.key == "dgmf.name":
            p.value = "renamed"
    onnx.save(m, str(tmp_path / "renamed.onnx"))
    with pytest.raises(ContractError, match="member 2 .*renamed.onnx.* holds the same network as member 0"):
        compose([MEMBERS[0], MEMBERS[1], tmp_path / "renamed.onnx"], tmp_path / "e.onnx")
    assert not (tmp_path / "e.onnx").exists()


def test_fp16_weights_store_float16_and_keep_float32_arithmetic(tmp_path, monkeypatch):
    import dgmf_train.ensemble as E
    # The analytic members' tensors are small; store every one of them (the shipped networks' biases stay).
    monkeypatch.setattr(E, "FP16_MIN_SIZE", 2)
    full, half = tmp_path / "full.onnx", tmp_path / "half.onnx"
    compose(MEMBERS, full)
    compose(MEMBERS, half, fp16_weights=True)
    m = onnx.load(str(half))
    stored = {t.name: t.data_type for t in m.graph.initializer}
    assert stored["member0/params_coef/fp16"] == onnx.TensorProto.FLOAT16
    assert stored["member0/s2"] == onnx.TensorProto.FLOAT          # a scalar stays float32
    assert {i.type.tensor_type.elem_type for i in m.graph.input if i.name != "member"} == {onnx.TensorProto.FLOAT}
    casts = [n for n in m.graph.node if n.op_type == "Cast"]
    assert len(casts) == sum(v == onnx.TensorProto.FLOAT16 for v in stored.values()) == 9
    ens = ort.InferenceSession(str(half), providers=["CPUExecutionProvider"])
    rng = np.random.default_rng(2)
    feeds = dict(z=rng.standard_normal((4, 2, 3, 4)).astype(np.float32), sigma=np.full(4, 0.5, np.float32),
                 params=rng.uniform(0, 1, (4, 2)).astype(np.float32),
                 fidelity=np.eye(3, dtype=np.float32)[[0, 1, 2, 0]])
    for k, p in enumerate(MEMBERS):
        want = ort.InferenceSession(str(p), providers=["CPUExecutionProvider"]).run(None, feeds)[0]
        got = ens.run(None, dict(feeds, member=np.array(k, np.int64)))[0]
        assert got.dtype == np.float32
        err = np.abs(got - want).max() / np.abs(want).max()
        assert 0 < err < 1e-2       # rounded weights: close, not identical
    # The CLI path checks the members against their files within that bound.
    assert M.main(["ensemble", *map(str, MEMBERS), "--out", str(tmp_path / "cli.onnx"), "--fp16-weights"]) == 0


def test_fp16_weights_refuse_a_weight_beyond_float16(tmp_path, monkeypatch):
    import dgmf_train.ensemble as E
    monkeypatch.setattr(E, "FP16_MIN_SIZE", 2)
    m = onnx.load(str(MEMBERS[1]))
    for t in m.graph.initializer:
        if t.name == "params_coef":
            t.CopyFrom(onnx.numpy_helper.from_array(np.full((2, 24), 1e5, np.float32), "params_coef"))
    onnx.save(m, str(tmp_path / "big.onnx"))
    with pytest.raises(ContractError, match="member1/params_coef reaches 1e\\+05, beyond float16's range"):
        compose([MEMBERS[0], tmp_path / "big.onnx"], tmp_path / "e.onnx", fp16_weights=True)
