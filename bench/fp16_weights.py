#!/usr/bin/env python3
"""Does storing an ensemble's weights as float16 (`dgmf-train ensemble --fp16-weights`) cost anything at
run time? The shipped ensemble against its float32-stored twin: the same weight values (each float16
weight widened exactly, the casts dropped). The outputs must be the same bits (float32 arithmetic on the
same values), and the per-call times match if ONNX Runtime folds the casts into float32 weights when it
loads the file instead of casting on every call.

    python3 bench/fp16_weights.py [models/poisson_ens.onnx] [--seconds 2] [--rounds 3]

One intra-op thread, each member in turn, batch 1 and 16, the two files alternated for --rounds rounds;
prints ms per call (best round) and the file sizes.
"""
from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, numpy_helper

REPO = Path(__file__).resolve().parents[1]


def widened(model: onnx.ModelProto) -> onnx.ModelProto:
    """The model with each `Cast(float16 initializer) -> float` replaced by the widened initializer."""
    m = onnx.ModelProto()
    m.CopyFrom(model)
    g = m.graph
    half = {t.name: t for t in g.initializer if t.data_type == TensorProto.FLOAT16}
    casts = [n for n in g.node if n.op_type == "Cast" and n.input[0] in half]
    keep = [t for t in g.initializer if t.name not in half]
    for n in casts:
        w = numpy_helper.to_array(half[n.input[0]]).astype(np.float32)
        keep.append(numpy_helper.from_array(w, n.output[0]))
    del g.initializer[:]
    g.initializer.extend(keep)
    nodes = [n for n in g.node if n not in casts]
    del g.node[:]
    g.node.extend(nodes)
    return m


def feeds(sess, rows, rng):
    f = {}
    for i in sess.get_inputs():
        if i.name == "member":
            continue
        dims = [rows if not isinstance(d, int) else d for d in i.shape]
        f[i.name] = (np.exp(rng.uniform(-3, 2, dims)) if i.name == "sigma" else rng.uniform(0.1, 0.9, dims)
                     ).astype(np.float32)
    return f


def per_call(sess, f, members, seconds):
    n, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        sess.run(None, dict(f, member=np.array(n % members, np.int64)))
        n += 1
    return 1e3 * (time.perf_counter() - t0) / n


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("model", nargs="?", default=str(REPO / "models" / "poisson_ens.onnx"))
    ap.add_argument("--seconds", type=float, default=2.0)
    ap.add_argument("--rounds", type=int, default=3)
    a = ap.parse_args(argv)
    model = onnx.load(a.model)
    members = int({p.key: p.value for p in model.metadata_props}["dgmf.members"])
    with tempfile.TemporaryDirectory() as tmp:
        twin = Path(tmp) / "fp32_twin.onnx"
        onnx.save(widened(model), str(twin))
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = 1
        files = {"float16-stored (shipped)": a.model, "float32-stored twin": str(twin)}
        sess = {k: ort.InferenceSession(p, opts, providers=["CPUExecutionProvider"]) for k, p in files.items()}
        for k, p in files.items():
            print(f"{k:26s} {Path(p).stat().st_size / 1e6:6.2f} MB")
        rng = np.random.default_rng(0)
        for rows in (1, 16):
            f = feeds(sess[next(iter(sess))], rows, rng)
            outs = [[s.run(None, dict(f, member=np.array(k, np.int64)))[0] for k in range(members)]
                    for s in sess.values()]
            same = all(np.array_equal(x, y) for x, y in zip(*outs))
            best = {k: min(per_call(s, f, members, a.seconds) for _ in range(a.rounds)) for k, s in sess.items()}
            print(f"batch {rows:2d}: " + "  ".join(f"{k} {v:.3f} ms" for k, v in best.items())
                  + f"  ratio {best['float16-stored (shipped)'] / best['float32-stored twin']:.3f}"
                  + f"  outputs the same bits: {same}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
