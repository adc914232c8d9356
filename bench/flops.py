#!/usr/bin/env python3
"""Floating-point work of one network evaluation of a contract model, counted from its ONNX graph.

    python3 bench/flops.py models/poisson.onnx [more.onnx ...] [--json OUT]

Counts multiply-adds as 2 FLOPs in Conv, ConvTranspose, Gemm and MatMul (the operators that hold
the work; bias adds included), and 1 FLOP per output element of every other arithmetic node
(normalisations, activations, adds) as "other". Shapes are read from a real run of the graph at batch
1 in ONNX Runtime (every operator's inputs and output are made graph outputs), so Reshape-heavy exports
need no static shape inference; all counted work is linear in the batch, so per-sample figures hold
for any batch. QDQ (int8) copies are counted by the float operator they stand for: a QLinearConv or
a Conv fed by DequantizeLinear does the same number of multiply-adds.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "training"))
from dgmf_train.contract import read_metadata  # noqa: E402

HEAVY = {"Conv", "ConvTranspose", "Gemm", "MatMul", "QLinearConv", "QLinearMatMul", "ConvInteger",
         "MatMulInteger"}
SHAPELESS = {"Constant", "Shape", "Reshape", "Unsqueeze", "Squeeze", "Gather", "Concat", "Flatten",
             "Transpose", "Identity", "Slice", "QuantizeLinear", "DequantizeLinear", "Cast"}


def feeds(model: onnx.ModelProto) -> dict:
    meta = read_metadata(model)
    shape, k, p = meta.shape, meta.levels or 1, len(meta.param_names)
    dtype = {1: np.float32, 10: np.float16}[model.graph.input[0].type.tensor_type.elem_type]
    f = {"z": np.zeros([1] + shape), "sigma": np.ones(1), "params": np.full((1, p), 0.5),
         "fidelity": np.ones((1, k)) / k}
    if meta.coord_names:
        f["coords"] = np.zeros((1, len(meta.coord_names)))
    return {k: v.astype(dtype) for k, v in f.items()}


def shapes(model: onnx.ModelProto) -> dict:
    """name -> shape of every tensor that a node reads or writes, from one batch-1 run."""
    m = onnx.ModelProto()
    m.CopyFrom(model)
    have = {o.name for o in m.graph.output}
    inits = {i.name: list(i.dims) for i in m.graph.initializer}
    for node in m.graph.node:
        for name in list(node.input) + list(node.output):
            if name and name not in have and name not in inits:
                m.graph.output.append(onnx.ValueInfoProto(name=name))
                have.add(name)
    so = ort.SessionOptions()
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    sess = ort.InferenceSession(m.SerializeToString(), so, providers=["CPUExecutionProvider"])
    names = [o.name for o in sess.get_outputs()]
    f = feeds(model)
    out = sess.run(names, {i.name: f[i.name] for i in sess.get_inputs()})
    got = {n: list(np.shape(v)) for n, v in zip(names, out)}
    got.update(inits)
    got.update({k: list(v.shape) for k, v in f.items()})
    return got


def attr(node, name, default):
    for a in node.attribute:
        if a.name == name:
            return onnx.helper.get_attribute_value(a)
    return default


def count(model: onnx.ModelProto) -> dict:
    s = shapes(model)
    # A weight reached through DequantizeLinear: its float shape is the quantized initializer's.
    heavy = other = 0
    by_op: dict[str, int] = {}
    for node in model.graph.node:
        op = node.op_type
        if op in HEAVY:
            out = s[node.output[0]]
            if op in ("Conv", "ConvInteger", "QLinearConv"):
                w = s[node.input[3 if op == "QLinearConv" else 1]]
                # out [N, Cout, *spatial]; w [Cout, Cin/group, *kernel]
                macs = int(np.prod(out)) * int(np.prod(w[1:]))
            elif op == "ConvTranspose":
                x, w = s[node.input[0]], s[node.input[1]]
                macs = int(np.prod(x)) * int(np.prod(w[1:]))
            elif op == "Gemm":
                a = s[node.input[0]]
                k = a[0] if attr(node, "transA", 0) else a[1]
                macs = int(np.prod(out)) * k
            else:  # MatMul family: out [..., M, N], K from the first input's last axis
                a = s[node.input[3 if op == "QLinearMatMul" else 0]]
                macs = int(np.prod(out)) * a[-1]
            flops = 2 * macs + (int(np.prod(out)) if len(node.input) > 2 and op in ("Conv", "Gemm") else 0)
            heavy += flops
            by_op[op] = by_op.get(op, 0) + flops
        elif op not in SHAPELESS and node.output and node.output[0] in s:
            other += int(np.prod(s[node.output[0]]))
    return {"heavy_flops": heavy, "other_flops": other, "by_op": by_op}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("models", nargs="+")
    ap.add_argument("--json", help="write the counts here")
    a = ap.parse_args(argv)
    res = {}
    for path in a.models:
        c = count(onnx.load(path))
        res[Path(path).name] = c
        print(f"{Path(path).name:24s} {c['heavy_flops'] / 1e9:8.4f} GFLOP/sample in Conv/Gemm/MatMul"
              f"  + {c['other_flops'] / 1e9:.4f} G other  "
              + " ".join(f"{k} {v / 1e9:.4f}" for k, v in sorted(c["by_op"].items())))
    if a.json:
        Path(a.json).write_text(json.dumps(res, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
