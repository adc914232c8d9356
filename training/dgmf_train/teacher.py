"""A score model's training checkpoint recovered from its exported ONNX file, for the models whose
checkpoint is gone (the shipped ones): `dgmf-train distill models/poisson.onnx` starts from it.

The exporter keeps the torch parameter names (`model.<name>`) for every weight but the GroupNorm
affine pairs, which torch writes as constants of a Mul and an Add node in the norm's scope
(`/model/net/down.0/norm1/Mul`); those are read from the nodes. The result is checked: the rebuilt
network, wrapped as it was exported, must give the ONNX file's scores on random inputs (ONNX Runtime,
relative error <= 1e-4), or nothing is returned.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from onnx import load as onnx_load, numpy_helper

from . import benchmarks
from .contract import ContractError, compare, random_inputs, read_metadata
from .train import build_model


def checkpoint_from_onnx(path):
    """The checkpoint dict `train.py` writes (weights as both `model` and `ema`) for the score model at
    `path`, a built-in benchmark's model exported by `dgmf-train export`."""
    meta = read_metadata(path).raw
    name = meta.get("dgmf.name", "")
    if name not in benchmarks.BENCH:
        raise ContractError(f"{path} is a model of `{name}`; only the built-in benchmarks' models "
                            f"({', '.join(benchmarks.BENCH)}) can be read back from ONNX: for your own "
                            "model, distil its training checkpoint (.pt)")
    if meta.get("dgmf.output") != "score":
        raise ContractError(f"{path}: dgmf.output is `{meta.get('dgmf.output')}`, not `score`: not a "
                            "model dgmf-train exported")
    graph = onnx_load(str(path)).graph
    init = {i.name: numpy_helper.to_array(i) for i in graph.initializer}
    manifest = benchmarks.manifest(name)
    shape = tuple(int(s) for s in meta["dgmf.shape"].split(","))
    channels = (init["model.net.inp.weight"].shape[0],) + tuple(
        init[f"model.net.down.{i}.conv1.weight"].shape[0] for i in (1, 2))
    emb = init["model.cond.sigma_mlp.2.weight"].shape[0]
    net = build_model(manifest, shape, channels=channels, emb=emb)
    state = net.state_dict()
    norms = _norm_affines(graph, init)
    for key in state:
        value = init.get(f"model.{key}", norms.get(key))
        if value is None:
            if key in dict(net.named_buffers()):
                continue  # a buffer the manifest fixes (its ranges), rebuilt by build_model
            raise ContractError(f"{path}: no weight `{key}` in the graph; was it exported by dgmf-train?")
        if value.size != state[key].numel():
            raise ContractError(f"{path}: `{key}` has {value.size} values, the network {state[key].numel()}")
        state[key] = torch.from_numpy(np.array(value, np.float32).reshape(state[key].shape))
    net.load_state_dict(state)
    shift = [float(v) for v in meta["dgmf.data_shift"].split(",")]
    scale = [float(v) for v in meta["dgmf.data_scale"].split(",")]
    # No manifest or known values of its own: a built-in benchmark's come from benchmarks.py
    # (train.checkpoint_manifest, checkpoint_known), and _check shows they are the file's.
    ck = dict(bench=name,
              arch=dict(channels=list(channels), emb=int(emb)), baseline=False, shape=shape,
              model=net.state_dict(), ema=net.state_dict(), shift=shift, scale=scale,
              sigma_min=float(meta["dgmf.sigma_min"]), sigma_max=float(meta["dgmf.sigma_max"]),
              steps=0, seconds=0.0, log=[], args=dict(from_onnx=str(Path(path).resolve())))
    _check(path, ck, net.eval(), manifest, shape)
    return ck


def _norm_affines(graph, init):
    """GroupNorm weight and bias by torch name, from the Mul/Add constants of each norm's scope."""
    out = {}
    for node in graph.node:
        if node.op_type not in ("Mul", "Add") or not node.name.startswith("/model/"):
            continue
        if "/" not in node.name[len("/model/"):]:
            continue
        scope, op = node.name[len("/model/"):].rsplit("/", 1)
        if "norm" not in scope.rsplit("/", 1)[-1] or op not in ("Mul", "Add"):
            continue
        const = [i for i in node.input if i in init and not i.startswith("model.")]
        if len(const) == 1:
            out[scope.replace("/", ".") + (".weight" if op == "Mul" else ".bias")] = init[const[0]]
    return out


def _check(path, ck, net, manifest, shape):
    from .export import Exported, known_values
    feeds = random_inputs(manifest, shape, 8, ck["sigma_min"], ck["sigma_max"])
    compare(str(path), Exported(net, known_values(ck)).eval(), feeds,
            what=f"{path} read back into torch vs the file", tol=1e-4)
