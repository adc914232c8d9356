"""dgmf-train: from your simulation outputs to a calibrated model libdgmf loads (docs/training.md).

    dgmf-train check    DATA.json                      validate a dataset, print what it holds
    dgmf-train split    DATA.json --out DIR            train / calibration / test split by a seed
    dgmf-train fit      DIR/train.json --out run.pt    train the score model (or --baseline)
    dgmf-train export   run.pt model.onnx              contract-v1 ONNX, checked with ORT + dgmf info
    dgmf-train distill  model.onnx --out fast.pt       a one- or two-step student of a score model
    dgmf-train calibrate model.onnx --data DIR/calib   fit dgmf.std_scale (and its sampler) into the model
    dgmf-train quantize model.onnx DIR/train.json q.onnx   an int8 (QDQ) copy, checked against float
    dgmf-train ensemble m0.onnx m1.onnx ... --out e.onnx   K networks of one contract as a deep ensemble
    dgmf-train evaluate model.onnx --data DIR/test     does it beat my solver? DGMF, baseline, solver levels
    dgmf-train compare  DATA.json --out DIR            DGMF against GP baselines on your data
    dgmf-train generate --out data                     the built-in benchmarks, in the same format

fit, export and distill need torch (pip install 'dgmf-train[train]'), compare SMT ('dgmf-train[compare]'), quantize and ensemble onnx and onnxruntime; calibrate and evaluate run the engine's
own sampler through the `dgmf` CLI (found as $DGMF_CLI, on PATH, or in this checkout's target/release).
Each command's --help has the details.
"""
from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

import numpy as np

from . import dataset, network_rules, sampler_search
from .contract import ContractError


def _check(argv):
    ap = argparse.ArgumentParser(prog="dgmf-train check", description="Validate a dataset (manifest + "
                                 "arrays) and print what it holds; exit 1 with the reason if it is not usable.")
    ap.add_argument("manifest", help="the dataset's manifest (.json); its arrays file is read from beside it")
    a = ap.parse_args(argv)
    ds = dataset.load(a.manifest)
    m = ds.manifest
    print(f"{m.name}: {len(ds)} rows of shape {tuple(ds.u.shape[1:])}, {len(np.unique(ds.case))} cases"
          + (f" — {m.description}" if m.description else ""))
    for j, r in enumerate(m.params):
        col = ds.params[:, j]
        print(f"  param {r.name:12s} declared [{r.min:.6g}, {r.max:.6g}]  data [{col.min():.6g}, {col.max():.6g}]")
    for j, r in enumerate(m.coords):
        col = ds.coords[:, j]
        print(f"  coord {r.name:12s} declared [{r.min:.6g}, {r.max:.6g}]  data [{col.min():.6g}, {col.max():.6g}]")
    f = m.fidelity
    if f.kind == "discrete":
        counts = np.bincount(ds.fidelity.astype(int), minlength=f.levels)
        print("  fidelity levels (low -> high): " + ", ".join(
            f"{k} `{f.labels[k]}` {counts[k]} rows" for k in range(f.levels)))
    else:
        vals, counts = np.unique(ds.fidelity, return_counts=True)
        print(f"  fidelity {f.name} declared [{f.min:.6g}, {f.max:.6g}]: " +
              ", ".join(f"{v:.6g} ({c} rows)" for v, c in zip(vals, counts)))
    print(f"  target fidelity {f.target_value():g}" + (", known values: "
          f"{int(ds.known[0].sum())} output points" if ds.known is not None else ""))
    # What the next commands will impose, so that nobody learns it after waiting for training.
    lines = network_rules.fit_lines(ds.u.shape[1:]) + network_rules.split_lines(len(dataset.target_cases(ds)))
    for line in lines:
        print("  " + line)
    if network_rules.problems(ds.u.shape[1:]):
        print("not ok: the built-in network cannot train on these rows (see `fit:` above)")
        return 1
    print("ok" + (" (with warnings)" if any(line.startswith("warning") for line in lines) else ""))


def _split(argv):
    ap = argparse.ArgumentParser(prog="dgmf-train split", description="Split a dataset into training "
                                 "(a dataset: OUT/train.json + .npz), calibration and test cases (OUT/calib/, "
                                 "OUT/test/: the directories `dgmf calibrate --data` reads). The held-out "
                                 "cases are whole cases at the target fidelity, drawn by --seed.")
    ap.add_argument("manifest", help="the dataset's manifest (.json)")
    ap.add_argument("--out", required=True, help="directory for train.json + .npz, calib/ and test/")
    ap.add_argument("--seed", type=int, default=0, help="draws the held-out cases (default 0)")
    ap.add_argument("--calib", type=float, default=0.2,
                    help="fraction of the target-fidelity cases held out to calibrate the std (default 0.2)")
    ap.add_argument("--test", type=float, default=0.2,
                    help="fraction of the target-fidelity cases held out to report on (default 0.2)")
    ap.add_argument("--allow-empty", action="store_true",
                    help="accept --calib 0 or --test 0 (no calibration or no test split); refused otherwise, "
                         "since a model without them cannot be calibrated or judged")
    a = ap.parse_args(argv)
    for what, frac in (("calib", a.calib), ("test", a.test)):
        if frac == 0 and not a.allow_empty:
            ap.error(f"--{what} 0 leaves no {'calibration' if what == 'calib' else 'test'} cases; pass "
                     "--allow-empty if that is what you mean")
    ds = dataset.load(a.manifest)
    train, cal, test = dataset.split(ds, a.seed, a.calib, a.test)
    n_cal, n_test = len(np.unique(cal.case)), len(np.unique(test.case))
    for w in network_rules.split_warnings(n_cal, n_test):
        print(f"warning: {w}", file=sys.stderr)
    out = Path(a.out)
    dataset.save(train, out / "train.json")
    for name, part in (("calib", cal), ("test", test)):
        dataset.write_cases(part, out / name)
    print(f"{out}/train.json: {len(train)} rows; {out}/calib/: {len(cal)} rows "
          f"({len(np.unique(cal.case))} cases); {out}/test/: {len(test)} rows ({len(np.unique(test.case))} cases)")


def _calibrate(argv):
    from .engine import calibrate_command
    ap = argparse.ArgumentParser(prog="dgmf-train calibrate", description=(
        "Fit dgmf.std_scale on held-out cases (split-conformal: ±2σ covers 95.45 % of their points) and "
        "write it into the model, with the sampler it holds for (by default the search's choice), sampling "
        "with the engine itself (`dgmf calibrate`)."))
    ap.add_argument("model", help="the exported score model (.onnx)")
    ap.add_argument("--data", required=True, help="a case directory (dgmf-train split writes them)")
    ap.add_argument("--samples", type=int, help="ensemble size (the std is calibrated for it; default 16, "
                                                "rounded up to a multiple of a deep ensemble's members)")
    ap.add_argument("--sampler", help="the sampler to fit the scale for and recommend (default: the search's "
                                      "choice, see --no-search)")
    ap.add_argument("--steps", type=int, help="its noise levels (with --sampler)")
    ap.add_argument("--report-json", help="write the engine's report (coverage, errors, scale) here")
    ap.add_argument("--out", help="where to write the calibrated model (default: the model itself)")
    ap.add_argument("--no-search", action="store_true",
                    help="do not search: keep the model's recommended sampler (or the library default)")
    ap.add_argument("--tolerance", type=float, default=sampler_search.TOLERANCE,
                    help="the search keeps the cheapest sampler whose error on the calibration cases is "
                         f"within this share of the best candidate's (default {sampler_search.TOLERANCE:g})")
    a = ap.parse_args(argv)
    if a.steps is not None and a.sampler is None:
        ap.error("--steps goes with --sampler")
    sampler, steps = a.sampler, a.steps
    if sampler is None and not a.no_search:
        # The model recommends its own sampler: the cheapest that is about as accurate as the best.
        from .engine import require_cli
        require_cli()
        rows = sampler_search.score(a.model, a.data)
        chosen = sampler_search.choose(rows, a.tolerance)
        print(f"sampler search on the calibration cases of {a.data} (one sample each, seed 0):")
        print(sampler_search.table(rows, chosen, a.tolerance), flush=True)
        if not chosen[4]:  # the model's own sampler runs as written (sampler None keeps its settings)
            sampler, steps = chosen[0], chosen[1]
    cmd = calibrate_command(a.model, a.data, samples=a.samples, sampler=sampler, steps=steps,
                            report_json=a.report_json, out=a.out or a.model)
    return subprocess.run(cmd).returncode


def _evaluate(argv):
    from . import evaluate
    try:
        return evaluate.main(argv)
    except ValueError as e:
        raise dataset.DatasetError(str(e)) from None


def _needs_torch(module, what):
    def run(argv):
        import importlib
        import importlib.util
        if importlib.util.find_spec("torch") is None:
            raise dataset.DatasetError(f"`dgmf-train {what}` needs PyTorch: pip install 'dgmf-train[train]' "
                                       "(or pip install torch onnx onnxruntime onnxscript onnxconverter-common)")
        return importlib.import_module(f"dgmf_train.{module}").main(argv, prog=f"dgmf-train {what}")
    return run


def _quantize(argv):
    import importlib.util
    missing = [m for m in ("onnx", "onnxruntime") if importlib.util.find_spec(m) is None]
    if missing:
        raise dataset.DatasetError(f"`dgmf-train quantize` needs {' and '.join(missing)}: "
                                   "pip install onnx onnxruntime")
    from . import quantize
    return quantize.main(argv, prog="dgmf-train quantize")


def _ensemble(argv):
    import importlib.util
    missing = [m for m in ("onnx", "onnxruntime") if importlib.util.find_spec(m) is None]
    if missing:
        raise dataset.DatasetError(f"`dgmf-train ensemble` needs {' and '.join(missing)}: "
                                   "pip install onnx onnxruntime")
    from .ensemble import main as ensemble_main
    return ensemble_main(argv)


def _compare(argv):
    import importlib.util
    if importlib.util.find_spec("smt") is None:
        raise dataset.DatasetError("`dgmf-train compare` needs SMT for its GP arms: pip install "
                                   "'dgmf-train[compare]' (or pip install smt matplotlib)")
    if "--networks" in argv and importlib.util.find_spec("torch") is None:
        raise dataset.DatasetError("`dgmf-train compare --networks` needs PyTorch: pip install "
                                   "'dgmf-train[train]'")
    from .paths import require_cli
    if "--networks" in argv:
        require_cli()  # before any training: DGMF is calibrated and sampled by the engine
    from . import compare
    return compare.main(argv)


def _generate(argv):
    from dgmf_data import generate
    return generate.main(argv, prog="dgmf-train generate")


COMMANDS = {
    "check": _check,
    "split": _split,
    "fit": _needs_torch("train", "fit"),
    "export": _needs_torch("export", "export"),
    "distill": _needs_torch("distill", "distill"),
    "calibrate": _calibrate,
    "evaluate": _evaluate,
    "compare": _compare,
    "quantize": _quantize,
    "ensemble": _ensemble,
    "generate": _generate,
}


def main(argv=None):
    argv = sys.argv[1:] if argv is None else list(argv)
    if not argv or argv[0] in ("-h", "--help") or argv[0] not in COMMANDS:
        print(__doc__.strip())
        if argv and argv[0] not in ("-h", "--help"):
            print(f"\nerror: unknown command {argv[0]!r}", file=sys.stderr)
            return 2
        return 0 if argv else 2
    try:
        rc = COMMANDS[argv[0]](argv[1:])
    except (dataset.DatasetError, ContractError, FileNotFoundError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    return rc or 0


if __name__ == "__main__":
    sys.exit(main())
