"""Any PyTorch network -> a contract-v1 ONNX model libdgmf loads (docs/model-contract.md).

    from dgmf_train.contract import export_contract
    export_contract(net, manifest, "model.onnx", shape=(1, 64), output="x0",
                    sigma_min=0.01, sigma_max=20.0, data_shift=0.3, data_scale=0.2)

`net(z, sigma, params, fidelity[, coords])` takes the contract's inputs in their units: z [B, *shape]
the normalized state (physical u = data_shift + data_scale * z), sigma [B], params [B, P] and coords
[B, Q] physical, fidelity one-hot [B, K] (discrete) or the value [B, 1] (continuous). It returns
`output`: the score, the noise eps, or the denoised x0 (all in z's units). Asked to, the export wraps:
  normalize_inputs=True   params, coords and a continuous fidelity mapped from the manifest's
                          ranges to [-1, 1] before they reach net;
  precondition=True       net is a raw F and the model is EDM's denoiser
                          x0 = c_skip z + c_out F(c_in z, sigma, ...) for data of std sigma_data
                          (Karras et al. 2022), exported as output "x0".
The file is checked before it is returned: onnx's checker, torch vs ONNX Runtime on example inputs
(batch 1 and a batch), and `dgmf info` (the engine's own contract check) when the CLI is found.
"""
from __future__ import annotations

import math
import os
import subprocess
import tempfile
from pathlib import Path

import numpy as np

from .dataset import Manifest
from .paths import find_cli  # noqa: F401  (re-exported: contract.find_cli)

OPSET = 17
MAX_IR = 13
OUTPUTS = ("score", "eps", "x0")


class ContractError(ValueError):
    """An export that would not give a model libdgmf accepts; the message says why."""


class ModelMetadata:
    """A contract-v1 model's metadata, read once: `raw` is every entry as text; the attributes are the
    parsed values the Python tools need (the engine validates the contract itself, `dgmf info`)."""

    def __init__(self, raw: dict):
        def floats(key, default=None):
            return np.array(raw[key].split(","), float) if key in raw else default

        self.raw = raw
        self.sigma_min = float(raw["dgmf.sigma_min"])
        self.sigma_max = float(raw["dgmf.sigma_max"])
        self.shape = [int(d) for d in raw["dgmf.shape"].split(",")]
        self.param_names = raw["dgmf.param_names"].split(",")
        self.param_min, self.param_max = floats("dgmf.param_min"), floats("dgmf.param_max")
        fid = raw["dgmf.fidelity"]
        #: discrete levels K, or None for a continuous fidelity
        self.levels = int(fid.split(":")[1]) if fid.startswith("discrete") else None
        self.coord_names = raw["dgmf.coord_names"].split(",") if "dgmf.coord_names" in raw else []
        # physical u = shift + scale * z, one value or one per channel, shaped to broadcast over a sample
        lead = (-1,) + (1,) * (len(self.shape) - 1)
        self.data_shift = floats("dgmf.data_shift", np.zeros(1)).reshape(lead)
        self.data_scale = floats("dgmf.data_scale", np.ones(1)).reshape(lead)
        #: the recommended sampler (dgmf.sampler) as parse_sampler gives it: (name or None, settings)
        self.sampler = parse_sampler(raw.get("dgmf.sampler"))


def parse_sampler(spec):
    """A sampler spec as `dgmf.sampler` and `--teacher-sampler` write it, `name key=value ...` ->
    (name, {key: value as text}); an empty or None spec -> (None, {})."""
    words = (spec or "").split()
    if not words:
        return None, {}
    return words[0], dict(w.split("=", 1) for w in words[1:] if "=" in w)


def read_metadata(model) -> ModelMetadata:
    """The metadata of `model`: a path to an .onnx file or a loaded onnx.ModelProto."""
    if not hasattr(model, "metadata_props"):
        import onnx
        model = onnx.load(str(model), load_external_data=False)
    return ModelMetadata({p.key: p.value for p in model.metadata_props})


def fmt(x):
    """Shortest round-trip decimal of a float64, without a trailing '.0'."""
    s = repr(float(x))
    return s[:-2] if s.endswith(".0") else s


def fidelity_spec(m: Manifest):
    """("discrete", K) or ("continuous", lo, hi), as the built-in networks take it."""
    f = m.fidelity
    return ("discrete", f.levels) if f.kind == "discrete" else ("continuous", f.min, f.max)


def metadata(m: Manifest, shape, sigma_min, sigma_max, shift, scale, output="score"):
    """Every dgmf.* key of contract v1 for a model of this manifest (insertion order is kept in
    the file)."""
    if output not in OUTPUTS:
        raise ContractError(f"output must be one of {', '.join(OUTPUTS)}, got {output!r}")
    lst = lambda xs: ",".join(fmt(x) for x in xs)
    f = m.fidelity
    meta = {
        "dgmf.contract": "1", "dgmf.sde": "ve",
        "dgmf.sigma_min": fmt(sigma_min), "dgmf.sigma_max": fmt(sigma_max),
        "dgmf.output": output, "dgmf.shape": lst(shape),
        "dgmf.param_names": ",".join(r.name for r in m.params),
        "dgmf.param_min": lst(r.min for r in m.params), "dgmf.param_max": lst(r.max for r in m.params),
        "dgmf.fidelity": f"discrete:{f.levels}" if f.kind == "discrete" else f"continuous:{fmt(f.min)}:{fmt(f.max)}",
    }
    if f.kind == "discrete":
        meta["dgmf.fidelity_labels"] = ",".join(f.labels)
    if m.coords:
        meta.update({"dgmf.coord_names": ",".join(r.name for r in m.coords),
                     "dgmf.coord_min": lst(r.min for r in m.coords),
                     "dgmf.coord_max": lst(r.max for r in m.coords)})
    meta.update({"dgmf.data_shift": lst(np.atleast_1d(shift)), "dgmf.data_scale": lst(np.atleast_1d(scale)),
                 "dgmf.name": m.name, "dgmf.description": m.description})
    return meta


def random_inputs(m: Manifest, shape, n, sigma_min, sigma_max, seed=0):
    """n random contract inputs (float32 numpy): sigma log-uniform over [sigma_min, sigma_max],
    z of the matching spread, params/coords/fidelity uniform over the manifest's ranges."""
    rng = np.random.default_rng(seed)
    sigma = np.exp(rng.uniform(math.log(sigma_min), math.log(sigma_max), n))
    z = rng.standard_normal((n, *shape)) * np.sqrt(1 + sigma**2).reshape((-1,) + (1,) * len(shape))
    lo, hi = np.array([r.min for r in m.params]), np.array([r.max for r in m.params])
    feeds = dict(z=z, sigma=sigma, params=rng.uniform(lo, hi, (n, len(lo))))
    f = m.fidelity
    feeds["fidelity"] = (np.eye(f.levels)[rng.integers(0, f.levels, n)] if f.kind == "discrete"
                         else rng.uniform(f.min, f.max, (n, 1)))
    if m.coords:
        lo, hi = np.array([r.min for r in m.coords]), np.array([r.max for r in m.coords])
        feeds["coords"] = rng.uniform(lo, hi, (n, len(lo)))
    return {k: v.astype(np.float32) for k, v in feeds.items()}


def check_with_cli(path, required=False):
    """`dgmf info PATH`: the engine's own contract check. Without the CLI: skipped with a message,
    or ContractError when required."""
    cli = find_cli()
    if cli is None:
        msg = ("the dgmf CLI was not found ($DGMF_CLI, PATH, target/release/dgmf): "
               "build it with `cargo build --release` to check the export with the engine")
        if required:
            raise ContractError(msg)
        print(f"note: {msg}")
        return None
    r = subprocess.run([str(cli), "info", str(path)], capture_output=True, text=True)
    if r.returncode != 0:
        raise ContractError(f"`dgmf info {path}` rejected the export (exit {r.returncode}):\n"
                            f"{r.stdout}{r.stderr}")
    print(f"`{cli.name} info` accepts {path}")
    return r.stdout


def _torch():
    import torch
    from torch import nn
    return torch, nn


def wrap(net, m: Manifest, output, *, normalize_inputs=False, precondition=False, sigma_data=1.0):
    """net -> a module with the contract's forward(z, sigma, params, fidelity[, coords]) and the
    declared output; (module, output)."""
    torch, nn = _torch()
    from .model import Conditioning

    class Contract(nn.Module):
        def __init__(self):
            super().__init__()
            self.net = net
            self.normalize = normalize_inputs
            self.precondition = precondition
            self.sd = float(sigma_data)
            self.register_buffer("p_lo", torch.tensor([r.min for r in m.params], dtype=torch.float32))
            self.register_buffer("p_hi", torch.tensor([r.max for r in m.params], dtype=torch.float32))
            self.continuous = m.fidelity.kind == "continuous"
            self.f_lo, self.f_hi = (m.fidelity.min, m.fidelity.max) if self.continuous else (0.0, 1.0)
            self.has_coords = bool(m.coords)
            if self.has_coords:
                self.register_buffer("c_lo", torch.tensor([r.min for r in m.coords], dtype=torch.float32))
                self.register_buffer("c_hi", torch.tensor([r.max for r in m.coords], dtype=torch.float32))

        unit = staticmethod(Conditioning._unit)  # the built-in networks' [lo, hi] -> [-1, 1]

        def forward(self, z, sigma, params, fidelity, coords=None):
            if self.normalize:
                params = self.unit(params, self.p_lo, self.p_hi)
                if self.continuous:
                    fidelity = self.unit(fidelity, self.f_lo, self.f_hi)
                if coords is not None:
                    coords = self.unit(coords, self.c_lo, self.c_hi)
            extra = (coords,) if self.has_coords else ()
            if not self.precondition:
                return self.net(z, sigma, params, fidelity, *extra)
            s = sigma.reshape((-1,) + (1,) * (z.dim() - 1))
            v = s * s + self.sd ** 2
            c_skip, c_out, c_in = self.sd ** 2 / v, s * self.sd * torch.rsqrt(v), torch.rsqrt(v)
            return c_skip * z + c_out * self.net(z * c_in, sigma, params, fidelity, *extra)

    if precondition and output != "x0":
        raise ContractError("precondition=True makes the model a denoiser: use output=\"x0\"")
    return Contract().eval(), output


def torch_export(module, feeds, path, output):
    """module's forward takes the feeds in their order; one output named `output`."""
    torch, _ = _torch()
    names = list(feeds)
    args = tuple(torch.from_numpy(feeds[k]) for k in names)
    # The TorchScript exporter writes opset 17 natively (the dynamo exporter starts at 18 and
    # would need the version converter); batch is the only dynamic axis.
    torch.onnx.export(module, args, str(path), input_names=names, output_names=[output],
                      dynamic_axes={k: {0: "batch"} for k in names + [output]},
                      opset_version=OPSET, dynamo=False, external_data=False)


def traced(module, feeds, output):
    """The ONNX graph of `module` traced on the first two rows of `feeds` (batch axis dynamic), one
    file's worth (any external data loaded back in), IR version capped for ORT."""
    import onnx
    with tempfile.TemporaryDirectory() as tmp:
        raw = Path(tmp) / "raw.onnx"
        torch_export(module, {k: v[:2] for k, v in feeds.items()}, raw, output)
        onx = onnx.load(str(raw))
    if onx.ir_version > MAX_IR:  # opset 17 needs only IR 8; ORT 1.31 reads IR <= 13
        onx.ir_version = MAX_IR
    return onx


def save_checked(onx, props, out, producer=None, doc=None):
    """Replaces the graph's metadata by `props`, runs onnx's full checker and writes one file."""
    import onnx
    del onx.metadata_props[:]
    onnx.helper.set_model_props(onx, props)
    if producer is not None:
        onx.producer_name = producer
    if doc is not None:
        onx.doc_string = doc
    onnx.checker.check_model(onx, full_check=True)
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    onnx.save_model(onx, str(out), save_as_external_data=False)


def compare(out_path, module, feeds, what="torch vs onnxruntime", tol=1e-4):
    """Runs the file on ONNX Runtime and the module in torch: on all rows, on the rows reversed
    (a traced branch on a value of the first row shows), and on row 0 alone (the batch axis is
    dynamic); per-row max error relative to the row's largest |value| must be <= tol. Returns the
    ORT output on all rows."""
    import onnxruntime as ort
    torch, _ = _torch()
    sess = ort.InferenceSession(str(out_path), providers=["CPUExecutionProvider"])
    flat = lambda a: a.reshape(len(a), -1)
    worst, first = 0.0, None
    for rows in (slice(None), slice(None, None, -1), slice(0, 1)):
        part = {k: np.ascontiguousarray(v[rows]) for k, v in feeds.items()}
        with torch.no_grad():
            ref = module(*(torch.from_numpy(v) for v in part.values())).numpy().astype(np.float64)
        got = sess.run(None, part)[0].astype(np.float64)
        if not np.isfinite(got).all():
            raise ContractError("the ONNX file gives non-finite values on the example inputs")
        denom = np.maximum(np.abs(flat(ref)).max(1), 1e-30)
        worst = max(worst, float((np.abs(flat(got - ref)).max(1) / denom).max()))
        first = got if first is None else first
    print(f"{what} ({len(first)} rows, reversed, and batch 1): max relative error {worst:.3e}")
    if not worst <= tol:
        raise ContractError(f"the ONNX file disagrees with torch: max relative error {worst:.3e} > {tol}"
                            " (an operation the exporter does not translate faithfully, or a Python "
                            "branch on an input value that tracing froze?)")
    return first


def export_contract(net, manifest: Manifest, out, *, shape, output="score", sigma_min, sigma_max,
                    data_shift=0.0, data_scale=1.0, example_inputs=None, normalize_inputs=False,
                    precondition=False, sigma_data=1.0, description=None, max_bytes=None,
                    check_rows=16, require_cli=False, already_wrapped=False, sampler=None):
    """Exports `net` as a contract-v1 model at `out` and checks it (module doc). Returns the
    metadata written. `example_inputs`: a dict of contract inputs (float32 arrays; default: random
    over the manifest's ranges). `already_wrapped`: net already has the contract's forward."""
    shape = tuple(int(s) for s in shape)
    if not shape or any(s < 1 for s in shape):
        raise ContractError(f"shape must be the per-sample output dims, e.g. (1, 64), got {shape}")
    if not 0 < sigma_min < sigma_max or not math.isfinite(sigma_max):
        raise ContractError(f"need 0 < sigma_min < sigma_max < inf, got {sigma_min}, {sigma_max}")
    module, output = (net.eval(), output) if already_wrapped else wrap(
        net, manifest, output, normalize_inputs=normalize_inputs, precondition=precondition,
        sigma_data=sigma_data)
    meta = metadata(manifest, shape, sigma_min, sigma_max, data_shift, data_scale, output)
    if description:
        meta["dgmf.description"] = description
    if sampler:
        meta["dgmf.sampler"] = sampler  # the sampler the model is made for (a student's)
    feeds = example_inputs or random_inputs(manifest, shape, max(check_rows, 2), sigma_min, sigma_max)
    expected = ["z", "sigma", "params", "fidelity"] + (["coords"] if manifest.coords else [])
    if list(feeds) != expected:
        raise ContractError(f"example_inputs must have the keys {expected} in that order, got {list(feeds)}")
    feeds = {k: np.asarray(v, np.float32) for k, v in feeds.items()}
    onx = traced(module, feeds, output)
    missing = [k for k in expected if k not in {i.name for i in onx.graph.input}]
    if missing:
        raise ContractError(f"the exported graph has no input {', '.join(f'`{k}`' for k in missing)}: "
                            "the network does not use it, and torch's exporter drops unused inputs; "
                            "the contract needs every input (make the network depend on it)")
    save_checked(onx, meta, out, producer="dgmf_train.contract", doc=meta["dgmf.description"])
    size = os.path.getsize(out)
    print(f"wrote {out}: {size / 1e6:.3f} MB, IR {onx.ir_version}, opset {OPSET}, "
          f"inputs {[i.name for i in onx.graph.input]}, output {output}")
    if max_bytes is not None and size > max_bytes:
        raise ContractError(f"{out} is {size} bytes > {max_bytes}")
    compare(out, module, feeds)
    # looked up at call time, so that a test without the CLI can replace it
    globals()["check_with_cli"](out, required=require_cli)
    return meta
