"""Fast checks of the score networks, the metadata and the ONNX export (untrained weights).

Skipped where torch / onnxruntime are not installed (CI installs only requirements-data.txt)."""
import json
import math

import numpy as np
import pytest

from conftest import require  # noqa: E402

torch = require("torch")
onnx = require("onnx")
require("onnxruntime")

from dgmf_train import benchmarks, contract, export, train  # noqa: E402
from dgmf_train.model import n_params  # noqa: E402

SHAPES = {"poisson": (1, 32, 32), "heat": (1, 32, 32), "burgers": (1, 64), "flow": (2, 32, 32)}


def fake_checkpoint(name, path):
    """A checkpoint as train.py writes it, with freshly initialized weights."""
    torch.manual_seed(0)
    model = train.build_model(benchmarks.manifest(name), SHAPES[name])
    # the layout of checkpoints from before the dataset format (they name a built-in benchmark)
    torch.save(dict(bench=name, baseline=False, shape=SHAPES[name], model=model.state_dict(),
                    ema=model.state_dict(), shift=[0.5] * SHAPES[name][0],
                    scale=[0.2] * SHAPES[name][0], sigma_min=0.01,
                    sigma_max=50.0, steps=0, seconds=0.0, log=[], args={}), path)


@pytest.mark.parametrize("name", list(SHAPES))
def test_model_size_and_shapes(name):
    model = train.build_model(benchmarks.manifest(name), SHAPES[name])
    base = train.build_model(benchmarks.manifest(name), SHAPES[name], baseline=True)
    assert n_params(model) < 1_000_000 and n_params(base) < 1_000_000
    feeds = contract.random_inputs(benchmarks.manifest(name), SHAPES[name], 3, 0.01, 50.0)
    t = {k: torch.from_numpy(v) for k, v in feeds.items()}
    with torch.no_grad():
        assert model(**t).shape == (3, *SHAPES[name])
        assert base(t["params"], t["fidelity"], t.get("coords")).shape == (3, *SHAPES[name])


def test_score_is_preconditioned_denoiser():
    # The ONNX output must be the score (D - z)/sigma^2 of the EDM-preconditioned denoiser
    # D = c_skip z + c_out F(c_in z, cond) (dgmf.output = score).
    model = train.build_model(benchmarks.manifest("poisson"), SHAPES["poisson"]).eval()
    f = contract.random_inputs(benchmarks.manifest("poisson"), SHAPES["poisson"], 4, 0.01, 50.0)
    t = {k: torch.from_numpy(v).double() for k, v in f.items()}
    model = model.double()
    with torch.no_grad():
        s = t["sigma"].reshape(-1, 1, 1, 1)
        emb = model.cond(t["sigma"], t["params"], t["fidelity"])
        raw = model.net(t["z"] / torch.sqrt(1 + s * s), emb)
        d = t["z"] / (1 + s * s) + s / torch.sqrt(1 + s * s) * raw
        torch.testing.assert_close(model(**t), (d - t["z"]) / (s * s))


def test_max_pairwise_distance():
    x = np.random.default_rng(1).standard_normal((50, 7))
    brute = max(np.linalg.norm(a - b) for a in x for b in x)
    assert math.isclose(train.max_pairwise_distance(x), brute, rel_tol=1e-9)


def test_metadata_keys():
    m = contract.metadata(benchmarks.manifest("heat"), (1, 32, 32), 0.01, 74.6, [0.49], [0.95])
    assert m["dgmf.fidelity"] == "continuous:0:0.14285714285714285"
    assert m["dgmf.param_names"] == "q_left,q_right,alpha" and m["dgmf.shape"] == "1,32,32"
    m = contract.metadata(benchmarks.manifest("burgers"), (1, 64), 0.01, 20.8, [0.27], [0.2])
    assert (m["dgmf.fidelity"], m["dgmf.coord_names"], m["dgmf.coord_max"]) == ("discrete:3", "t", "3")
    m = contract.metadata(benchmarks.manifest("poisson"), (1, 32, 32), 0.01, 109.6, [0.53], [0.18])
    assert m["dgmf.fidelity_labels"] == "8x8,16x16,32x32" and "dgmf.coord_names" not in m


@pytest.mark.parametrize("name", ["poisson", "burgers", "flow"])
def test_export_roundtrip(name, tmp_path, monkeypatch):
    ck = tmp_path / "m.pt"
    fake_checkpoint(name, ck)
    if contract.find_cli() is None:  # the Rust CLI is checked only where it has been built
        monkeypatch.setattr(contract, "check_with_cli", lambda path, required=False: None)
    out = tmp_path / "m.onnx"
    export.main([str(ck), str(out), "--check-rows", "8"])
    onx = onnx.load(str(out))
    meta = {p.key: p.value for p in onx.metadata_props}
    assert meta["dgmf.contract"] == "1" and meta["dgmf.output"] == "score"
    assert onx.ir_version <= 13 and onx.opset_import[0].version == 17
    names = [i.name for i in onx.graph.input]
    assert names == ["z", "sigma", "params", "fidelity"] + (["coords"] if name != "poisson" else [])
    assert onx.graph.input[0].type.tensor_type.shape.dim[0].dim_param  # dynamic batch
    assert not any(t.data_location == onnx.TensorProto.EXTERNAL for t in onx.graph.initializer)


def test_grid_padding_rule():
    from dgmf_train.model import grid_padding
    from dgmf_train import network_rules
    assert grid_padding((32, 32)) == ((0, 0), (0, 0))
    assert grid_padding((33, 17)) == ((1, 2), (1, 2)) and grid_padding((65,)) == ((1, 2),)
    assert grid_padding((30,)) == ((1, 1),) and grid_padding((31,)) == ((0, 1),)
    for g in range(4, 80):  # one rule for the network and for `check` (network_rules.padded)
        (lo, hi), = grid_padding((g,))
        assert g + lo + hi == network_rules.padded(g) and (g + lo + hi) % 4 == 0 and 0 <= hi - lo <= 1


def test_a_grid_that_needs_no_padding_is_the_network_it_always_was():
    # Checkpoints trained before any-grid support load and give the same scores bit for bit.
    from dgmf_train.model import UNet
    torch.manual_seed(0)
    old, new = UNet(2, in_ch=2), UNet(2, in_ch=2, grid=(32, 16))
    new.load_state_dict(old.state_dict())
    x, emb = torch.randn(3, 2, 32, 16), torch.randn(3, 128)
    with torch.no_grad():
        assert torch.equal(old(x, emb), new(x, emb))


@pytest.mark.parametrize("name,shape", [("heat", (1, 33, 33)), ("flow", (2, 17, 30)), ("burgers", (1, 65))])
def test_any_grid_trains_and_exports_exactly_on_the_users_grid(name, shape, tmp_path, monkeypatch):
    """2^k + 1 node grids (and any other): the network pads inside and crops back; the exported model
    speaks the grid exactly, the baseline too, and ONNX Runtime agrees with torch."""
    torch.manual_seed(0)
    m = benchmarks.manifest(name)
    for baseline in (False, True):
        model = train.build_model(m, shape, baseline=baseline)
        feeds = contract.random_inputs(m, shape, 3, 0.01, 50.0)
        t = {k: torch.from_numpy(v) for k, v in feeds.items()}
        with torch.no_grad():
            out = model(**t) if not baseline else model(t["params"], t["fidelity"], t.get("coords"))
        assert out.shape == (3, *shape) and torch.isfinite(out).all()
    # The gradient reaches every input cell (the crop keeps the user's cells, not the padding).
    model = train.build_model(m, shape)
    feeds = {k: torch.from_numpy(v) for k, v in contract.random_inputs(m, shape, 2, 0.5, 50.0).items()}
    z = feeds.pop("z").requires_grad_(True)
    model(z, **feeds).sum().backward()
    assert (z.grad.abs().flatten(2).amin(dim=2) > 0).all()
    ck = tmp_path / "m.pt"
    torch.save(dict(bench=name, baseline=False, shape=shape, model=model.state_dict(), ema=model.state_dict(),
                    shift=[0.5] * shape[0], scale=[0.2] * shape[0], sigma_min=0.01, sigma_max=50.0, steps=0,
                    seconds=0.0, log=[], args={}), ck)
    if contract.find_cli() is None:  # the Rust CLI is checked only where it has been built
        monkeypatch.setattr(contract, "check_with_cli", lambda path, required=False: None)
    out = tmp_path / "m.onnx"
    export.main([str(ck), str(out), "--check-rows", "8"])  # raises if ORT and torch disagree
    meta = {p.key: p.value for p in onnx.load(str(out)).metadata_props}
    assert meta["dgmf.shape"] == ",".join(map(str, shape))


def tiny_burgers_data(path, seed, offset=0.0, n=12):
    """A 12-row random dataset in the Burgers layout (data/burgers_train.json + .npz) under `path`."""
    rng = np.random.default_rng(seed)
    np.savez(path / "burgers_train.npz", u=offset + rng.standard_normal((n, 1, 64)),
             params=rng.uniform(10, 510, (n, 1)), fidelity=np.arange(n) % 3,
             coords=rng.uniform(0, 3, (n, 1)))
    doc = benchmarks.manifest("burgers", arrays="burgers_train.npz").to_json()
    (path / "burgers_train.json").write_text(json.dumps(doc))


def test_snapshots(tmp_path):
    # --snapshot-minutes writes the final checkpoint's format every M minutes to <stem>_<M k>min.pt.
    tiny_burgers_data(tmp_path, seed=0)
    out = tmp_path / "runs" / "b.pt"
    train.main(["burgers", "--data-dir", str(tmp_path), "--out", str(out), "--threads", "1",
                "--batch", "4", "--minutes", "0.04", "--snapshot-minutes", "0.01"])
    assert train.snapshot_path(out, 10) == tmp_path / "runs" / "b_10min.pt"
    snaps = sorted(out.parent.glob("b_*min.pt"))
    assert [p.name for p in snaps][:2] == ["b_0.01min.pt", "b_0.02min.pt"]
    final = torch.load(out, weights_only=False)
    for p in snaps:
        ck = torch.load(p, weights_only=False)
        assert ck.keys() == final.keys() and ck["ema"].keys() == final["ema"].keys()
        assert 0 < ck["seconds"] <= final["seconds"] and ck["steps"] <= final["steps"]


def test_resume_continues_steps_time_and_log(tmp_path):
    # --resume carries weights, optimizer, step count and time on; --minutes is the total budget.
    tiny_burgers_data(tmp_path, seed=1)
    first, second = tmp_path / "a.pt", tmp_path / "b.pt"
    common = ["burgers", "--data-dir", str(tmp_path), "--threads", "1", "--batch", "4",
              "--log-every", "1", "--channels", "8,8,8", "--emb", "16"]
    train.main(common + ["--out", str(first), "--steps", "3"])
    a = torch.load(first, weights_only=False)
    assert a["steps"] == 3 and "optimizer" in a
    train.main(common[:-4] + ["--out", str(second), "--steps", "5", "--resume", str(first)])
    b = torch.load(second, weights_only=False)
    assert b["steps"] == 5 and b["seconds"] > a["seconds"]
    assert [r[0] for r in b["log"]] == [1, 2, 3, 4, 5]
    assert b["arch"] == a["arch"]  # the checkpoint's network, not the command line's default
    assert any(not torch.equal(b["model"][k], v) for k, v in a["model"].items())  # it trained on
    # Other data: refused with a message, not silently mixed.
    tiny_burgers_data(tmp_path, seed=2, offset=3.0)
    with pytest.raises(SystemExit, match="trained on other data"):
        train.main(common + ["--out", str(second), "--steps", "6", "--resume", str(first)])


def test_fit_validates_on_held_out_cases_keeps_the_curve_and_stops_on_it(tmp_path, capsys):
    from dgmf_train import dataset as D
    from dgmf_train.paths import find_cli
    if find_cli() is None:
        pytest.skip("validation samples with the dgmf CLI (cargo build --release)")
    tiny_burgers_data(tmp_path, seed=3, n=16)
    ds = D.load(tmp_path / "burgers_train.json")
    D.write_cases(ds.rows(ds.fidelity == 2), tmp_path / "val")
    out = tmp_path / "v.pt"
    common = ["burgers", "--data-dir", str(tmp_path), "--threads", "1", "--batch", "4", "--channels", "8,8,8",
              "--emb", "16", "--val", str(tmp_path / "val"), "--val-minutes", "0.0001"]
    # --until-error 10: any error meets it, so the first validation stops the run.
    train.main(common + ["--out", str(out), "--steps", "50", "--until-error", "10"])
    log = capsys.readouterr().out
    assert "validation (5 cases, ancestral 6): one sample" in log and "stopping: validation error" in log
    ck = torch.load(out, weights_only=False)
    assert ck["steps"] < 50 and len(ck["val"]) == 1
    assert set(ck["val"][0]) == {"step", "seconds", "took", "one_sample", "prediction"}
    assert 0 < ck["val"][0]["prediction"] < 10
    # Resuming keeps the curve; the baseline validates its own prediction.
    train.main(common + ["--out", str(tmp_path / "w.pt"), "--steps", "3", "--resume", str(out)])
    assert len(torch.load(tmp_path / "w.pt", weights_only=False)["val"]) >= 2
    train.main(common + ["--out", str(tmp_path / "b.pt"), "--steps", "2", "--baseline"])
    assert "prediction" in torch.load(tmp_path / "b.pt", weights_only=False)["val"][0]
    with pytest.raises(SystemExit):
        train.main(["burgers", "--data-dir", str(tmp_path), "--out", str(out), "--patience", "2"])
    assert "give --val DIR" in capsys.readouterr().err


def test_validation_stop_rules():
    from dgmf_train.validation import Validation
    v = Validation.__new__(Validation)
    v.until, v.patience = None, 2
    v.curve = [dict(step=s, prediction=e) for s, e in ((10, 0.5), (20, 0.3), (30, 0.31))]
    assert v.stop_reason() is None  # one validation since the best
    v.curve.append(dict(step=40, prediction=0.30001))
    assert "no better validation error in the last 2 validations (best 0.3000 at step 20)" in v.stop_reason()
    v.until, v.patience = 0.3, None
    assert v.stop_reason() is None  # the last one is above 0.3
    v.curve.append(dict(step=50, prediction=0.29))
    assert "0.2900 <= --until-error 0.3" in v.stop_reason()


def test_device_choice(monkeypatch):
    assert train.pick_device("cpu").type == "cpu"
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert train.pick_device("auto").type == "cpu"
    with pytest.raises(SystemExit, match="--device cuda: torch sees no CUDA device"):
        train.pick_device("cuda")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert train.pick_device("auto").type == "cuda" and train.pick_device("cpu").type == "cpu"
    # Checkpoints hold CPU tensors whatever the device (nested in the optimizer state too).
    t = torch.zeros(2)
    moved = train.to_cpu({"a": [t, (t, 1)], "b": {"c": t}, "d": "x"})
    assert moved["a"][1][1] == 1 and moved["d"] == "x" and moved["b"]["c"].device.type == "cpu"


def test_poisson_known_values_match_the_data():
    # benchmarks.poisson_known_values reproduces, at every level, the boundary of the output grid that
    # dgmf_data.generate writes (the solver's field interpolated), and is zero off the boundary.
    from dgmf_data import poisson
    mask, maps = benchmarks.poisson_known_values()
    assert mask.sum() == 4 * 31 and not maps[:, :, ~mask].any() and not maps[:, 4].any()
    rng = np.random.default_rng(5)
    for level, res in enumerate(poisson.LEVELS):
        for p in rng.uniform(0.1, 0.9, (3, 5)):
            u = poisson.to_output(poisson.solve(p, res))[None]
            b = np.einsum("p...,p->...", maps[level], p)
            np.testing.assert_allclose(b[mask], u[mask], rtol=0, atol=1e-15)
    # the top level: the edge data, corners the mean of their two edges
    left, right, bottom, top = 0.1, 0.3, 0.5, 0.9
    b = np.einsum("p...,p->...", maps[-1], [left, right, bottom, top, 0.7])[0]
    np.testing.assert_allclose([b[0, 5], b[-1, 5], b[5, 0], b[5, -1]], [left, right, bottom, top])
    np.testing.assert_allclose([b[0, 0], b[0, -1], b[-1, 0], b[-1, -1]],
                               [(left + bottom) / 2, (left + top) / 2, (right + bottom) / 2,
                                (right + top) / 2])


def test_poisson_export_imposes_known_boundary(tmp_path, monkeypatch):
    # The exported Poisson score is (b_norm - z)/sigma^2 on the boundary (denoiser = the known
    # Dirichlet value, normalized), the bare network's score inside; the baseline's u = b there.
    import onnxruntime as ort
    monkeypatch.setattr(contract, "check_with_cli", lambda path, required=False: None)
    shape, shift, scale = SHAPES["poisson"], 0.5, 0.2
    ck = tmp_path / "m.pt"
    fake_checkpoint("poisson", ck)
    export.main([str(ck), str(tmp_path / "known.onnx"), "--check-rows", "8"])
    export.main([str(ck), str(tmp_path / "bare.onnx"), "--check-rows", "8", "--no-known-values"])
    feeds = contract.random_inputs(benchmarks.manifest("poisson"), shape, 16, 0.01, 50.0, seed=3)
    run = lambda f, x: ort.InferenceSession(str(tmp_path / f)).run(None, x)[0].astype(np.float64)
    known, bare = run("known.onnx", feeds), run("bare.onnx", feeds)
    mask, maps = benchmarks.poisson_known_values()
    p, fid = feeds["params"].astype(np.float64), feeds["fidelity"].astype(np.float64)
    b = np.einsum("nl,np,lp...->n...", fid, p, maps)
    z, s2 = feeds["z"].astype(np.float64), feeds["sigma"].astype(np.float64)[:, None, None, None] ** 2
    expect = ((b - shift) / scale - z) / s2
    bound = 1e-6 * ((np.abs(b) + shift) / scale + np.abs(z)) / s2  # fp32 rounding of the terms
    m = np.broadcast_to(mask, known.shape)
    assert np.all(np.abs(known - expect)[m] <= bound[m])
    assert np.array_equal(known[~m], bare[~m])
    assert not np.allclose(bare[m], expect[m], rtol=1e-2)  # the bare network does not do it
    meta = {q.key: q.value for q in onnx.load(str(tmp_path / "known.onnx")).metadata_props}
    assert "imposed exactly" in meta["dgmf.description"]

    # the baseline: physical u = b on the boundary, the bare network inside
    torch.manual_seed(0)
    net = train.build_model(benchmarks.manifest("poisson"), shape, baseline=True)
    torch.save(dict(bench="poisson", baseline=True, shape=shape, model=net.state_dict(),
                    ema=net.state_dict(), shift=[shift], scale=[scale], sigma_min=0.01,
                    sigma_max=50.0, steps=0, seconds=0.0, log=[], args={}), tmp_path / "r.pt")
    export.main([str(tmp_path / "r.pt"), str(tmp_path / "r_known.onnx"), "--check-rows", "8"])
    export.main([str(tmp_path / "r.pt"), str(tmp_path / "r_bare.onnx"), "--check-rows", "8",
                 "--no-known-values"])
    del feeds["z"], feeds["sigma"]
    known, bare = run("r_known.onnx", feeds), run("r_bare.onnx", feeds)
    np.testing.assert_allclose(known[m], b[m], rtol=0, atol=1e-7)
    assert np.array_equal(known[~m], bare[~m])


def test_curve_snapshots_and_errors(tmp_path):
    from dgmf_reports import curve
    for m in ("10", "20", "2.5"):
        torch.save({}, tmp_path / f"b_{m}min.pt")
    torch.save({}, tmp_path / "b_reg_10min.pt")  # another run's snapshot: not this one's
    assert curve.snapshots(tmp_path / "b.pt") == {2.5: tmp_path / "b_2.5min.pt",
                                                  10.0: tmp_path / "b_10min.pt",
                                                  20.0: tmp_path / "b_20min.pt"}
    torch.save(dict(args=dict(minutes=30.0), seconds=1800.2), tmp_path / "b.pt")
    assert list(curve.snapshots(tmp_path / "b.pt").items())[-1] == (30.0, tmp_path / "b.pt")
    # a case's rows (Burgers: its times) are flattened together
    u = np.array([[3.0, 4.0], [0.0, 0.0], [1.0, 0.0]])[:, None]
    t = dict(u=u, case=np.array([0, 0, 1]))
    err = curve.per_case_error(u + np.array([[0.0, 0.5], [0.0, 0.0], [0.0, 0.0]])[:, None], t)
    np.testing.assert_allclose(err, [0.1, 0.0])


def test_export_contract_wraps_normalization_and_preconditioning(tmp_path, monkeypatch):
    # A user's network through export_contract: the file computes exactly
    # x0 = c_skip z + c_out F(c_in z, sigma, unit(params), onehot) with unit() the manifest's
    # [min, max] -> [-1, 1], and carries the manifest's contract keys.
    import onnxruntime as ort
    from dgmf_train import dataset as D
    monkeypatch.setattr(contract, "check_with_cli", lambda path, required=False: None)
    m = D.parse_manifest({"format": D.FORMAT, "name": "lin", "arrays": "x.npz",
                          "params": [{"name": "a", "min": 2, "max": 6}],
                          "fidelity": {"kind": "discrete", "labels": ["lo", "hi"]}})

    class F(torch.nn.Module):
        def forward(self, z, sigma, params, fidelity):
            return 3 * z + params[:, :, None] + 2 * fidelity[:, 1:2, None] + 0 * sigma[:, None, None]

    meta = contract.export_contract(F(), m, tmp_path / "f.onnx", shape=(1, 4), output="x0",
                                    sigma_min=0.01, sigma_max=10.0, data_shift=0.5, data_scale=2.0,
                                    normalize_inputs=True, precondition=True)
    assert meta["dgmf.output"] == "x0" and meta["dgmf.param_names"] == "a"
    assert meta["dgmf.fidelity_labels"] == "lo,hi" and meta["dgmf.data_scale"] == "2"
    feeds = contract.random_inputs(m, (1, 4), 8, 0.01, 10.0, seed=1)
    got = ort.InferenceSession(str(tmp_path / "f.onnx")).run(None, feeds)[0].astype(np.float64)
    f = {k: v.astype(np.float64) for k, v in feeds.items()}
    s = f["sigma"][:, None, None]
    unit = 2 * (f["params"][:, :, None] - 2) / 4 - 1
    raw = 3 * f["z"] / np.sqrt(s * s + 1) + unit + 2 * f["fidelity"][:, 1:2, None]
    expect = f["z"] / (s * s + 1) + s / np.sqrt(s * s + 1) * raw
    np.testing.assert_allclose(got, expect, rtol=1e-5, atol=1e-5)

    with pytest.raises(contract.ContractError, match='use output="x0"'):
        contract.export_contract(F(), m, tmp_path / "g.onnx", shape=(1, 4), output="score",
                                 sigma_min=0.01, sigma_max=10.0, precondition=True)
    with pytest.raises(contract.ContractError, match="output must be one of score, eps, x0"):
        contract.export_contract(F(), m, tmp_path / "g.onnx", shape=(1, 4), output="u",
                                 sigma_min=0.01, sigma_max=10.0)
    with pytest.raises(contract.ContractError, match="need 0 < sigma_min < sigma_max"):
        contract.export_contract(F(), m, tmp_path / "g.onnx", shape=(1, 4), sigma_min=1, sigma_max=1)
    with pytest.raises(contract.ContractError, match="example_inputs must have the keys"):
        contract.export_contract(F(), m, tmp_path / "g.onnx", shape=(1, 4), sigma_min=0.1,
                                 sigma_max=1, example_inputs={"z": feeds["z"]})

    class Deaf(torch.nn.Module):  # ignores its parameters: the graph would lack the input
        def forward(self, z, sigma, params, fidelity):
            return z + fidelity[:, :1, None] + 0 * sigma[:, None, None]

    with pytest.raises(contract.ContractError, match="no input `params`: the network does not use it"):
        contract.export_contract(Deaf(), m, tmp_path / "d.onnx", shape=(1, 4), sigma_min=0.01,
                                 sigma_max=10.0, output="x0")

    class Wrong(torch.nn.Module):  # traces one branch, runs another: the ORT check catches it
        def forward(self, z, sigma, params, fidelity):
            k = 2.0 if float(sigma[0]) > 1 else 1.0
            return z * k + params[:, :, None] + fidelity[:, :1, None] + 0 * sigma[:, None, None]

    feeds = contract.random_inputs(m, (1, 4), 16, 0.01, 10.0, seed=1)
    feeds["sigma"][0], feeds["sigma"][-1] = 0.1, 5.0   # the first row decides the traced branch
    with pytest.raises(contract.ContractError, match="disagrees with torch"):
        contract.export_contract(Wrong(), m, tmp_path / "w.onnx", shape=(1, 4), sigma_min=0.01,
                                 sigma_max=10.0, output="x0", example_inputs=feeds)


def test_export_contract_continuous_fidelity_and_coords(tmp_path, monkeypatch):
    # normalize_inputs maps the continuous fidelity and the coords from their declared ranges too;
    # output "eps" goes through unchanged.
    import onnxruntime as ort
    from dgmf_train import dataset as D
    monkeypatch.setattr(contract, "check_with_cli", lambda path, required=False: None)
    m = D.parse_manifest({"format": D.FORMAT, "name": "c", "arrays": "x.npz",
                          "params": [{"name": "a", "min": 0, "max": 1}],
                          "fidelity": {"kind": "continuous", "name": "h", "min": 0, "max": 0.5,
                                       "target": 0},
                          "coords": [{"name": "t", "min": 0, "max": 3}]})

    class Eps(torch.nn.Module):
        def forward(self, z, sigma, params, fidelity, coords):
            return z * sigma[:, None, None] + params[:, :, None] + 10 * fidelity[:, :, None] + 100 * coords[:, :, None]

    meta = contract.export_contract(Eps(), m, tmp_path / "e.onnx", shape=(2, 4), output="eps",
                                    sigma_min=0.01, sigma_max=5.0, normalize_inputs=True)
    assert meta["dgmf.fidelity"] == "continuous:0:0.5" and meta["dgmf.coord_names"] == "t"
    feeds = contract.random_inputs(m, (2, 4), 6, 0.01, 5.0, seed=2)
    got = ort.InferenceSession(str(tmp_path / "e.onnx")).run(None, feeds)[0]
    f = {k: v.astype(np.float64) for k, v in feeds.items()}
    unit = lambda x, lo, hi: 2 * (x - lo) / (hi - lo) - 1
    expect = (f["z"] * f["sigma"][:, None, None] + unit(f["params"], 0, 1)[:, :, None]
              + 10 * unit(f["fidelity"], 0, 0.5)[:, :, None] + 100 * unit(f["coords"], 0, 3)[:, :, None])
    np.testing.assert_allclose(got, expect, rtol=1e-5, atol=1e-4)


def test_quantize_writes_a_checked_int8_copy(tmp_path, monkeypatch):
    # A Burgers network (untrained weights) and a tiny dataset of its layout as calibration rows.
    from dgmf_train import quantize
    ck = tmp_path / "m.pt"
    fake_checkpoint("burgers", ck)
    if contract.find_cli() is None:
        monkeypatch.setattr(contract, "check_with_cli", lambda path, required=False: None)
    src = tmp_path / "m.onnx"
    export.main([str(ck), str(src), "--check-rows", "8"])
    tiny_burgers_data(tmp_path, seed=3, n=24)
    manifest = tmp_path / "burgers_train.json"
    for keep, float_convs in (((), 0), (("first", "last"), 2)):
        out = tmp_path / f"q{len(keep)}.onnx"
        rel = quantize.quantize(src, manifest, out, rows=32, keep_float=keep)
        q, f = onnx.load(str(out)), onnx.load(str(src))
        assert {p.key: p.value for p in q.metadata_props} == {p.key: p.value for p in f.metadata_props}
        produced_by = {o: n.op_type for n in q.graph.node for o in n.output}
        convs = [n for n in q.graph.node if n.op_type == "Conv"]
        dequantized = [produced_by.get(n.input[1]) == "DequantizeLinear" for n in convs]
        assert len(convs) == len([n for n in f.graph.node if n.op_type == "Conv"])
        assert dequantized.count(False) == float_convs
        if keep:
            assert not dequantized[0] and not dequantized[-1]
        assert np.isfinite(rel).all() and np.median(rel) < 0.5
    with pytest.raises(SystemExit):
        quantize.main([str(src), str(manifest), str(tmp_path / "x.onnx"), "--keep-float", "middle"])
