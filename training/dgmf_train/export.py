"""Export a trained checkpoint's EMA score model to a contract-v1 ONNX file and check it.

    dgmf-train export runs/poisson.pt ../models/poisson.onnx
    dgmf-train export runs/poisson_reg.pt ../models/baselines/poisson_regression.onnx

Single file (no external data), opset 17, IR <= 13, dynamic batch axis, inputs
z, sigma, params, fidelity[, coords], output `score`, every dgmf.* metadata key.  Then:
torch vs ONNX Runtime on random inputs (max relative error <= 1e-4, per row relative to the row's
largest |score|, since the score's size varies like 1/sigma), and `dgmf info MODEL` must accept it.

Known values: where the dataset's output holds values fixed by the inputs (its known_mask and
known_maps; Poisson's Dirichlet boundary), the exported graph imposes them exactly, in the
score model (the denoiser is the known value there, so the score is (b_norm - z)/sigma^2) and in
the baseline (u = b there); --no-known-values exports the bare network (to measure the difference).
"""
from __future__ import annotations

import argparse
import os

import numpy as np
import onnx
import onnxruntime as ort
import torch
from torch import nn

from . import contract
from .contract import ContractError, compare, export_contract, random_inputs, save_checked, traced
from .train import checkpoint_known, checkpoint_manifest, checkpoint_model

MAX_BYTES = 5 * 1024 * 1024


class KnownValues(nn.Module):
    """The output values fixed by the inputs (the dataset's known_mask, known_maps): on `mask`
    ([C, *grid] bool), u = b(params, fidelity) = sum_{l, p} fidelity[l] params[p] maps[l, p],
    a linear map (discrete fidelity, one-hot).  `normalized` gives (b - shift)/scale, the state's
    units."""

    def __init__(self, mask, maps, shift, scale):
        super().__init__()
        mask, maps = np.asarray(mask, bool), np.asarray(maps)
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
    """The checkpoint's KnownValues, or None (none in its dataset, or disabled)."""
    known = checkpoint_known(ck)
    if not enabled or known is None:
        return None
    return KnownValues(*known, ck["shift"], ck["scale"])


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
    manifest, shape = checkpoint_manifest(ck), tuple(ck["shape"])
    name = manifest.name
    net = checkpoint_model(ck, baseline=True)
    net.load_state_dict(ck["ema"])
    known = known_values(ck, use_known)
    model = PhysicalBaseline(net, ck["shift"], ck["scale"], known).eval()
    feeds = random_inputs(manifest, shape, check_rows, 0.01, 1.0)
    del feeds["z"], feeds["sigma"]
    props = {"dgmf.name": f"{name}_regression", "dgmf.baseline": "regression",
             "dgmf.shape": ",".join(map(str, shape))}
    if known is not None:
        props["dgmf.description"] = known_note(name)
    save_checked(traced(model, feeds, "u"), props, out)
    print(f"wrote {out}: {os.path.getsize(out) / 1e6:.3f} MB")
    # Looser than the score models' 1e-4: the baseline's U-Net input is z = 0, so its first GroupNorm
    # normalizes a spatially constant field (variance ~ rounding noise), which amplifies float32
    # rounding differences by up to 1/sqrt(eps) ~ 300x. Measured on the topopt baseline against torch
    # in float64: ONNX Runtime 1.5e-4 (with and without graph optimizations), torch float32 1e-5.
    compare(out, model, feeds, tol=1e-3)


# Appended to dgmf.description when the graph imposes the known values.
KNOWN_NOTE = {"poisson": "the Dirichlet boundary values (edge data; at coarse levels as interpolated "
                         "by the solver's output) are imposed exactly by the graph",
              "topopt": "the void quadrant's density 0 is imposed exactly by the graph"}


def known_note(name):
    return KNOWN_NOTE.get(name, "the output values fixed by the inputs (the dataset's known_mask) are "
                                "imposed exactly by the graph")


def load_ema(ckpt_path):
    ck = torch.load(ckpt_path, map_location="cpu", weights_only=False)
    if ck["baseline"]:
        raise SystemExit("this is a regression-baseline checkpoint; only score models export")
    model = checkpoint_model(ck)
    model.load_state_dict(ck["ema"])
    return ck, model.eval()


def main(argv=None, prog=None):
    ap = argparse.ArgumentParser(prog=prog, description=__doc__.splitlines()[0])
    ap.add_argument("checkpoint", help="a dgmf-train fit (or distill) checkpoint (.pt)")
    ap.add_argument("out", help="output .onnx path")
    ap.add_argument("--check-rows", type=int, default=64,
                    help="random input rows on which torch and ONNX Runtime must agree (default 64)")
    ap.add_argument("--fp16", metavar="OUT16", help="also write an fp16 copy (weights and I/O)")
    ap.add_argument("--no-known-values", dest="known", action="store_false",
                    help="do not impose the benchmark's known output values (Poisson's boundary)")
    args = ap.parse_args(argv)

    ck = torch.load(args.checkpoint, map_location="cpu", weights_only=False)
    if ck["baseline"]:
        return export_baseline(ck, args.out, args.check_rows, args.known)
    ck, net = load_ema(args.checkpoint)
    known = known_values(ck, args.known)
    manifest, shape = checkpoint_manifest(ck), tuple(ck["shape"])
    description = manifest.description + ("; " + known_note(manifest.name) if known is not None else "")
    if "distill" in ck:
        description += (f"; a student distilled from {ck['distill']['teacher']} for `{ck['sampler']}` "
                        "(dgmf-train distill)")
    feeds = random_inputs(manifest, shape, args.check_rows, ck["sigma_min"], ck["sigma_max"])
    try:
        export_contract(Exported(net, known), manifest, args.out, shape=shape, output="score",
                        sigma_min=ck["sigma_min"], sigma_max=ck["sigma_max"],
                        data_shift=ck["shift"], data_scale=ck["scale"], example_inputs=feeds,
                        description=description, max_bytes=MAX_BYTES, already_wrapped=True,
                        require_cli=True, sampler=ck.get("sampler"))
        if args.fp16:
            export_fp16(args.out, args.fp16, feeds)
    except ContractError as e:
        raise SystemExit(f"error: {e}") from None


def export_fp16(src, out, feeds):
    """An fp16 copy (onnxconverter-common): weights, activations and the contract inputs/output
    in float16; the engine converts at the boundary (`half`).  Checked against the fp32 file:
    per-row max error relative to the row's largest |score| <= 1e-2 (fp16 has 11 bits)."""
    from onnxconverter_common import float16
    ref = ort.InferenceSession(str(src), providers=["CPUExecutionProvider"]).run(None, feeds)[0]
    ref = ref.astype(np.float64)
    onx = float16.convert_float_to_float16(onnx.load(src), keep_io_types=False)
    onnx.save_model(onx, out, save_as_external_data=False)
    sess = ort.InferenceSession(out, providers=["CPUExecutionProvider"])
    got = sess.run(None, {k: v.astype(np.float16) for k, v in feeds.items()})[0].astype(np.float64)
    flat = lambda a: a.reshape(len(a), -1)
    rel = np.abs(flat(got - ref)).max(1) / np.abs(flat(ref)).max(1)
    print(f"wrote {out}: {os.path.getsize(out) / 1e6:.3f} MB; fp16 vs fp32 max relative error "
          f"{rel.max():.3e}")
    if rel.max() > 1e-2 or not np.isfinite(got).all():
        raise ContractError("fp16 export disagrees with fp32 beyond 1e-2")
    contract.check_with_cli(out, required=True)


if __name__ == "__main__":
    main()
