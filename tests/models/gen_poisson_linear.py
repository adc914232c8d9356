#!/usr/bin/env python3
"""Generate poisson_linear.onnx: a stand-in surrogate for the Poisson benchmark.

Run from the repo root:  python3 tests/models/gen_poisson_linear.py

The 5-point FD solution of training/dgmf_data/poisson.py is linear in the 5 params
(edge values and source amplitude enter linearly; the corner rule is a fixed average),
and so is the bilinear interpolation to 32x32.  Hence at level m (n = LEVELS[m])

    u(params) = params @ B_m,   B_m[k] = to_output(solve(e_k, n)).ravel()   (5 x 1024)

The model is the exact VE score of N(mu, s^2 I) in normalized units z = (u - 0.5)/0.25,
mu = (params @ B_m - 0.5)/0.25 with m chosen by the one-hot fidelity and s = 0.02:

    out = (mu - z) / (s^2 + sigma^2)

The output is deterministic: rerunning produces a byte-identical file.
"""
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "training"))
from dgmf_data import poisson  # noqa: E402

SHIFT, SCALE, S = 0.5, 0.25, 0.02  # data normalization and spread (normalized units)
N_OUT = poisson.OUT_N * poisson.OUT_N
F32 = TensorProto.FLOAT

META = {
    "dgmf.contract": "1", "dgmf.sde": "ve", "dgmf.sigma_min": "0.002",
    "dgmf.sigma_max": "20", "dgmf.output": "score", "dgmf.shape": "1,32,32",
    "dgmf.param_names": ",".join(poisson.PARAM_NAMES),
    "dgmf.param_min": "0.1,0.1,0.1,0.1,0.1", "dgmf.param_max": "0.9,0.9,0.9,0.9,0.9",
    "dgmf.fidelity": "discrete:3", "dgmf.fidelity_labels": "8x8,16x16,32x32",
    "dgmf.data_shift": "0.5", "dgmf.data_scale": "0.25", "dgmf.name": "poisson_linear",
    "dgmf.description": "Stand-in Poisson surrogate: exact linear superposition of the "
    "5-point FD solver's basis solutions at each fidelity, interpolated to 32x32, with "
    "Gaussian spread 0.005 (physical); not a trained network",
}


def basis(n):
    """B [5, 1024]: the 32x32 output field for each unit parameter vector."""
    return np.stack([poisson.to_output(poisson.solve(e, n)).ravel() for e in np.eye(5)])


def build_graph(bcat):
    inits, nodes = [], []

    def const(name, value, dtype=np.float32):
        inits.append(numpy_helper.from_array(np.asarray(value, dtype=dtype), name))
        return name

    def node(op, ins, out, **attrs):
        nodes.append(helper.make_node(op, ins, [out], **attrs))
        return out

    L = len(poisson.LEVELS)
    # mu = sum_m fidelity[:, m] * (params @ B_m/scale) - shift/scale   (one-hot fidelity)
    y = node("MatMul", ["params", const("Bcat", bcat / SCALE)], "y")        # [b, L*1024]
    y = node("Reshape", [y, const("y_shape", [-1, L, N_OUT], np.int64)], "y3")
    fid = node("Reshape", ["fidelity", const("fid_shape", [-1, L, 1], np.int64)], "fid3")
    sel = node("Mul", [y, fid], "sel")
    mu = node("ReduceSum", [sel, const("axes", [1], np.int64)], "mu_flat", keepdims=0)
    mu = node("Add", [mu, const("offset", -SHIFT / SCALE)], "mu_norm")
    mu = node("Reshape", [mu, const("mu_shape", [-1, 1, 32, 32], np.int64)], "mu")
    # out = (mu - z) / (s^2 + sigma^2)
    sig = node("Reshape", ["sigma", const("sigma_shape", [-1, 1, 1, 1], np.int64)], "sig")
    den = node("Add", [node("Mul", [sig, sig], "sig2"), const("s2", S * S)], "den")
    node("Div", [node("Sub", [mu, "z"], "diff"), den], "out")

    vi = lambda name, dims: helper.make_tensor_value_info(name, F32, ["batch", *dims])
    inputs = [vi("z", [1, 32, 32]), vi("sigma", []), vi("params", [5]), vi("fidelity", [L])]
    return helper.make_graph(nodes, "poisson_linear", inputs, [vi("out", [1, 32, 32])], inits)


def main():
    bcat = np.concatenate([basis(n) for n in poisson.LEVELS], axis=1)  # [5, 3072]
    model = helper.make_model(build_graph(bcat), opset_imports=[helper.make_opsetid("", 17)],
                              ir_version=10, producer_name="gen_poisson_linear.py")
    helper.set_model_props(model, META)
    onnx.checker.check_model(model, full_check=True)
    path = os.path.join(HERE, "poisson_linear.onnx")
    onnx.save_model(model, path)
    lo, hi = poisson.PARAM_LOW[:, None], poisson.PARAM_HIGH[:, None]
    u_min = np.minimum(lo * bcat, hi * bcat).sum(0).min()  # exact bounds of u over the box
    u_max = np.maximum(lo * bcat, hi * bcat).sum(0).max()
    print(f"wrote {os.path.relpath(path)} ({os.path.getsize(path)} bytes)")
    print(f"levels {poisson.LEVELS}, basis Bcat {bcat.shape}, u over the param box in "
          f"[{u_min:.4f}, {u_max:.4f}] -> normalized [{(u_min - SHIFT) / SCALE:.3f}, "
          f"{(u_max - SHIFT) / SCALE:.3f}]")


if __name__ == "__main__":
    main()
