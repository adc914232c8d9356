"""An int8 copy of a contract model: static QDQ quantization with ONNX Runtime's tools, calibrated
on the model's own training data.

    python3 -m dgmf_train.quantize MODEL.onnx DATA_MANIFEST.json OUT.onnx [--rows 256]
                                   [--keep-float first,last] [--method minmax|percentile|entropy]

What is quantized: the convolutions (int8 weights per output channel, uint8 activations — the
u8 x s8 form ONNX Runtime's CPU kernels run fastest on x86); they hold > 99 % of the FLOPs of the
shipped networks (bench/flops.py). The conditioning MLPs, normalisations, the EDM preconditioning
and the known-value imposition stay in float32. `--keep-float first,last` also keeps the first
and/or last convolution in float32 (the mixed scheme of docs/performance.md).

Calibration data are what the network sees while sampling: training rows (params, fidelity,
coords), their normalized solution plus noise, z = (u - shift)/scale + sigma * eps, with sigma
log-uniform over the model's [sigma_min, sigma_max] (seeded). The copy keeps the contract
metadata, is checked against the float model on held-out rows of the same kind (relative max
error per row, reported), and through `dgmf info`.
"""
from __future__ import annotations

import argparse
import contextlib
import math
import os
import sys
import tempfile
from pathlib import Path

import numpy as np

from . import contract, dataset


def contract_meta(model):
    return contract.read_metadata(model).raw


def noisy_inputs(meta, ds, n, seed):
    """n contract feeds (float32) drawn from the dataset's rows with noise at log-uniform sigma."""
    rng = np.random.default_rng(seed)
    lo, hi = float(meta["dgmf.sigma_min"]), float(meta["dgmf.sigma_max"])
    rows = rng.integers(0, len(ds), n)
    shape = [int(v) for v in meta["dgmf.shape"].split(",")]
    shift = np.array([float(v) for v in meta.get("dgmf.data_shift", "0").split(",")])
    scale = np.array([float(v) for v in meta.get("dgmf.data_scale", "1").split(",")])
    per_channel = (1, -1) + (1,) * (len(shape) - 1)
    u = ds.u[rows].reshape(n, *shape)
    if len(shift) > 1:
        shift, scale = shift.reshape(per_channel), scale.reshape(per_channel)
    sigma = np.exp(rng.uniform(math.log(lo), math.log(hi), n))
    z = (u - shift) / scale + sigma.reshape((-1,) + (1,) * len(shape)) * rng.standard_normal(u.shape)
    fid = meta["dgmf.fidelity"]
    if fid.startswith("discrete"):
        k = int(fid.split(":")[1])
        fidelity = np.eye(k)[ds.fidelity[rows].astype(int)]
    else:
        fidelity = ds.fidelity[rows][:, None]
    feeds = dict(z=z, sigma=sigma, params=ds.params[rows], fidelity=fidelity)
    if ds.coords is not None:
        feeds["coords"] = ds.coords[rows]
    return {k: v.astype(np.float32) for k, v in feeds.items()}


class Reader:
    """onnxruntime.quantization's CalibrationDataReader over feed batches."""

    def __init__(self, feeds, batch=32):
        n = len(feeds["z"])
        self.batches = iter([{k: v[i:i + batch] for k, v in feeds.items()} for i in range(0, n, batch)])

    def get_next(self):
        return next(self.batches, None)


@contextlib.contextmanager
def _inside(directory):
    """Runs the block with `directory` as the working directory (contextlib.chdir is Python >= 3.11)."""
    before = os.getcwd()
    os.chdir(directory)
    try:
        yield
    finally:
        os.chdir(before)


def conv_nodes(model):
    return [n.name for n in model.graph.node if n.op_type == "Conv"]


def quantize(src, manifest, out, *, rows=256, keep_float=(), method="minmax", seed=0):
    import onnx
    import onnxruntime as ort
    from onnxruntime.quantization import CalibrationMethod, QuantFormat, QuantType, quantize_static
    from onnxruntime.quantization.shape_inference import quant_pre_process

    model = onnx.load(src)
    meta = contract_meta(model)
    ds = dataset.load(manifest)
    convs = conv_nodes(model)
    if not convs:
        raise contract.ContractError(f"{src} has no Conv nodes: nothing for int8 to speed up")
    exclude = ([convs[0]] if "first" in keep_float else []) + ([convs[-1]] if "last" in keep_float else [])
    src, manifest, out = (Path(p).resolve() for p in (src, manifest, out))
    with tempfile.TemporaryDirectory() as tmp, _inside(tmp):
        # In the temporary directory: ONNX Runtime's pre-processing and calibration write scratch files
        # (sym_shape_infer_temp.onnx, external-data blobs) into the working directory.
        pre = Path(tmp) / "pre.onnx"
        # Shape inference and constant folding first, as ONNX Runtime's quantization guide asks (the
        # symbolic pass gives up on the exports' Reshape chains; ONNX's own inference is enough).
        quant_pre_process(str(src), str(pre), skip_symbolic_shape=True)
        quantize_static(
            str(pre), str(out), Reader(noisy_inputs(meta, ds, rows, seed)),
            quant_format=QuantFormat.QDQ, op_types_to_quantize=["Conv"], per_channel=True,
            activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8,
            nodes_to_exclude=exclude,
            calibrate_method={"minmax": CalibrationMethod.MinMax,
                              "percentile": CalibrationMethod.Percentile,
                              "entropy": CalibrationMethod.Entropy}[method],
            extra_options={"ActivationSymmetric": False, "WeightSymmetric": True})
    q = onnx.load(out)
    # The contract lives in metadata_props; the quantizer does not promise to keep it.
    del q.metadata_props[:]
    for k, v in meta.items():
        q.metadata_props.add(key=k, value=v)
    onnx.save_model(q, out, save_as_external_data=False)

    check = noisy_inputs(meta, ds, 128, seed + 1)
    run = lambda path: ort.InferenceSession(str(path), providers=["CPUExecutionProvider"]).run(None, check)[0]
    ref, got = run(src).astype(np.float64), run(out).astype(np.float64)
    flat = lambda a: a.reshape(len(a), -1)
    rel = np.abs(flat(got - ref)).max(1) / np.abs(flat(ref)).max(1)
    print(f"wrote {out}: {os.path.getsize(out) / 1e6:.3f} MB; {len(convs) - len(exclude)} of {len(convs)} "
          f"convolutions int8; int8 vs float score, max error per row relative to the row's largest "
          f"|score|: median {np.median(rel):.3e}, worst {rel.max():.3e}")
    if not np.isfinite(got).all():
        raise contract.ContractError("the int8 copy returns non-finite scores")
    contract.check_with_cli(out, required=False)
    return rel


def main(argv=None, prog=None):
    ap = argparse.ArgumentParser(prog=prog, description=__doc__.split("\n\n")[0])
    ap.add_argument("model", help="the float32 score model (.onnx)")
    ap.add_argument("manifest", help="the training set's dataset manifest (calibration rows)")
    ap.add_argument("out", help="the int8 model to write (.onnx)")
    ap.add_argument("--rows", type=int, default=256, help="calibration rows (default 256)")
    ap.add_argument("--keep-float", default="", help="comma list of first,last: convolutions kept in float32")
    ap.add_argument("--method", default="minmax", choices=("minmax", "percentile", "entropy"),
                    help="how ONNX Runtime sets each activation's range from the calibration rows")
    ap.add_argument("--seed", type=int, default=0, help="calibration rows and their noise (default 0)")
    a = ap.parse_args(argv)
    keep = tuple(s for s in a.keep_float.split(",") if s)
    bad = [s for s in keep if s not in ("first", "last")]
    if bad:
        ap.error(f"--keep-float takes first and/or last, not {', '.join(bad)}")
    quantize(a.model, a.manifest, a.out, rows=a.rows, keep_float=keep, method=a.method, seed=a.seed)
    return 0


if __name__ == "__main__":
    sys.exit(main())
