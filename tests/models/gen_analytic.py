#!/usr/bin/env python3
"""Generate small analytic ONNX score models (and broken variants) for the tests.

Run from the repo root:  python3 tests/models/gen_analytic.py

The data distribution (in normalized units) is N(mu, s^2 I) with s = 0.5, where mu
is linear in the conditioning inputs:

    mu_flat = c0 + params @ B + fidelity @ O (or h * G) (+ coords @ Dc)

so the exact VE score at noise level sigma is  score = -(z - mu) / (s^2 + sigma^2),
and the eps / x0 parametrisations follow from score = -eps/sigma = (x0 - z)/sigma^2.
Tests can therefore check the engine against closed-form answers, which are written
to analytic.json together with the exact float32 coefficients.

The output is deterministic: rerunning produces byte-identical files.
"""
import json
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper
from onnx.external_data_helper import set_external_data

HERE = os.path.dirname(os.path.abspath(__file__))
BAD = os.path.join(HERE, "bad")
S = 0.5  # std of the analytic data distribution
F32, F16, I64 = TensorProto.FLOAT, TensorProto.FLOAT16, TensorProto.INT64


def fmt(x):
    """Shortest round-trip number text, without a trailing '.0' (10, 0.01, -2)."""
    s = repr(float(x))
    return s[:-2] if s.endswith(".0") else s


def fmt_list(xs):
    return ",".join(fmt(x) for x in xs)


def draw_coefficients():
    """All coefficients, drawn in a fixed order from one seeded generator."""
    rng = np.random.default_rng(12345)
    u = lambda lo, hi, *shape: rng.uniform(lo, hi, shape).astype(np.float32)
    main = dict(c0=u(-1, 1, 24), B=u(-1, 1, 2, 24), O=u(-1.5, 1.5, 3, 24))
    cont = dict(c0=u(-1, 1, 16), B=u(-1, 1, 2, 16), G=u(-0.5, 0.5, 16))
    coords = dict(c0=u(-1, 1, 8), B=u(-1, 1, 2, 8), O=u(-1.5, 1.5, 3, 8),
                  Dc=u(-0.5, 0.5, 1, 8))
    return main, cont, coords


def build_graph(name, shape, c0, linear, kind="score", fp16=False, z_flat=False,
                const_sigma=None, extra_output=False):
    """Build the graph computing the analytic score/eps/x0.

    linear: list of (input name, width, matrix [width, n], elem type); each input
    contributes input @ matrix to mu_flat.  Non-float inputs are Cast to float.
    fp16 makes z, sigma, the linear inputs and the output float16 (compute in f32).
    z_flat declares z as [batch, n] and reshapes it inside.
    const_sigma replaces the sigma input by a constant (for the bad variants).
    """
    n = int(np.prod(shape))
    nodes, inits, inputs = [], [], []
    ftype = F16 if fp16 else F32

    def const(cname, value, dtype=np.float32):
        inits.append(numpy_helper.from_array(np.asarray(value, dtype=dtype), cname))
        return cname

    def node(op, ins, out, **attrs):
        nodes.append(helper.make_node(op, ins, [out], **attrs))
        return out

    def graph_input(iname, dims, elem):
        """Declare an input; return the name of its float32 version."""
        inputs.append(helper.make_tensor_value_info(iname, elem, ["batch", *dims]))
        return iname if elem == F32 else node("Cast", [iname], iname + "_f", to=F32)

    z = graph_input("z", [n] if z_flat else list(shape), ftype)
    if z_flat:
        z = node("Reshape", [z, const("full_shape", [-1, *shape], np.int64)], "z_full")
    if const_sigma is None:
        sig = graph_input("sigma", [], ftype)
        bshape = const("sigma_shape", [-1] + [1] * len(shape), np.int64)
        sig = node("Reshape", [sig, bshape], "sigma_b")
    else:
        sig = const("sigma_b", np.full([1] * (len(shape) + 1), const_sigma))

    # mu_flat = c0 + sum_i input_i @ M_i, then reshape to [batch, *shape]
    mu = const("c0", c0)
    for iname, width, mat, elem in linear:
        x = graph_input(iname, [width], ftype if elem == F32 else elem)
        term = node("MatMul", [x, const(iname + "_coef", mat)], iname + "_term")
        mu = node("Add", [mu, term], "mu_" + iname)
    mu = node("Reshape", [mu, const("mu_shape", [-1, *shape], np.int64)], "mu")

    # r = (z - mu) / (s^2 + sigma^2)
    sig2 = node("Mul", [sig, sig], "sigma2")
    den = node("Add", [sig2, const("s2", S * S)], "den")
    r = node("Div", [node("Sub", [z, mu], "diff"), den], "r")
    res = "out_f" if fp16 else "out"
    if kind == "score":    # score = -r
        node("Mul", [r, const("minus_one", -1.0)], res)
    elif kind == "eps":    # eps = sigma * r
        node("Mul", [sig, r], res)
    elif kind == "x0":     # D = z - sigma^2 * r
        node("Sub", [z, node("Mul", [sig2, r], "sig2r")], res)
    else:
        raise ValueError(kind)
    if fp16:
        node("Cast", [res], "out", to=F16)

    outs = [helper.make_tensor_value_info("out", ftype, ["batch", *shape])]
    if extra_output:
        outs.append(helper.make_tensor_value_info("mu", F32, ["batch", *shape]))
    return helper.make_graph(nodes, name, inputs, outs, inits)


def make_model(graph, meta):
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)],
                              ir_version=10, producer_name="gen_analytic.py")
    helper.set_model_props(model, meta)  # dict insertion order is kept
    return model


def base_meta(name, desc, shape, output, fidelity, labels=None, coords=None,
              shift=None, scale=None):
    m = {"dgmf.contract": "1", "dgmf.sde": "ve", "dgmf.sigma_min": fmt(0.01),
         "dgmf.sigma_max": fmt(10), "dgmf.output": output,
         "dgmf.shape": fmt_list(shape), "dgmf.param_names": "a,b",
         "dgmf.param_min": fmt_list([0, -1]), "dgmf.param_max": fmt_list([1, 1]),
         "dgmf.fidelity": fidelity}
    if labels:
        m["dgmf.fidelity_labels"] = labels
    if coords:
        m.update({"dgmf.coord_names": "t", "dgmf.coord_min": fmt(0),
                  "dgmf.coord_max": fmt(3)})
    if shift is not None:
        m["dgmf.data_shift"] = fmt_list(shift)
        m["dgmf.data_scale"] = fmt_list(scale)
    m["dgmf.name"], m["dgmf.description"] = name, desc
    return m


def save(model, path, check=True):
    if check:
        onnx.checker.check_model(model, full_check=True)
    onnx.save_model(model, path)


def point_outside(model):
    tensor = model.graph.initializer[0]
    set_external_data(tensor, location="../../../../etc/passwd", offset=0, length=96)
    tensor.ClearField("raw_data")
    tensor.ClearField("float_data")


def varint(v):
    out = bytearray()
    while True:
        b = v & 0x7F
        v >>= 7
        out.append(b | (0x80 if v else 0))
        if not v:
            return bytes(out)


def fields(buf):
    """Top-level (key bytes, value bytes) pairs of a protobuf message (wire types 0 and 2 only)."""
    i, out = 0, []
    while i < len(buf):
        k0 = i
        while buf[i] & 0x80:
            i += 1
        i += 1
        key, shift = 0, 0
        for b in buf[k0:i]:
            key |= (b & 0x7F) << shift
            shift += 7
        v0 = i
        if key & 7 == 0:
            while buf[i] & 0x80:
                i += 1
            i += 1
        elif key & 7 == 2:
            n, shift = 0, 0
            while True:
                b = buf[i]
                i += 1
                n |= (b & 0x7F) << shift
                shift += 7
                if not b & 0x80:
                    break
            i += n
        else:
            raise ValueError(key)
        out.append((key, buf[k0:v0], buf[v0:i]))
    return out


def wide_key(key):
    """`key` as a 5-byte varint with bit 32 set (protobuf truncates tags to 32 bits)."""
    return bytes([(key & 0x7F) | 0x80, ((key >> 7) & 0x7F) | 0x80, ((key >> 14) & 0x7F) | 0x80,
                  ((key >> 21) & 0x7F) | 0x80, ((key >> 28) & 0x0F) | 0x10])


def hidden_tag_external(model):
    index = [t.name for t in model.graph.initializer].index("c0")
    tensor = model.graph.initializer[index]
    nbytes = 4 * int(np.prod(tensor.dims))  # c0: float32
    set_external_data(tensor, location="dgmf_secret.bin", offset=0, length=nbytes)
    tensor.data_location = TensorProto.EXTERNAL
    tensor.ClearField("raw_data")
    tensor.ClearField("float_data")
    tbytes = b"".join((wide_key(k) if k >> 3 in (13, 14) else kb) + v
                      for k, kb, v in fields(tensor.SerializeToString()))
    del model.graph.initializer[index]
    graph = model.graph.SerializeToString() + b"\x2a" + varint(len(tbytes)) + tbytes
    model.graph.CopyFrom(onnx.GraphProto())
    model.ClearField("graph")
    rest = model.SerializeToString()
    return rest + b"\x3a" + varint(len(graph)) + graph


def main():
    os.makedirs(BAD, exist_ok=True)
    main_c, cont_c, coord_c = draw_coefficients()
    shape = [2, 3, 4]
    info = {}

    def record(fname, shape, output, fidelity, shift, scale, c, dtype="float32"):
        lst = lambda k: None if k not in c else c[k].astype(np.float64).tolist()
        info[fname] = dict(shape=shape, s=S, sigma_min=0.01, sigma_max=10.0,
                           output=output, fidelity=fidelity, dtype=dtype,
                           data_shift=shift, data_scale=scale, c0=lst("c0"),
                           B=lst("B"), O=lst("O"), G=lst("G"), Dc=lst("Dc"))

    # --- valid models -----------------------------------------------------------
    def main_linear(B=main_c["B"], params_type=F32):
        return [("params", B.shape[0], B, params_type), ("fidelity", 3, main_c["O"], F32)]

    def main_meta(name, output, desc):
        return base_meta(name, desc, shape, output, "discrete:3", "coarse,medium,fine",
                         shift=[1, -2], scale=[2, 0.5])

    def main_graph(kind="score", **kw):
        return build_graph("analytic", shape, main_c["c0"], kw.pop("linear", main_linear()),
                           kind, **kw)

    for kind in ["score", "eps", "x0"]:
        name = "analytic_" + kind
        meta = main_meta(name, kind, f"Gaussian N(mu, 0.25 I) with linear mu; emits {kind}")
        save(make_model(main_graph(kind), meta), os.path.join(HERE, name + ".onnx"))
        record(name + ".onnx", shape, kind, "discrete:3", [1.0, -2.0], [2.0, 0.5], main_c)

    meta = main_meta("analytic_fp16", "score", "analytic_score with float16 inputs/output")
    save(make_model(main_graph(fp16=True), meta), os.path.join(HERE, "analytic_fp16.onnx"))
    record("analytic_fp16.onnx", shape, "score", "discrete:3", [1.0, -2.0], [2.0, 0.5],
           main_c, dtype="float16")

    # analytic_score recommending a sampler (dgmf.sampler): what a caller who names none gets.
    meta = main_meta("analytic_recommends", "score", "analytic_score recommending heun with 4 levels")
    meta["dgmf.sampler"] = "heun steps=4 schedule=karras denoise=1"
    save(make_model(main_graph(), meta), os.path.join(HERE, "analytic_recommends.onnx"))
    record("analytic_recommends.onnx", shape, "score", "discrete:3", [1.0, -2.0], [2.0, 0.5], main_c)

    c = cont_c  # continuous fidelity h in [0.5, 4]: h * G is a [1, n] MatMul
    g = build_graph("analytic", [16], c["c0"], [("params", 2, c["B"], F32),
                                                ("fidelity", 1, c["G"][None, :], F32)])
    meta = base_meta("analytic_continuous", "Gaussian score, mu linear in params and "
                     "continuous fidelity h", [16], "score", "continuous:0.5:4",
                     shift=[0.5], scale=[3])
    save(make_model(g, meta), os.path.join(HERE, "analytic_continuous.onnx"))
    record("analytic_continuous.onnx", [16], "score", "continuous:0.5:4", [0.5], [3.0], c)

    c = coord_c
    g = build_graph("analytic", [1, 8], c["c0"], [("params", 2, c["B"], F32),
                    ("fidelity", 3, c["O"], F32), ("coords", 1, c["Dc"], F32)])
    meta = base_meta("analytic_coords", "Gaussian score, mu linear in params, one-hot "
                     "fidelity and coordinate t", [1, 8], "score", "discrete:3", coords=True)
    save(make_model(g, meta), os.path.join(HERE, "analytic_coords.onnx"))
    record("analytic_coords.onnx", [1, 8], "score", "discrete:3", None, None, c)

    # --- a deep ensemble: analytic_score and two members with other means ---------
    # Their c0 comes from a generator of its own, so that the draws above stay as they were.
    rng = np.random.default_rng(2026)
    members = ["analytic_score.onnx"]
    for k in (1, 2):
        c = dict(main_c, c0=(main_c["c0"] + rng.uniform(-1.5, 1.5, 24)).astype(np.float32))
        name = f"analytic_member{k}"
        g = build_graph("analytic", shape, c["c0"], main_linear(), "score")
        meta = main_meta(name, "score", f"analytic_score with another c0: member {k} of analytic_ensemble")
        save(make_model(g, meta), os.path.join(HERE, name + ".onnx"))
        record(name + ".onnx", shape, "score", "discrete:3", [1.0, -2.0], [2.0, 0.5], c)
        members.append(name + ".onnx")
    sys.path.insert(0, os.path.join(HERE, "..", "..", "training"))
    from dgmf_train.ensemble import compose
    compose([os.path.join(HERE, m) for m in members], os.path.join(HERE, "analytic_ensemble.onnx"),
            name="analytic_ensemble")
    # The same ensemble with its member input declared [1] instead of a scalar (the contract allows both).
    m = onnx.load(os.path.join(HERE, "analytic_ensemble.onnx"))
    for i in m.graph.input:
        if i.name == "member":
            i.CopyFrom(helper.make_tensor_value_info("member", I64, [1]))
    save(m, os.path.join(HERE, "analytic_ensemble_rank1.onnx"))

    with open(os.path.join(HERE, "analytic.json"), "w") as f:
        json.dump(info, f, indent=1)
        f.write("\n")

    # --- invalid variants of analytic_score: exactly one defect each ------------
    # Zero-coefficient extra inputs keep the output equal to analytic_score's.
    zero_row = np.zeros((1, 24), np.float32)
    good_meta = main_meta("analytic_score", "score",
                          "Gaussian N(mu, 0.25 I) with linear mu; emits score")

    def bad(fname, meta_edit=None, graph=None, check=True, post=None):
        meta = dict(good_meta)
        for k, v in (meta_edit or {}).items():
            if v is None:
                del meta[k]
            else:
                meta[k] = v
        model = make_model(graph or main_graph(), meta)
        if post:
            post(model)
        save(model, os.path.join(BAD, fname), check)

    bad("missing_contract.onnx", {"dgmf.contract": None})
    bad("contract_v2.onnx", {"dgmf.contract": "2"})
    bad("sde_vp.onnx", {"dgmf.sde": "vp"})
    bad("sigma_range.onnx", {"dgmf.sigma_min": "10", "dgmf.sigma_max": "0.01"})
    bad("sigma_nan.onnx", {"dgmf.sigma_min": "abc"})
    bad("unknown_output.onnx", {"dgmf.output": "velocity"})
    bad("shape_mismatch.onnx", {"dgmf.shape": "2,3,5"})
    bad("param_lengths.onnx", {"dgmf.param_min": "0"})
    B3 = np.vstack([main_c["B"], zero_row])
    bad("param_count.onnx", graph=main_graph(linear=main_linear(B3)))
    # Labels dropped so the only mismatch is K=4 vs the [batch,3] input.
    bad("fidelity_k.onnx", {"dgmf.fidelity": "discrete:4", "dgmf.fidelity_labels": None})
    bad("fidelity_kind.onnx", {"dgmf.fidelity": "ordinal:3"})
    bad("sampler_spec.onnx", {"dgmf.sampler": "heun steps=1"})
    bad("missing_sigma.onnx", graph=main_graph(const_sigma=1.0))
    bad("extra_input.onnx", graph=main_graph(
        linear=main_linear() + [("foo", 1, zero_row, F32)]))
    bad("coords_no_meta.onnx", graph=main_graph(
        linear=main_linear() + [("coords", 1, zero_row, F32)]))
    bad("coord_meta_no_input.onnx", {"dgmf.coord_names": "t", "dgmf.coord_min": "0",
                                     "dgmf.coord_max": "3"})
    bad("z_rank.onnx", graph=main_graph(z_flat=True))
    bad("int_params.onnx", graph=main_graph(linear=main_linear(params_type=I64)))
    bad("two_outputs.onnx", graph=main_graph(extra_output=True))
    # "Too new" for onnxruntime 1.31.1 (max IR 13, opset 26); onnx 1.23 itself knows
    # IR 14 / opset 28, but older onnx checkers would reject them, so save unchecked.
    bad("ir_too_new.onnx", check=False, post=lambda m: setattr(m, "ir_version", 14))
    bad("opset_too_new.onnx", check=False,
        post=lambda m: setattr(m.opset_import[0], "version", 27))
    bad("shift_len.onnx", {"dgmf.data_shift": "1,-2,0.5"})
    bad("members_no_input.onnx", {"dgmf.members": "2"})

    # The deep ensemble with its dgmf.members key removed, or out of range.
    def bad_ensemble(fname, members):
        m = onnx.load(os.path.join(HERE, "analytic_ensemble.onnx"))
        props = {p.key: p.value for p in m.metadata_props if p.key != "dgmf.members"}
        if members is not None:
            props["dgmf.members"] = members
        del m.metadata_props[:]
        helper.set_model_props(m, props)
        save(m, os.path.join(BAD, fname))

    bad_ensemble("member_no_key.onnx", None)
    bad_ensemble("members_one.onnx", "1")
    bad_ensemble("members_too_many.onnx", "65")
    # An initializer whose data would come from a file outside the model's directory: the engine must
    # refuse it before ONNX Runtime could open the path (no file is written here).
    bad("external_data.onnx", check=False, post=point_outside)
    # The same external reference with its TensorProto keys (external_data = field 13, data_location =
    # field 14) written as 5-byte varints with bit 32 set: C++ protobuf keeps the low 32 bits and ONNX
    # Runtime reads `dgmf_secret.bin` from the working directory; a 64-bit key reader sees other fields.
    with open(os.path.join(BAD, "external_hidden_tag.onnx"), "wb") as f:
        f.write(hidden_tag_external(make_model(main_graph(), good_meta)))

    # Metadata that parses as numbers but overflows what the engine computes with (float32, usize).
    bad("sigma_huge.onnx", {"dgmf.sigma_max": "1e300"})
    bad("scale_huge.onnx", {"dgmf.data_scale": "1e300"})
    bad("scale_tiny.onnx", {"dgmf.data_scale": "1e-50"})
    bad("param_range_huge.onnx", {"dgmf.param_max": "1,1e39"})
    bad("shape_overflow.onnx", {"dgmf.shape": "4294967296,4294967296"}, check=False)
    bad("levels_overflow.onnx", {"dgmf.fidelity": "discrete:18446744073709551615",
                                 "dgmf.fidelity_labels": None}, check=False)

    # Models that load but misbehave when run: the engine must catch each at predict time.
    def wrap_output(model, op_nodes, inits=()):
        """Renames the graph's `out` to `out_pre` and appends nodes computing a new `out`."""
        g = model.graph
        for n in g.node:
            n.output[:] = ["out_pre" if o == "out" else o for o in n.output]
        g.node.extend(op_nodes)
        g.initializer.extend(inits)

    def inf_at_sigma_min(model):
        # out = out_pre / (sigma - 0.01): finite for every sigma but sigma_min = 0.01 (the last level).
        wrap_output(model, [helper.make_node("Sub", ["sigma_b", "sigma_min_c"], ["sig_off"]),
                            helper.make_node("Div", ["out_pre", "sig_off"], ["out"])],
                    [numpy_helper.from_array(np.float32(0.01), "sigma_min_c")])

    def permute_output(model):
        # [batch, 2, 3, 4] -> [batch, 4, 3, 2]: the right number of values, in the wrong places.
        # The Reshape's target is computed from sigma (times 0), so shape inference cannot see the dims.
        wrap_output(model, [
            helper.make_node("Transpose", ["out_pre"], ["out_t"], perm=[0, 3, 2, 1]),
            helper.make_node("ReduceMax", ["sigma_b"], ["sig_max"], keepdims=0),
            helper.make_node("Mul", ["sig_max", "zero_c"], ["sig_zero"]),
            helper.make_node("Add", ["perm_dims_f", "sig_zero"], ["dims_f"]),
            helper.make_node("Cast", ["dims_f"], ["dims_i"], to=I64),
            helper.make_node("Reshape", ["out_t", "dims_i"], ["out"])],
            [numpy_helper.from_array(np.float32(0), "zero_c"),
             numpy_helper.from_array(np.array([-1, 4, 3, 2], np.float32), "perm_dims_f")])
        dims = model.graph.output[0].type.tensor_type.shape.dim
        for i, d in enumerate(dims[1:], 1):
            d.ClearField("dim_value")
            d.dim_param = f"d{i}"

    def endless(model, trips_nodes=(), trips="trips_c", inits=()):
        """out = out_pre + 0 * (a Loop of `trips` iterations adding 1 to a scalar; trips_c = 2^62)."""
        body = helper.make_graph(
            [helper.make_node("Identity", ["cond_in"], ["cond_out"]),
             helper.make_node("Add", ["acc_in", "one_c"], ["acc_out"])],
            "endless_body",
            [helper.make_tensor_value_info("iter", I64, []),
             helper.make_tensor_value_info("cond_in", TensorProto.BOOL, []),
             helper.make_tensor_value_info("acc_in", F32, [])],
            [helper.make_tensor_value_info("cond_out", TensorProto.BOOL, []),
             helper.make_tensor_value_info("acc_out", F32, [])],
            [numpy_helper.from_array(np.float32(1), "one_c")])
        wrap_output(model, [
            *trips_nodes,
            helper.make_node("Loop", [trips, "true_c", "zero_c"], ["acc"], body=body),
            helper.make_node("Mul", ["acc", "zero_c"], ["acc0"]),
            helper.make_node("Add", ["out_pre", "acc0"], ["out"])],
            [numpy_helper.from_array(np.int64(1 << 62), "trips_c"),
             numpy_helper.from_array(np.bool_(True), "true_c"),
             numpy_helper.from_array(np.float32(0), "zero_c"),
             *inits])

    def endless_loop(model):
        # A network evaluation that never finishes, for the time limit.
        endless(model)

    def endless_after_sigma_max(model):
        # The Loop runs only below sigma_max: the first network evaluation of a prediction (at sigma_max)
        # finishes and every later one never does, so the time limit must stop a call in the middle of a
        # prediction, with its tensors bound (ONNX Runtime's I/O binding) since the first call.
        endless(model, [
            helper.make_node("ReduceMin", ["sigma"], ["sig_lo"], keepdims=0),
            helper.make_node("Less", ["sig_lo", "below_max_c"], ["is_below"]),
            helper.make_node("Cast", ["is_below"], ["below_i"], to=I64),
            helper.make_node("Mul", ["below_i", "trips_c"], ["trips"])], "trips",
            [numpy_helper.from_array(np.float32(0.99 * float(good_meta["dgmf.sigma_max"])), "below_max_c")])

    def permute_after_sigma_max(model):
        # Right dims at sigma_max (the first evaluation), [batch, 4, 3, 2] below it: the bound output of
        # the later calls has the first call's dims, and the engine must still say what is wrong.
        wrap_output(model, [
            helper.make_node("ReduceMin", ["sigma"], ["sig_lo"], keepdims=0),
            helper.make_node("Less", ["sig_lo", "below_max_c"], ["is_below"]),
            helper.make_node("Cast", ["is_below"], ["below_f"], to=F32),
            helper.make_node("Mul", ["below_f", "swap_dims_f"], ["swap"]),
            helper.make_node("Add", ["base_dims_f", "swap"], ["dims_f"]),
            helper.make_node("Cast", ["dims_f"], ["dims_i"], to=I64),
            helper.make_node("Reshape", ["out_pre", "dims_i"], ["out"])],
            [numpy_helper.from_array(np.float32(0.99 * float(good_meta["dgmf.sigma_max"])), "below_max_c"),
             numpy_helper.from_array(np.array([-1, 2, 3, 4], np.float32), "base_dims_f"),
             numpy_helper.from_array(np.array([0, 2, 0, -2], np.float32), "swap_dims_f")])
        dims = model.graph.output[0].type.tensor_type.shape.dim
        for i, d in enumerate(dims[1:], 1):
            d.ClearField("dim_value")
            d.dim_param = f"d{i}"

    bad("endless_loop.onnx", post=endless_loop)
    bad("permuted_after_sigma_max.onnx", post=permute_after_sigma_max)
    bad("endless_after_sigma_max.onnx", post=endless_after_sigma_max)
    bad("inf_at_sigma_min.onnx", post=inf_at_sigma_min)
    bad("permuted_output.onnx", post=permute_output)
    with open(os.path.join(BAD, "not_onnx.onnx"), "wb") as f:
        f.write(b"this is not an onnx model\n")


if __name__ == "__main__":
    main()
