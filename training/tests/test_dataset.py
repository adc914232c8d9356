"""The dataset format (dgmf_train.dataset): round trips, every validation error, split, resample."""
import json

import numpy as np
import pytest

from conftest import require
from dgmf_train import dataset as D


def manifest(**over):
    doc = {"format": D.FORMAT, "name": "toy", "description": "a toy", "arrays": "toy.npz",
           "params": [{"name": "a", "min": 0, "max": 1}, {"name": "b", "min": -1, "max": 1}],
           "fidelity": {"kind": "discrete", "labels": ["coarse", "fine"]}}
    doc.update(over)
    return doc


def arrays(n=12, rng=None, **over):
    rng = rng or np.random.default_rng(0)
    a = dict(u=rng.standard_normal((n, 1, 8)).astype(np.float32),
             params=np.column_stack([rng.random(n), rng.uniform(-1, 1, n)]),
             fidelity=np.array([0, 1] * (n // 2)), case=np.arange(n))
    a.update(over)
    return {k: v for k, v in a.items() if v is not None}


def write(tmp_path, doc, arr, suffix=".npz"):
    doc = dict(doc, arrays=f"toy{suffix}")
    if suffix == ".npz":
        np.savez(tmp_path / doc["arrays"], **arr)
    else:
        h5py = require("h5py")  # in requirements-data.txt; CI installs it
        with h5py.File(tmp_path / doc["arrays"], "w") as f:
            for k, v in arr.items():
                f[k] = v
    (tmp_path / "toy.json").write_text(json.dumps(doc))
    return tmp_path / "toy.json"


@pytest.mark.parametrize("suffix", [".npz", ".h5"])
def test_load_round_trip(tmp_path, suffix):
    arr = arrays()
    ds = D.load(write(tmp_path, manifest(), arr, suffix))
    assert ds.u.shape == (12, 1, 8) and ds.params.dtype == np.float64 and len(ds) == 12
    np.testing.assert_array_equal(ds.fidelity, arr["fidelity"])
    assert ds.manifest.fidelity.labels == ("coarse", "fine") and ds.coords is None
    out = D.save(ds, tmp_path / "copy" / "again.json")
    back = D.load(out)
    np.testing.assert_array_equal(back.u, ds.u)
    assert back.manifest.params == ds.manifest.params and back.manifest.arrays == "again.npz"


def test_coords_and_continuous_fidelity(tmp_path):
    doc = manifest(fidelity={"kind": "continuous", "name": "h", "min": 0, "max": 0.5, "target": 0},
                   coords=[{"name": "t", "min": 0, "max": 3}])
    arr = arrays(fidelity=np.array([0.5, 0.25, 0.0] * 4), coords=np.linspace(0, 3, 12))
    ds = D.load(write(tmp_path, doc, arr))
    assert ds.coords.shape == (12, 1) and ds.manifest.fidelity.target_value() == 0


@pytest.mark.parametrize("over, match", [
    (dict(format="x"), r'"format" must be "dgmf-dataset/1"'),
    (dict(extra=1), r"unknown keys \['extra'\]"),
    (dict(params=[]), r"`params` must be a non-empty list"),
    (dict(params=[{"name": "a", "min": 1, "max": 1}]), r"min 1.0 >= max 1.0"),
    (dict(params=[{"name": "a", "min": 0, "max": "1"}]), r"params\[0\].max must be a finite number"),
    (dict(params=[{"name": "a", "min": 0, "max": 1}, {"name": "a", "min": 0, "max": 1}]),
     r"unique, repeated: a"),
    (dict(params=[{"name": "a,b", "min": 0, "max": 1}]), r"without commas"),
    (dict(fidelity={"kind": "levels"}), r'"discrete" or "continuous"'),
    (dict(fidelity={"kind": "discrete", "labels": []}), r"one non-empty name per level"),
    (dict(fidelity={"kind": "discrete", "labels": ["a", "a"]}), r"labels must be unique"),
    (dict(fidelity={"kind": "discrete", "labels": ["a"], "target": 3}), r"target must be a level index 0..0"),
    (dict(fidelity={"kind": "continuous", "min": 0, "max": 1}), r'"target": the value predictions'),
    (dict(fidelity={"kind": "continuous", "min": 0, "max": 1, "target": 2}), r"target 2.0 is outside"),
    (dict(name=""), r'"name" must be a non-empty string'),
    (dict(params=[{"name": "a", "min": 0, "max": 1e39}]), r"outside the float32 range"),
])
def test_manifest_errors(tmp_path, over, match):
    with pytest.raises(D.DatasetError, match=match):
        D.load(write(tmp_path, manifest(**over), arrays()))


def test_manifest_file_errors(tmp_path):
    with pytest.raises(D.DatasetError, match="cannot read manifest"):
        D.load(tmp_path / "missing.json")
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(D.DatasetError, match="is not JSON"):
        D.load(tmp_path / "bad.json")
    (tmp_path / "toy.json").write_text(json.dumps(manifest()))
    with pytest.raises(D.DatasetError, match="does not exist"):
        D.load(tmp_path / "toy.json")
    (tmp_path / "toy.npz").write_bytes(b"not a zip")
    with pytest.raises(D.DatasetError, match="cannot read .* as .npz"):
        D.load(tmp_path / "toy.json")


def nan_row(a, key, row):
    a = a.astype(np.float64)
    a.reshape(len(a), -1)[row, 0] = np.nan
    return a


A = arrays()


@pytest.mark.parametrize("over, match", [
    (dict(u=None), r"missing array `u`"),
    (dict(u=A["u"][:, 0]), r"got shape \(12, 8\) \(one channel: add the axis, u\[:, None\]\)"),
    (dict(u=A["u"][:0]), r"no rows"),
    (dict(u=nan_row(A["u"], "u", 5)), r"`u` has 1 row\(s\) with NaN or inf, the first at row 5"),
    (dict(params=A["params"][:, :1]), r"`params` must be \[N, 2\] \(one column per manifest param: a, b\)"),
    (dict(params=A["params"][:11]), r"disagree on the number of rows N: u 12, params 11, fidelity 12"),
    (dict(params=nan_row(A["params"], "params", 3)), r"`params` has 1 row\(s\) with NaN"),
    (dict(u=A["u"].astype(np.float64) * np.where(np.arange(12) == 4, 1e40, 1)[:, None, None]),
     r"`u` has values beyond the float32 range \(±3.4e38\), the first at row 4"),
    (dict(params=A["params"] * [2, 1]), r"param `a` = .* is outside the declared range \[0, 1\]"),
    (dict(fidelity=np.array([0, 2] * 6)), r"fidelity 2 at row 1 is not a level index 0..1"),
    (dict(fidelity=np.array([0.5] * 12)), r"not a level index"),
    (dict(fidelity=np.zeros(12, int)), r"level\(s\) 1 \(`fine`\) have no rows"),
    (dict(fidelity=np.array(["a"] * 12)), r"`fidelity` holds <U1 values; the arrays hold real numbers"),
    (dict(u=np.array(["x"] * 12)), r"`u` holds <U1 values"),  # the dtype is named before the shape
    (dict(fidelity=np.array([True, False] * 6)), r"`fidelity` holds bool values"),
    (dict(params=np.zeros((12, 2), "c8")), r"`params` holds complex64 values.*np.asarray\(params, "
                                           r"dtype=np.float32\)"),
    (dict(params=np.zeros(12, [("a", "f4"), ("b", "f4")])), r"`params` holds \[\('a', '<f4'\)"),
    (dict(case=np.array(["2020-01-01"] * 12, "datetime64[D]")), r"`case` holds datetime64\[D\] values"),
    (dict(coords=np.zeros(12)), r"has a `coords` array but the manifest declares no coords"),
    (dict(case=np.array([0, 0] + list(range(1, 11)))), r"case 0 has rows at different fidelities"),
    (dict(case=np.zeros(12) + 0.5), r"`case` must be integers"),
])
def test_array_errors(tmp_path, over, match):
    with pytest.raises(D.DatasetError, match=match):
        D.load(write(tmp_path, manifest(), arrays(**over)))


def test_coords_declared_but_missing_and_out_of_range(tmp_path):
    doc = manifest(coords=[{"name": "t", "min": 0, "max": 3}])
    with pytest.raises(D.DatasetError, match=r"declares coords \['t'\] but there is no `coords`"):
        D.load(write(tmp_path, doc, arrays()))
    with pytest.raises(D.DatasetError, match=r"coord `t` = 3.27272727 at row 9 is outside .* \(3 row\(s\); data range \[0, 4\]\)"):
        D.load(write(tmp_path, doc, arrays(coords=np.linspace(0, 4, 12))))
    cont = manifest(fidelity={"kind": "continuous", "name": "h", "min": 0.1, "max": 0.5, "target": 0.1})
    with pytest.raises(D.DatasetError, match=r"fidelity `h` = 0.05 at row 0 is outside"):
        D.load(write(tmp_path, cont, arrays(fidelity=np.full(12, 0.05))))


def test_split_keeps_cases_whole_and_disjoint():
    m = D.parse_manifest(manifest())
    n = 40
    rng = np.random.default_rng(1)
    fid = np.repeat([0, 1], n // 2)
    case = np.arange(n) // 2          # two rows per simulation, same fidelity
    ds = D.validate(m, arrays(n, rng, fidelity=fid, case=case))
    train, cal, test = D.split(ds, seed=3, calib=0.2, test=0.3)
    assert len(train) + len(cal) + len(test) == n
    assert set(cal.fidelity) == {1} and set(test.fidelity) == {1}   # held out at the target level
    assert len(np.unique(cal.case)) == 2 and len(np.unique(test.case)) == 3
    assert not set(cal.case) & set(test.case) and not set(train.case) & (set(cal.case) | set(test.case))
    for part in (cal, test):
        assert all((part.case == c).sum() == 2 for c in np.unique(part.case))
    again = D.split(ds, seed=3, calib=0.2, test=0.3)
    np.testing.assert_array_equal(again[2].case, test.case)
    with pytest.raises(D.DatasetError, match="cannot give 50% calibration and 50% test"):
        D.split(ds, calib=0.5, test=0.5)
    with pytest.raises(D.DatasetError, match=r"fraction must be in \[0, 1\)"):
        D.split(ds, calib=1.0)


def test_write_cases_layout(tmp_path):
    m = D.parse_manifest(manifest(coords=[{"name": "t", "min": 0, "max": 3}]))
    ds = D.validate(m, arrays(coords=np.linspace(0, 3, 12)))
    out = D.write_cases(ds, tmp_path / "test")
    assert sorted(p.name for p in out.iterdir()) == ["case.npy", "coords.npy", "fidelity.npy",
                                                      "params.npy", "u.npy"]
    assert np.load(out / "u.npy").dtype == np.float32


def test_resample_exact_for_bilinear_and_second_order():
    x8, x32 = np.linspace(0, 1, 8), np.linspace(0, 1, 32)
    lin = 1 + 2 * x8[:, None] - 3 * x8[None, :] + 0.5 * x8[:, None] * x8[None, :]
    ref = 1 + 2 * x32[:, None] - 3 * x32[None, :] + 0.5 * x32[:, None] * x32[None, :]
    np.testing.assert_allclose(D.resample(lin[None, None], (32, 32))[0, 0], ref, atol=1e-12)
    err = [np.abs(D.resample(np.sin(3 * np.linspace(0, 1, n)), (64,)) - np.sin(3 * np.linspace(0, 1, 64))).max()
           for n in (9, 17)]
    assert 3.5 < err[0] / err[1] < 4.5      # halving h quarters the error
    with pytest.raises(D.DatasetError, match="grid must be 1 or 2 node counts"):
        D.resample(np.zeros((4, 4)), (1, 4, 4))


def test_known_values_checked_against_the_data(tmp_path):
    arr = arrays()
    mask = np.zeros((1, 8), bool)
    mask[0, 0] = True                                  # u[0] = a at level 0, = b at level 1
    maps = np.zeros((2, 2, 1, 8))
    maps[0, 0, 0, 0] = maps[1, 1, 0, 0] = 1
    u = arr["u"].copy()
    u[:, 0, 0] = np.where(arr["fidelity"] == 0, arr["params"][:, 0], arr["params"][:, 1])
    ds = D.load(write(tmp_path, manifest(), dict(arr, u=u, known_mask=mask, known_maps=maps)))
    assert ds.known[0].shape == (1, 8)
    back = D.load(D.save(ds, tmp_path / "k" / "k.json"))
    np.testing.assert_array_equal(back.known[1], maps)
    u[7, 0, 0] += 0.01
    with pytest.raises(D.DatasetError, match=r"row 7 differs from its known values by 0.01"):
        D.load(write(tmp_path, manifest(), dict(arr, u=u, known_mask=mask, known_maps=maps)))
    with pytest.raises(D.DatasetError, match=r"need both `known_mask` and `known_maps`"):
        D.load(write(tmp_path, manifest(), dict(arr, known_mask=mask)))
    with pytest.raises(D.DatasetError, match=r"`known_maps` must be \[K, P, \*row\] = \(2, 2, 1, 8\)"):
        D.load(write(tmp_path, manifest(), dict(arr, known_mask=mask, known_maps=maps[:1])))


def test_cli_check_split_and_errors(tmp_path, capsys, monkeypatch):
    from dgmf_train import main
    path = write(tmp_path, manifest(), arrays(n=40, fidelity=np.repeat([0, 1], 20)))
    assert main.main(["check", str(path)]) == 0
    out = capsys.readouterr().out
    assert "toy: 40 rows of shape (1, 8)" in out and "1 `fine` 20 rows" in out
    # What fit and split will do, before anyone trains: 20 target cases give 4 calibration cases (too few).
    assert "fit: 1-D U-Net, 1 channel(s), grid 8\n" in out
    assert "split (--calib 0.2 --test 0.2): 20 case(s) at the target fidelity -> 4 calibration, 4 test" in out
    assert "warning: 4 calibration case(s)" in out and out.endswith("ok (with warnings)\n")
    assert main.main(["split", str(path), "--out", str(tmp_path / "s"), "--calib", "0.25"]) == 0
    train = D.load(tmp_path / "s" / "train.json")
    assert len(train) == 31 and len(np.load(tmp_path / "s" / "calib" / "u.npy")) == 5  # 25 % and 20 % of 20
    bad = write(tmp_path, manifest(), arrays(n=40, fidelity=np.full(40, 3)))
    assert main.main(["check", str(bad)]) == 1
    assert "fidelity 3 at row 0 is not a level index 0..1" in capsys.readouterr().err
    assert main.main(["frobnicate"]) == 2 and "unknown command 'frobnicate'" in capsys.readouterr().err
    import importlib.util
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda n, *a: None if n == "torch" else real(n, *a))
    assert main.main(["fit", str(path), "--out", "x.pt"]) == 1
    assert "needs PyTorch: pip install 'dgmf-train[train]'" in capsys.readouterr().err


# ---------------------------------------------------------------- hostile dataset files (hardening II)
def test_check_states_what_fit_and_split_impose(tmp_path, capsys):
    from dgmf_train import main
    # A 2^k + 1 node grid: fit pads it inside the network, and says so.
    path = write(tmp_path, manifest(), arrays(n=240, u=np.zeros((240, 2, 33, 17), np.float32),
                                              fidelity=np.repeat([0, 1], 120)))
    assert main.main(["check", str(path)]) == 0
    out = capsys.readouterr().out
    assert ("fit: 2-D U-Net, 2 channel(s), grid 33×17, padded inside the network to 36×20 (edge values "
            "repeated) and cropped back: the model reads and writes your grid exactly") in out
    assert "-> 24 calibration, 24 test, 72 for training" in out and "warning" not in out
    assert out.endswith("ok\n")
    # A grid the network cannot take is refused by check, not after a wait in fit.
    tiny = write(tmp_path, manifest(), arrays(n=4, u=np.zeros((4, 1, 3)), fidelity=np.array([0, 1, 1, 1])))
    assert main.main(["check", str(tiny)]) == 1
    out = capsys.readouterr().out
    assert "fit: cannot train the built-in network: grid (3,): every size must be at least 4" in out
    assert "not ok" in out


def test_split_refuses_an_empty_split_unless_asked_and_warns_when_small(tmp_path, capsys):
    from dgmf_train import main
    path = write(tmp_path, manifest(), arrays(n=40, fidelity=np.repeat([0, 1], 20)))
    with pytest.raises(SystemExit):
        main.main(["split", str(path), "--out", str(tmp_path / "s"), "--test", "0"])
    assert "--test 0 leaves no test cases; pass --allow-empty" in capsys.readouterr().err
    assert main.main(["split", str(path), "--out", str(tmp_path / "s"), "--test", "0", "--allow-empty"]) == 0
    err = capsys.readouterr().err
    assert "4 calibration case(s): the ±2σ scale (split-conformal at 95.45 %) needs at least 21" in err
    assert "test case(s)" not in err  # no test split asked for: nothing to warn about
    big = write(tmp_path, manifest(), arrays(n=300, fidelity=np.repeat([0, 1], 150)))
    assert main.main(["split", str(big), "--out", str(tmp_path / "b")]) == 0
    assert "warning" not in capsys.readouterr().err  # 30 and 30 cases
    assert main.main(["split", str(big), "--out", str(tmp_path / "c"), "--test", "0.05"]) == 0
    assert "8 test case(s): a mean error over fewer than 10 cases" in capsys.readouterr().err


def _write_manifest(d, arrays):
    (d / "dataset.json").write_text(json.dumps(manifest(arrays=arrays)))
    return d / "dataset.json"


@pytest.mark.parametrize("arrays", ["../runs.npz", "/etc/passwd", "sub/runs.npz", ".."])
def test_manifest_arrays_outside_the_folder_are_refused(tmp_path, arrays):
    with pytest.raises(D.DatasetError, match="no path: nothing outside"):
        D.load(_write_manifest(tmp_path, arrays))


def test_a_symlink_out_of_the_folder_or_to_a_device_is_refused(tmp_path):
    (tmp_path / "runs.npz").symlink_to("/dev/zero")
    with pytest.raises(D.DatasetError, match="not a regular file|outside the manifest's directory"):
        D.load(_write_manifest(tmp_path, "runs.npz"))
    other = tmp_path / "other"
    other.mkdir()
    np.savez(other / "real.npz", u=np.zeros((2, 1, 4)))
    d = tmp_path / "d"
    d.mkdir()
    (d / "runs.npz").symlink_to(other / "real.npz")
    with pytest.raises(D.DatasetError, match="outside the manifest's directory"):
        D.load(_write_manifest(d, "runs.npz"))


def test_an_npz_header_claiming_32_gib_is_one_line_error(tmp_path):
    import zipfile
    header = np.lib.format.header_data_from_array_1_0(np.zeros((1,), np.float64))
    header["shape"] = (1 << 32,)
    with zipfile.ZipFile(tmp_path / "runs.npz", "w") as z:
        with z.open("u.npy", "w") as fp:
            np.lib.format.write_array_header_1_0(fp, header)
    with pytest.raises(D.DatasetError, match=r"`u` of shape \(4294967296,\).*GiB, more than"):
        D.load(_write_manifest(tmp_path, "runs.npz"))


def test_hdf5_external_storage_links_and_huge_claims_are_refused(tmp_path):
    h5py = require("h5py")
    secret = tmp_path / "secret.bin"
    secret.write_bytes(np.arange(8, dtype=np.float64).tobytes())
    d = tmp_path / "d"
    d.mkdir()
    with h5py.File(d / "runs.h5", "w") as f:
        f.create_dataset("u", shape=(8,), dtype="f8", external=[(str(secret), 0, 64)])
    with pytest.raises(D.DatasetError, match="external storage"):
        D.load(_write_manifest(d, "runs.h5"))
    with h5py.File(d / "runs.h5", "w") as f:
        f["u"] = h5py.ExternalLink(str(tmp_path / "elsewhere.h5"), "/u")
    with pytest.raises(D.DatasetError, match="external link"):
        D.load(_write_manifest(d, "runs.h5"))
    with h5py.File(d / "runs.h5", "w") as f:  # a few KB on disk: chunked, fill value, never written
        f.create_dataset("u", shape=(1 << 20, 1, 64, 64), dtype="f8", chunks=(1, 1, 64, 64), fillvalue=1.0)
    assert (d / "runs.h5").stat().st_size < 100_000
    with pytest.raises(D.DatasetError, match="GiB, more than"):
        D.load(_write_manifest(d, "runs.h5"))
    with h5py.File(d / "runs.h5", "w") as f:
        f["u"] = np.array([[[b"abc"]], [[b"def"]]])
        f["params"] = np.zeros((2, 2))
        f["fidelity"] = np.zeros(2)
    with pytest.raises(D.DatasetError, match=r"`u` holds \|S3 values; the arrays hold real numbers"):
        D.load(_write_manifest(d, "runs.h5"))


def test_every_command_help_is_whole(capsys, monkeypatch):
    """Each command's --help describes it in whole sentences, and needs neither torch nor the CLI."""
    import importlib.util
    from dgmf_train import main
    import argparse
    monkeypatch.setenv("DGMF_CLI", "/nonexistent/dgmf")
    monkeypatch.setenv("PATH", "/nonexistent")
    shown = []
    print_help = argparse.ArgumentParser.print_help
    monkeypatch.setattr(argparse.ArgumentParser, "print_help",
                        lambda self, *a: (shown.append(self), print_help(self, *a))[1])
    for cmd in main.COMMANDS:
        if cmd in ("fit", "export", "distill") and importlib.util.find_spec("torch") is None:
            continue  # they say they need torch (test_cli_check_split_and_errors)
        with pytest.raises(SystemExit) as e:
            main.main([cmd, "--help"])
        assert e.value.code == 0, cmd
        text = capsys.readouterr().out
        # The description: between the usage block and the first argument section.
        body = text.split("\n\n")[1]
        assert not body.startswith(("positional", "options")), f"{cmd}: no description"
        assert body.rstrip().endswith((".", ")")), f"{cmd} --help stops mid-sentence: {body!r}"
        # Every argument says what it is.
        bare = [a.dest for a in shown[-1]._actions if not a.help and a.dest != "help"]
        assert not bare, f"{cmd} --help: no text for {bare}"
