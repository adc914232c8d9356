#!/usr/bin/env python3
"""Verify poisson_linear.onnx against the Poisson solver (run from the repo root).

Needs onnxruntime (pip install onnxruntime==1.31.1).  Independent of the generator:
for random params in the box and every fidelity level m, the model's mean, recovered
from its score as mu = z + (s^2 + sigma^2) * out and mapped back to physical units,
must equal poisson.to_output(poisson.solve(params, LEVELS[m])) to 1e-4.
"""
import os
import sys

import numpy as np
import onnx
import onnxruntime as ort

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "training"))
from dgmf_data import poisson  # noqa: E402

PATH = os.path.join(HERE, "poisson_linear.onnx")
S, TOL = 0.02, 1e-4
OPS = {"MatMul", "Add", "Sub", "Mul", "Div", "Reshape", "ReduceSum"}


def main():
    model = onnx.load(PATH)
    onnx.checker.check_model(model, full_check=True)
    meta = {p.key: p.value for p in model.metadata_props}
    shift, scale = float(meta["dgmf.data_shift"]), float(meta["dgmf.data_scale"])
    ops = {n.op_type for n in model.graph.node}
    assert ops <= OPS, ops
    assert model.ir_version == 10 and [(o.domain, o.version) for o in model.opset_import] == [("", 17)]
    assert meta["dgmf.contract"] == "1" and meta["dgmf.fidelity"] == "discrete:3"

    rng = np.random.default_rng(2024)
    params = rng.uniform(poisson.PARAM_LOW, poisson.PARAM_HIGH, (5, 5))
    sess = ort.InferenceSession(PATH, providers=["CPUExecutionProvider"])
    L, B = len(poisson.LEVELS), len(params)
    worst, fields = 0.0, {}
    for m, n in enumerate(poisson.LEVELS):
        ref = np.stack([poisson.to_output(poisson.solve(p, n)) for p in params])
        fields[m] = ref
        for sigma, zscale in [(0.002, 0.0), (0.5, 1.0), (20.0, 30.0)]:
            z = (zscale * rng.normal(size=(B, 1, 32, 32))).astype(np.float32)
            feeds = {"z": z, "sigma": np.full(B, sigma, np.float32),
                     "params": params.astype(np.float32),
                     "fidelity": np.tile(np.eye(L, dtype=np.float32)[m], (B, 1))}
            out = sess.run(["out"], feeds)[0].astype(np.float64)
            mu = z + (S**2 + np.float64(np.float32(sigma)) ** 2) * out
            err = np.abs(shift + scale * mu[:, 0] - ref).max()
            worst = max(worst, err)
            print(f"level {m} ({n}x{n}) sigma={sigma:<6} max |u_model - u_solver| = {err:.2e}")
            assert err < TOL, err
    print(f"OK: all levels within {TOL} (worst {worst:.2e}); ops {sorted(ops)}; "
          f"file {os.path.getsize(PATH)} bytes")
    for a, b in [(0, 2), (1, 2)]:
        d = np.abs(fields[a] - fields[b]).max(axis=(1, 2))
        print(f"max |level{a} - level2| per sample: {np.array2string(d, precision=4)}"
              f"  (max {d.max():.4f})")


if __name__ == "__main__":
    main()
