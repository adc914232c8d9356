"""`dgmf-train ensemble`: K score models of one contract -> one deep-ensemble model file.

    dgmf-train ensemble m0.onnx m1.onnx m2.onnx m3.onnx --out ens.onnx

The members are networks trained apart (other seeds, other data order) for the same data; the spread of
their samples then includes how much the networks disagree, which one network's samples cannot show
(docs/model-contract.md, "Deep ensembles").  The file holds every member's graph under a chain of ONNX `If`
nodes selected by a scalar int64 input `member`, and `dgmf.members = K`: one network evaluation per row,
as for a single network, and the engine draws sample j of every query with member j mod K.

`--fp16-weights` stores each weight tensor in float16 beside a `Cast` back to float: the file halves, the
inputs, the output and the arithmetic stay float32 (ONNX Runtime folds the casts when it loads the model;
bench/fp16_weights.py), and each member then answers within the weights' rounding of its own file
(checked: ≤ 1e-2 of the output's largest value; 1.5-2.4e-4 on the shipped ensembles, which are written
so).

Every member must have the same contract: inputs, output, shape, parameters, fidelity, coordinates,
σ range, output kind, data normalization (those computed from the data within DATA_REL_TOL), and the same
opset.  The members' calibration (`dgmf.std_scale`)
and recommended sampler do not carry over, since the ensemble's spread is not a member's: calibrate the
ensemble (`dgmf-train calibrate ens.onnx --data split/calib`).
"""
from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from .contract import ContractError, check_with_cli, read_metadata, save_checked

#: keys that may differ between members, and what the ensemble does with them
PER_MEMBER = ("dgmf.name", "dgmf.description", "dgmf.std_scale", "dgmf.sampler")
MAX_MEMBERS = 64  # the engine's limit (contract::MAX_MEMBERS)
FP16_MAX = 65504.0  # float16's largest finite value
FP16_MIN_SIZE = 256  # smaller tensors (biases, norms' scales) stay float32: they weigh nothing
#: numbers computed from the training data (normalization, sigma_max as the largest pairwise distance):
#: float64 sums whose last digits can differ between two runs of a data generator (a topopt member's
#: regenerated data gave a data_scale 1.3e-12 apart). Members within DATA_REL_TOL share them; the
#: ensemble keeps the first member's (the networks compute in float32, resolution 6e-8).
DATA_DERIVED = ("dgmf.data_shift", "dgmf.data_scale", "dgmf.sigma_max")
DATA_REL_TOL = 1e-9


def _signature(graph):
    """Names, element types and dims of the graph's inputs and outputs."""
    def one(v):
        t = v.type.tensor_type
        dims = tuple(d.dim_param or d.dim_value for d in t.shape.dim)
        return v.name, t.elem_type, dims
    return [one(v) for v in graph.input], [one(v) for v in graph.output]


def _metadata(model, path):
    """The member's `dgmf.*` metadata (contract.read_metadata), refused when it is not a single network."""
    try:
        raw = read_metadata(model).raw
    except (KeyError, ValueError) as e:
        raise ContractError(f"{path} is not a dgmf score model (its metadata lacks or garbles {e}); give "
                            "models exported under the contract") from e
    if "dgmf.members" in raw or any(i.name == "member" for i in model.graph.input):
        raise ContractError(f"{path} is already an ensemble; give the single-network members")
    return raw


def _weights(model):
    """A fingerprint of a network's numbers: its initializers and constant nodes, not its names or metadata
    (two exports of one checkpoint match)."""
    import hashlib
    h = hashlib.sha256()
    for t in sorted(model.graph.initializer, key=lambda t: t.name):
        h.update(t.SerializeToString().replace(t.name.encode(), b""))
    for n in model.graph.node:
        if n.op_type == "Constant":
            for a in n.attribute:
                h.update(a.SerializeToString())
    return h.hexdigest()


def _close(a, b):
    """Two comma-separated lists of numbers that agree within DATA_REL_TOL, element by element."""
    try:
        x = np.array([float(v) for v in a.split(",")])
        y = np.array([float(v) for v in b.split(",")])
    except (AttributeError, ValueError):
        return False
    return x.shape == y.shape and bool(np.all(np.abs(x - y) <= DATA_REL_TOL * np.maximum(np.abs(x), np.abs(y))))


def _check_members(models, paths):
    """The first member's metadata, once every member is a single network of its contract, signature and
    opsets."""
    metas = [_metadata(m, p) for m, p in zip(models, paths)]
    meta0, sig0 = metas[0], _signature(models[0].graph)
    ops = lambda m: sorted((o.domain, o.version) for o in m.opset_import)
    for model, path, meta in zip(models[1:], paths[1:], metas[1:]):
        keys = sorted(k for k in set(meta0) | set(meta) if k.startswith("dgmf.") and k not in PER_MEMBER)
        for k in keys:
            if meta0.get(k) != meta.get(k) and not (k in DATA_DERIVED and _close(meta0.get(k), meta.get(k))):
                raise ContractError(
                    f"{path}: {k} is {meta.get(k)!r} but {paths[0]} has {meta0.get(k)!r}; the members of "
                    "an ensemble must share their contract (train them on the same data, export them the "
                    "same way)")
        if _signature(model.graph) != sig0:
            raise ContractError(f"{path}: inputs/outputs {_signature(model.graph)} differ from {paths[0]}'s "
                                f"{sig0} (element types, e.g. an fp16 copy among fp32 members, included)")
        if ops(model) != ops(models[0]):
            raise ContractError(f"{path}: opsets {list(model.opset_import)} differ from {paths[0]}'s; "
                                "export every member with the same opset")
    seen = {}
    for k, (model, path) in enumerate(zip(models, paths)):
        twin = seen.setdefault(_weights(model), k)
        if twin != k:
            raise ContractError(f"member {k} ({path}) holds the same network as member {twin} ({paths[twin]}: "
                                "the same weights): an ensemble's "
                                "members are networks trained apart (another --seed); one network twice adds "
                                "no disagreement, only weight")
    return meta0


def _fp16_weights(initializers):
    """The initializers with every float32 tensor of FP16_MIN_SIZE elements or more stored as float16,
    and the `Cast` nodes that give the graph back its float32 tensors under their old names."""
    from onnx import TensorProto, helper, numpy_helper
    kept, casts = [], []
    for t in initializers:
        if t.data_type != TensorProto.FLOAT or int(np.prod(t.dims)) < FP16_MIN_SIZE:
            kept.append(t)
            continue
        w = numpy_helper.to_array(t)
        if np.abs(w).max() > FP16_MAX:
            raise ContractError(f"weight {t.name} reaches {np.abs(w).max():.3g}, beyond float16's range "
                                f"({FP16_MAX:g}); compose without --fp16-weights")
        kept.append(numpy_helper.from_array(w.astype(np.float16), f"{t.name}/fp16"))
        casts.append(helper.make_node("Cast", [f"{t.name}/fp16"], [t.name], to=TensorProto.FLOAT))
    return kept, casts


def compose(paths, out, name=None, fp16_weights=False):
    """Writes the ensemble of the models at `paths` to `out` (`dgmf.name`: `name`, else the first
    member's; weights stored as float16 when `fp16_weights`); returns its metadata."""
    import onnx
    from onnx import TensorProto, compose as oc, helper
    if not 2 <= len(paths) <= MAX_MEMBERS:
        raise ContractError(f"an ensemble has 2 to {MAX_MEMBERS} members, got {len(paths)}")
    models = []
    for p in paths:
        try:
            models.append(onnx.load(str(p)))
        except FileNotFoundError:
            raise
        except Exception as e:  # onnx raises protobuf's DecodeError and others for a file that is not ONNX
            raise ContractError(f"{p}: not a readable ONNX model ({type(e).__name__}: {e})") from e
    meta = _check_members(models, [str(p) for p in paths])
    out_name = models[0].graph.output[0].name
    bodies, initializers = [], []
    for k, model in enumerate(models):
        # Every name but the shared inputs gets the member's prefix: the graphs live side by side.
        m = oc.add_prefix(model, prefix=f"member{k}/", rename_inputs=False, rename_outputs=True)
        g = m.graph
        initializers += list(g.initializer)
        bodies.append(helper.make_graph(list(g.node), f"member{k}", [], list(g.output),
                                        value_info=list(g.value_info)))
    elem = models[0].graph.output[0].type.tensor_type.elem_type

    def select(k):
        """member == k ? member k : select(k + 1); the last member is the final else."""
        if k == len(bodies) - 1:
            return bodies[k]
        nodes = [helper.make_node("Constant", [], [f"select{k}/k"],
                                  value=helper.make_tensor(f"select{k}/k", TensorProto.INT64, [], [k])),
                 helper.make_node("Equal", ["member", f"select{k}/k"], [f"select{k}/is"]),
                 helper.make_node("If", [f"select{k}/is"], [f"select{k}/out"],
                                  then_branch=bodies[k], else_branch=select(k + 1))]
        return helper.make_graph(nodes, f"select{k}", [],
                                 [helper.make_tensor_value_info(f"select{k}/out", elem, None)])

    chain = select(0)
    casts = []
    if fp16_weights:
        initializers, casts = _fp16_weights(initializers)
    nodes = casts + list(chain.node) + [helper.make_node("Identity", [chain.output[0].name], [out_name])]
    inputs = list(models[0].graph.input) + [helper.make_tensor_value_info("member", TensorProto.INT64, [])]
    graph = helper.make_graph(nodes, "dgmf_ensemble", inputs, list(models[0].graph.output),
                              initializer=initializers)
    model = helper.make_model(graph, opset_imports=list(models[0].opset_import))
    model.ir_version = models[0].ir_version
    props = {k: v for k, v in meta.items() if k not in ("dgmf.std_scale", "dgmf.sampler")}
    props["dgmf.members"] = str(len(models))
    if name is not None:
        props["dgmf.name"] = name
    if "dgmf.description" in props:
        props["dgmf.description"] = f"{props['dgmf.description']} (a deep ensemble of {len(models)} networks)"
    save_checked(model, props, out, doc=f"deep ensemble of {len(models)} members: "
                 + ", ".join(Path(p).name for p in paths)
                 + (" (weights stored as float16)" if fp16_weights else ""))
    return props


def check(paths, out, rows=8, seed=0, tol=1e-5):
    """ONNX Runtime on random inputs: the ensemble with member = k gives member k's output."""
    import onnxruntime as ort
    ens = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"])
    rng = np.random.default_rng(seed)
    feeds = {}
    for i in ens.get_inputs():
        if i.name == "member":
            continue
        dims = [rows if not isinstance(d, int) else d for d in i.shape]
        if i.name == "fidelity" and "float" in i.type and len(dims) == 2 and dims[1] > 1:
            v = np.eye(dims[1])[rng.integers(0, dims[1], rows)]
        elif i.name == "sigma":
            v = np.exp(rng.uniform(-3, 2, dims))
        else:
            v = rng.uniform(-1, 1, dims)
        feeds[i.name] = v.astype(np.float16 if "float16" in i.type else np.float32)
    worst = 0.0
    for k, p in enumerate(paths):
        want = ort.InferenceSession(str(p), providers=["CPUExecutionProvider"]).run(None, feeds)[0]
        got = ens.run(None, dict(feeds, member=np.array(k, np.int64)))[0]
        err = float(np.abs(got.astype(np.float64) - want).max() / max(np.abs(want).max(), 1e-30))
        worst = max(worst, err)
        if not err <= tol:
            raise ContractError(f"member {k} ({p}) in the ensemble differs from the file by {err:.2e} "
                                f"(relative, > {tol:g})")
    print(f"onnxruntime: each of the {len(paths)} members gives its own file's output "
          f"(max relative difference {worst:.1e} on {rows} random rows)")


def main(argv=None, prog="dgmf-train ensemble"):
    ap = argparse.ArgumentParser(prog=prog, description=" ".join(__doc__.split("\n\n")[0].split()) + ".",
                                 formatter_class=argparse.RawDescriptionHelpFormatter,
                                 epilog="\n".join(__doc__.splitlines()[2:]))
    ap.add_argument("members", nargs="+", help="the member models (.onnx), 2 to 64, of one contract")
    ap.add_argument("--out", required=True, help="the ensemble model to write (.onnx)")
    ap.add_argument("--name", help="its dgmf.name (default: the first member's)")
    ap.add_argument("--fp16-weights", action="store_true",
                    help="store the weights as float16 (half the file; float32 arithmetic)")
    a = ap.parse_args(argv)
    if Path(a.out).resolve() in [Path(p).resolve() for p in a.members]:
        ap.error("--out names one of the members; write the ensemble to a new file")
    props = compose(a.members, a.out, a.name, a.fp16_weights)
    size = Path(a.out).stat().st_size
    print(f"wrote {a.out}: {props['dgmf.members']} members, {size / 1e6:.2f} MB "
          f"({size / 1e6 / int(props['dgmf.members']):.2f} MB per member)")
    check(a.members, a.out, tol=1e-2 if a.fp16_weights else 1e-5)
    check_with_cli(a.out)
    print(f"next: calibrate it (its spread is not a member's): dgmf-train calibrate {a.out} --data DIR")
    return 0
