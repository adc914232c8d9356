"""Export a trained checkpoint's EMA score model to a contract-v1 ONNX file and check it.

    cd training && python3 -m dgmf_train.export runs/poisson.pt ../models/poisson.onnx
    cd training && python3 -m dgmf_train.export runs/poisson_reg.pt ../models/baselines/poisson_regression.onnx

Single file (no external data), opset 17, IR <= 13, dynamic batch axis, inputs
z, sigma, params, fidelity[, coords], output `score`, every dgmf.* metadata key.  Then:
torch vs ONNX Runtime on random inputs (max relative error <= 1e-4, per row relative to the row's
largest |score|, since the score's size varies like 1/sigma), and `dgmf info MODEL` must accept it.

Known values: where the benchmark's output holds values fixed by the inputs (bench.BENCH[name]
["known_values"]: Poisson's Dirichlet boundary), the exported graph imposes them exactly, in the
score model (the denoiser is the known value there, so the score is (b_norm - z)/sigma^2) and in
the baseline (u = b there); --no-known-values exports the bare network (to measure the difference).
"""
from __future__ import annotations

import argparse
import math
import os
import subprocess
import tempfile
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import torch
from torch import nn

from . import bench
from .paths import CLI, REPO
from .train import build_model

OPSET = 17
MAX_IR = 13
MAX_BYTES = 5 * 1024 * 1024


class KnownValues(nn.Module):
    """The output values fixed by the inputs (bench.BENCH[name]["known_values"]): on `mask`
    ([C, *grid] bool), u = b(params, fidelity) = sum_{l, p} fidelity[l] params[p] maps[l, p],
    a linear map (discrete fidelity, one-hot).  `normalized` gives (b - shift)/scale, the state's
    units."""

    def __init__(self, name, shift, scale):
        super().__init__()
        if bench.BENCH[name]["fidelity"][0] != "discrete":
            raise ValueError("known values are implemented for a discrete (one-hot) fidelity")
        mask, maps = bench.BENCH[name]["known_values"]()
        self.shape = tuple(mask.shape)
        b = (1, -1) + (1,) * (len(self.shape) - 1)
        self.register_buffer("mask", torch.from_numpy(mask))
        self.register_buffer("maps", torch.from_numpy(maps.reshape(-1, mask.size)).float())
        self.register_buffer("shift", torch.tensor(shift, dtype=torch.float32).reshape(b))
        self.register_buffer("scale", torch.tensor(scale, dtype=torch.float32).reshape(b))

    def forward(self, params, fidelity):
        w = (fidelity[:, :, None] * params[:, None, :]).flatten(1)  # [B, L*P]
        return (w @ self.maps).reshape((-1,) + self.shape)

    def normalized(self, params, fidelity):
        return (self(params, fidelity) - self.shift) / self.scale


def known_values(ck, enabled=True):
    """The checkpoint's KnownValues, or None (none for this benchmark, or disabled)."""
    if not enabled or bench.BENCH[ck["bench"]].get("known_values") is None:
        return None
    return KnownValues(ck["bench"], ck["shift"], ck["scale"])


class Exported(nn.Module):
    """Fixes the argument order to the contract's input names (coords only when present); with
    `known`, the score on its mask is that of the denoiser D = b_norm, (b_norm - z)/sigma^2
    (the model's own form: score = (D - z)/sigma^2), so the sampler's final Tweedie step
    z + sigma^2 score returns b there."""

    def __init__(self, model, known=None):
        super().__init__()
        self.model = model
        self.known = known

    def forward(self, z, sigma, params, fidelity, coords=None):
        score = self.model(z, sigma, params, fidelity, coords)
        if self.known is None:
            return score
        s = sigma.reshape((-1,) + (1,) * (z.dim() - 1))
        fixed = (self.known.normalized(params, fidelity) - z) / (s * s)
        return torch.where(self.known.mask, fixed, score)


class PhysicalBaseline(nn.Module):
    """The regression baseline with the output normalization folded in: physical u (and, with
    `known`, u = b on its mask)."""

    def __init__(self, net, shift, scale, known=None):
        super().__init__()
        self.net = net
        b = (1, -1) + (1,) * (net.net.inp.weight.dim() - 2)
        self.register_buffer("shift", torch.tensor(shift, dtype=torch.float32).reshape(b))
        self.register_buffer("scale", torch.tensor(scale, dtype=torch.float32).reshape(b))
        self.known = known

    def forward(self, params, fidelity, coords=None):
        u = self.shift + self.scale * self.net(params, fidelity, coords)
        if self.known is None:
            return u
        return torch.where(self.known.mask, self.known(params, fidelity), u)


def export_baseline(ck, out, check_rows, use_known=True):
    """The direct-regression baseline as a plain ONNX file (inputs params, fidelity[, coords];
    output u in physical units).  Not a contract-v1 model: it has no noise input, and the
    engine does not load it; docs/accuracy.md evaluates it with onnxruntime."""
    name, shape = ck["bench"], tuple(ck["shape"])
    net = build_model(name, shape, baseline=True)
    net.load_state_dict(ck["ema"])
    known = known_values(ck, use_known)
    model = PhysicalBaseline(net, ck["shift"], ck["scale"], known).eval()
    feeds = random_inputs(name, shape, check_rows, 0.01, 1.0)
    del feeds["z"], feeds["sigma"]
    with tempfile.TemporaryDirectory() as tmp:
        raw = Path(tmp) / "raw.onnx"
        torch_export(model, {k: v[:2] for k, v in feeds.items()}, raw, output="u")
        onx = onnx.load(str(raw))
    onx.ir_version = min(onx.ir_version, MAX_IR)
    props = {"dgmf.name": f"{name}_regression", "dgmf.baseline": "regression",
             "dgmf.shape": ",".join(map(str, shape))}
    if known is not None:
        props["dgmf.description"] = KNOWN_NOTE[name]
    onnx.helper.set_model_props(onx, props)
    onnx.checker.check_model(onx, full_check=True)
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    onnx.save_model(onx, out, save_as_external_data=False)
    sess = ort.InferenceSession(out, providers=["CPUExecutionProvider"])
    with torch.no_grad():
        ref = model(*(torch.from_numpy(v) for v in feeds.values())).numpy()
    got = sess.run(None, feeds)[0]
    rel = np.abs(got - ref).max() / np.abs(ref).max()
    print(f"wrote {out}: {os.path.getsize(out) / 1e6:.3f} MB; torch vs onnxruntime max relative "
          f"error {rel:.3e}")
    if rel > 1e-4 or not np.isfinite(got).all():
        raise SystemExit("ONNX output disagrees with torch")


# Appended to dgmf.description when the graph imposes the known values.
KNOWN_NOTE = {"poisson": "the Dirichlet boundary values (edge data; at coarse levels as interpolated "
                         "by the solver's output) are imposed exactly by the graph"}


def load_ema(ckpt_path):
    ck = torch.load(ckpt_path, map_location="cpu", weights_only=False)
    if ck["baseline"]:
        raise SystemExit("this is a regression-baseline checkpoint; only score models export")
    model = build_model(ck["bench"], ck["shape"])
    model.load_state_dict(ck["ema"])
    return ck, model.eval()


def random_inputs(name, shape, n, sigma_min, sigma_max, seed=0):
    """n random contract inputs (float32 numpy), sigma log-uniform over the trained range."""
    rng = np.random.default_rng(seed)
    b, m = bench.BENCH[name], bench.BENCH[name]["module"]
    sigma = np.exp(rng.uniform(math.log(sigma_min), math.log(sigma_max), n))
    z = rng.standard_normal((n, *shape)) * np.sqrt(1 + sigma**2).reshape((-1,) + (1,) * len(shape))
    params = rng.uniform(m.PARAM_LOW, m.PARAM_HIGH, (n, len(m.PARAM_NAMES)))
    f = b["fidelity"]
    if f[0] == "discrete":
        fid = np.eye(f[1])[rng.integers(0, f[1], n)]
    else:
        fid = rng.uniform(f[1], f[2], (n, 1))
    feeds = dict(z=z, sigma=sigma, params=params, fidelity=fid)
    if b["coords"] is not None:
        feeds["coords"] = rng.uniform(b["coords"][1], b["coords"][2], (n, 1))
    return {k: v.astype(np.float32) for k, v in feeds.items()}


def torch_export(module, feeds, path, output="score"):
    """module's forward takes the feeds in their order; one output named `output`."""
    names = list(feeds)
    args = tuple(torch.from_numpy(feeds[k]) for k in names)
    # The TorchScript exporter writes opset 17 natively (the dynamo exporter starts at 18 and
    # would need the version converter); batch is the only dynamic axis.
    torch.onnx.export(module, args, str(path), input_names=names, output_names=[output],
                      dynamic_axes={k: {0: "batch"} for k in names + [output]},
                      opset_version=OPSET, dynamo=False, external_data=False)


def check_cli(path):
    if not CLI.exists():
        print(f"{CLI} missing: cargo build --release")
        subprocess.run(["cargo", "build", "--release"], cwd=REPO, check=True)
    r = subprocess.run([str(CLI), "info", str(path)], capture_output=True, text=True)
    print(r.stdout + r.stderr)
    if r.returncode != 0:
        raise SystemExit(f"dgmf info rejected {path} (exit {r.returncode})")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("checkpoint")
    ap.add_argument("out", help="output .onnx path")
    ap.add_argument("--check-rows", type=int, default=64)
    ap.add_argument("--fp16", metavar="OUT16", help="also write an fp16 copy (weights and I/O)")
    ap.add_argument("--no-known-values", dest="known", action="store_false",
                    help="do not impose the benchmark's known output values (Poisson's boundary)")
    args = ap.parse_args(argv)

    ck = torch.load(args.checkpoint, map_location="cpu", weights_only=False)
    if ck["baseline"]:
        return export_baseline(ck, args.out, args.check_rows, args.known)
    ck, net = load_ema(args.checkpoint)
    known = known_values(ck, args.known)
    model = Exported(net, known).eval()
    name, shape = ck["bench"], tuple(ck["shape"])
    feeds = random_inputs(name, shape, args.check_rows, ck["sigma_min"], ck["sigma_max"])
    with tempfile.TemporaryDirectory() as tmp:
        raw = Path(tmp) / "raw.onnx"
        torch_export(model, {k: v[:2] for k, v in feeds.items()}, raw)
        onx = onnx.load(str(raw))  # loads any external data back in, so one file is written
    if onx.ir_version > MAX_IR:  # opset 17 needs only IR 8
        onx.ir_version = MAX_IR
    opsets = {o.domain: o.version for o in onx.opset_import}
    assert opsets.get("", opsets.get("ai.onnx")) == OPSET, opsets
    del onx.metadata_props[:]
    meta = bench.metadata(name, shape, ck["sigma_min"], ck["sigma_max"], ck["shift"], ck["scale"])
    if known is not None:
        meta["dgmf.description"] += "; " + KNOWN_NOTE[name]
    onnx.helper.set_model_props(onx, meta)
    onx.producer_name, onx.doc_string = "dgmf_train.export", meta["dgmf.description"]
    onnx.checker.check_model(onx, full_check=True)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    onnx.save_model(onx, args.out, save_as_external_data=False)
    size = os.path.getsize(args.out)
    print(f"wrote {args.out}: {size / 1e6:.3f} MB, IR {onx.ir_version}, opset {OPSET}, "
          f"inputs {[i.name for i in onx.graph.input]}")
    if size > MAX_BYTES:
        raise SystemExit(f"{args.out} is {size} bytes > {MAX_BYTES}")

    # torch vs ONNX Runtime on random inputs, batch sizes 1 and check_rows (dynamic axis).
    sess = ort.InferenceSession(args.out, providers=["CPUExecutionProvider"])
    with torch.no_grad():
        ref = model(*(torch.from_numpy(v) for v in feeds.values())).numpy().astype(np.float64)
    got = sess.run(None, feeds)[0].astype(np.float64)
    one = sess.run(None, {k: v[:1] for k, v in feeds.items()})[0].astype(np.float64)
    flat = lambda a: a.reshape(len(a), -1)
    rel = np.abs(flat(got - ref)).max(1) / np.abs(flat(ref)).max(1)
    rel1 = np.abs(one - ref[:1]).max() / np.abs(ref[:1]).max()
    print(f"torch vs onnxruntime ({len(ref)} rows): max relative error {rel.max():.3e} "
          f"(batch 1: {rel1:.3e})")
    if max(rel.max(), rel1) > 1e-4 or not np.isfinite(got).all():
        raise SystemExit("ONNX output disagrees with torch")
    check_cli(args.out)
    if args.fp16:
        export_fp16(args.out, args.fp16, feeds, got)


def export_fp16(src, out, feeds, ref):
    """An fp16 copy (onnxconverter-common): weights, activations and the contract inputs/output
    in float16; the engine converts at the boundary (`half`).  Checked against the fp32 file:
    per-row max error relative to the row's largest |score| <= 1e-2 (fp16 has 11 bits)."""
    from onnxconverter_common import float16
    onx = float16.convert_float_to_float16(onnx.load(src), keep_io_types=False)
    onnx.save_model(onx, out, save_as_external_data=False)
    sess = ort.InferenceSession(out, providers=["CPUExecutionProvider"])
    got = sess.run(None, {k: v.astype(np.float16) for k, v in feeds.items()})[0].astype(np.float64)
    flat = lambda a: a.reshape(len(a), -1)
    rel = np.abs(flat(got - ref)).max(1) / np.abs(flat(ref)).max(1)
    print(f"wrote {out}: {os.path.getsize(out) / 1e6:.3f} MB; fp16 vs fp32 max relative error "
          f"{rel.max():.3e}")
    if rel.max() > 1e-2 or not np.isfinite(got).all():
        raise SystemExit("fp16 export disagrees with fp32 beyond 1e-2")
    check_cli(out)


if __name__ == "__main__":
    main()
