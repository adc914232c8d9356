#!/usr/bin/env python3
"""Verify the models written by gen_analytic.py (run from the repo root).

Needs onnxruntime (pip install onnxruntime==1.31.1).  Independent of the generator:
the reference answer is computed in float64 numpy from analytic.json only.
  * every valid model passes onnx.checker and matches the closed form on a batch of 5
  * every bad/ variant differs from analytic_score in the intended way only, and
    onnxruntime loads it unless the defect is an IR/opset version it does not support
"""
import json
import os
import re
import sys

import numpy as np
import onnx
import onnxruntime as ort

HERE = os.path.dirname(os.path.abspath(__file__))
RTOL = {"float32": 1e-5, "float16": 2e-3}  # fp16 I/O: ~1e-3 relative rounding


def meta_of(model):
    return {p.key: p.value for p in model.metadata_props}


def reference(spec, z, sigma, params, fid, coords):
    """Closed-form score / eps / x0 of N(mu, s^2 I) under VE noise, in float64."""
    f = lambda k: np.asarray(spec[k], np.float64)
    mu = f("c0") + params @ f("B")
    mu = mu + (fid @ f("O") if spec["O"] is not None else fid * f("G"))
    if spec["Dc"] is not None:
        mu = mu + coords @ f("Dc")
    mu = mu.reshape(z.shape)
    sig = sigma.reshape([-1] + [1] * (z.ndim - 1))
    r = (z - mu) / (spec["s"] ** 2 + sig ** 2)
    return {"score": -r, "eps": sig * r, "x0": z - sig ** 2 * r}[spec["output"]]


def random_inputs(model, spec, rng, batch=5):
    """Inputs inside the ranges declared in the model's metadata."""
    m = meta_of(model)
    nums = lambda k: np.array([float(v) for v in m[k].split(",")])
    lo, hi = nums("dgmf.param_min"), nums("dgmf.param_max")
    feeds = {
        "z": rng.normal(0, 2, [batch, *spec["shape"]]),
        "sigma": np.exp(rng.uniform(np.log(spec["sigma_min"]), np.log(spec["sigma_max"]), batch)),
        "params": rng.uniform(lo, hi, [batch, len(lo)]),
    }
    kind, *rest = spec["fidelity"].split(":")
    if kind == "discrete":
        feeds["fidelity"] = np.eye(int(rest[0]))[rng.integers(0, int(rest[0]), batch)]
    else:
        feeds["fidelity"] = rng.uniform(float(rest[0]), float(rest[1]), [batch, 1])
    if "dgmf.coord_names" in m:
        clo, chi = nums("dgmf.coord_min"), nums("dgmf.coord_max")
        feeds["coords"] = rng.uniform(clo, chi, [batch, len(clo)])
    # round to the model's input type so the reference sees exactly what ORT sees
    return {k: v.astype(spec["dtype"]) for k, v in feeds.items()}


def check_valid(rng):
    ok = True
    specs = json.load(open(os.path.join(HERE, "analytic.json")))
    for fname, spec in specs.items():
        path = os.path.join(HERE, fname)
        model = onnx.load(path)
        onnx.checker.check_model(model, full_check=True)
        feeds = random_inputs(model, spec, rng)
        sess = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
        assert {i.name for i in sess.get_inputs()} == set(feeds), fname
        (out,) = sess.run(["out"], feeds)
        assert out.dtype == np.dtype(spec["dtype"]) and out.shape == feeds["z"].shape
        f64 = {k: v.astype(np.float64) for k, v in feeds.items()}
        ref = reference(spec, *(f64.get(k) for k in ["z", "sigma", "params", "fidelity", "coords"]))
        # relative to the largest magnitude, so near-zero entries don't dominate
        err = np.max(np.abs(out - ref)) / np.max(np.abs(ref))
        passed = err <= RTOL[spec["dtype"]]
        ok &= passed
        print(f"{'ok  ' if passed else 'FAIL'} {fname:26s} max rel err {err:.2e} "
              f"(tol {RTOL[spec['dtype']]:g}, |ref|max {np.max(np.abs(ref)):.3g})")
    return ok


# bad file -> (metadata keys that differ from analytic_score, whether the graph differs)
EXPECTED_BAD = {
    "missing_contract": ({"dgmf.contract"}, False),
    "contract_v2": ({"dgmf.contract"}, False),
    "sde_vp": ({"dgmf.sde"}, False),
    "sigma_range": ({"dgmf.sigma_min", "dgmf.sigma_max"}, False),
    "sigma_nan": ({"dgmf.sigma_min"}, False),
    "unknown_output": ({"dgmf.output"}, False),
    "shape_mismatch": ({"dgmf.shape"}, False),
    "param_lengths": ({"dgmf.param_min"}, False),
    "param_count": (set(), True),
    "fidelity_k": ({"dgmf.fidelity", "dgmf.fidelity_labels"}, False),
    "fidelity_kind": ({"dgmf.fidelity"}, False),
    "missing_sigma": (set(), True),
    "extra_input": (set(), True),
    "coords_no_meta": (set(), True),
    "coord_meta_no_input": ({"dgmf.coord_names", "dgmf.coord_min", "dgmf.coord_max"}, False),
    "z_rank": (set(), True),
    "int_params": (set(), True),
    "two_outputs": (set(), True),
    "ir_too_new": (set(), False),
    "opset_too_new": (set(), False),
    "shift_len": ({"dgmf.data_shift"}, False),
    "endless_loop": (set(), True),
    "endless_after_sigma_max": (set(), True),
    "inf_at_sigma_min": (set(), True),
    "permuted_output": (set(), True),
    "permuted_after_sigma_max": (set(), True),
    "external_data": (set(), True),
    "levels_overflow": ({"dgmf.fidelity", "dgmf.fidelity_labels"}, False),
    "param_range_huge": ({"dgmf.param_max"}, False),
    "sampler_spec": ({"dgmf.sampler"}, False),
    "scale_huge": ({"dgmf.data_scale"}, False),
    "scale_tiny": ({"dgmf.data_scale"}, False),
    "shape_overflow": ({"dgmf.shape"}, False),
    "sigma_huge": ({"dgmf.sigma_max"}, False),
    # Built from the 3-member ensemble, not from analytic_score.onnx: its graph and name differ.
    "members_no_input": ({"dgmf.members"}, False),
    "member_no_key": ({"dgmf.name", "dgmf.description"}, True),
    "members_one": ({"dgmf.name", "dgmf.description", "dgmf.members"}, True),
    "members_too_many": ({"dgmf.name", "dgmf.description", "dgmf.members"}, True),
}
#: files that are not ONNX protobuf to Python's parser: garbage, and an external-data reference hidden in
#: 5-byte tag varints that only C++ protobuf reads (the engine's own decoder refuses both)
UNPARSABLE = ("not_onnx", "external_hidden_tag")
#: files ONNX Runtime must refuse to load: too new, or data outside the model's directory
ORT_REFUSES = ("ir_too_new", "opset_too_new", "external_data")


def check_bad():
    ok = True
    good = onnx.load(os.path.join(HERE, "analytic_score.onnx"))
    gm = meta_of(good)
    bad_dir = os.path.join(HERE, "bad")
    names = sorted(f[:-5] for f in os.listdir(bad_dir))
    ok &= names == sorted([*EXPECTED_BAD, *UNPARSABLE])
    for name in names:
        path = os.path.join(bad_dir, name + ".onnx")
        if name in UNPARSABLE:
            try:
                onnx.load(path)
                note, passed = "loaded?!", False
            except Exception as e:  # noqa: BLE001 - any parse failure is the point
                note, passed = f"onnx.load fails: {type(e).__name__}", True
        else:
            m = onnx.load(path, load_external_data=False)
            bm = meta_of(m)
            diff = {k for k in gm.keys() | bm.keys() if gm.get(k) != bm.get(k)}
            keys, graph_differs = EXPECTED_BAD[name]
            passed = diff == keys and (m.graph != good.graph) == graph_differs
            passed &= (m.ir_version != good.ir_version) == (name == "ir_too_new")
            passed &= (m.opset_import != good.opset_import) == (name == "opset_too_new")
            # onnx 1.23 knows IR 14 / opset 28, so the checker passes on all of them;
            # onnxruntime 1.31.1 (max IR 13, opset 26) must refuse exactly the "too new" two.
            checker = "checker ok"
            try:
                onnx.checker.check_model(m, full_check=True)
            except onnx.checker.ValidationError as e:
                # The one file whose point is to be invalid ONNX: data outside the model's directory.
                checker = "checker refuses its data path"
                passed &= name == "external_data" and "points outside the directory" in str(e)
            try:
                ort.InferenceSession(path, providers=["CPUExecutionProvider"])
                note, loads = f"{checker}, ort loads", True
            except Exception as e:  # noqa: BLE001
                why = re.search(r"Unsupported model IR version[^\n]*|Opset \d+ is under [a-z]+", str(e))
                note, loads = f"{checker}, ort refuses: " + (why[0] if why else str(e)[:60]), False
            passed &= loads != (name in ORT_REFUSES)
        ok &= passed
        print(f"{'ok  ' if passed else 'FAIL'} bad/{name + '.onnx':26s} {note}")
    return ok


def main():
    rng = np.random.default_rng(7)
    print(f"onnx {onnx.__version__}, onnxruntime {ort.__version__}")
    ok = check_valid(rng)
    ok &= check_bad()
    print("ALL OK" if ok else "FAILURES")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
