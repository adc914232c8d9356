"""Error vs training minutes: export each snapshot of a training run and measure it on the test set.

    cd training && python3 -m dgmf_reports.curve runs/burgers.pt runs/burgers_reg.pt

For the final checkpoints given (score model, and optionally its regression baseline) the snapshots
that `train.py --snapshot-minutes` wrote beside them (`<stem>_<minutes>min.pt`) are found, each is
exported (dgmf_train.export, known values imposed as for a shipped model) to `--work`, and the mean
relative L2 error over the first `--n` test cases (data/<bench>_test.npz: the exact solution, top
fidelity; Burgers: a case is its 16 times, flattened together) is measured: the score model through
`dgmf predict` with the library's default sampler (1 sample, seed 0), the baseline with onnxruntime.
Prints minutes -> DGMF error, baseline error, reduction (1 - DGMF/baseline) and writes the table to
`<work>/<stem>_curve.json`.  Without the dgmf CLI the score model falls back to the numpy Heun sampler
(reference.heun, Karras 18 steps) on onnxruntime, and the table says so.
"""
from __future__ import annotations

import argparse
import json
import re
from pathlib import Path

import numpy as np

from dgmf_data import generate

from dgmf_train import benchmarks, engine, export
from dgmf_train.paths import CLI, REPO
from dgmf_train.reference import heun_on_onnx


def snapshots(final):
    """{minutes: checkpoint path}: <stem>_<m>min.pt beside `final`, plus `final` at its budget."""
    import torch
    final = Path(final)
    pat = re.compile(re.escape(final.stem) + r"_([0-9.]+)min" + re.escape(final.suffix) + "$")
    out = {float(m.group(1)): p for p in final.parent.iterdir() if (m := pat.match(p.name))}
    if final.exists():  # (not yet while it trains)
        ck = torch.load(final, map_location="cpu", weights_only=False)
        out[float(ck["args"].get("minutes", ck["seconds"] / 60))] = final
    return dict(sorted(out.items()))


def testset(name, data_dir, n_cases):
    """The first n_cases cases of the test split, with the float64 inputs of the reference solves
    (the same Sobol draws as generate.build_split; the npz stores float32)."""
    module, _, base = generate.CONFIG[name]
    d = np.load(Path(data_dir) / f"{name}_test.npz")
    case = d["case"]
    keep = case < n_cases
    params = generate.sample_params(module, int(case.max()) + 1, base + 99)[case][keep]
    assert np.allclose(params.astype(np.float32), d["params"][keep]), "test split does not match"
    t = dict(params=params, level=d["level"][keep], fidelity=d["fidelity"][keep].astype(np.float64),
             u=d["u"][keep].astype(np.float64), case=case[keep])
    if "coords" in d:
        t["coords"] = np.tile(module.TIMES, n_cases)[:, None]
        assert np.allclose(t["coords"].astype(np.float32), d["coords"][keep])
    return t


def per_case_error(pred, t):
    """Relative L2 per case, the rows of one case flattened together."""
    p = np.asarray(pred, np.float64).reshape(len(t["u"]), -1)
    r = t["u"].reshape(len(t["u"]), -1)
    return np.array([np.linalg.norm(p[t["case"] == c] - r[t["case"] == c]) /
                     np.linalg.norm(r[t["case"] == c]) for c in np.unique(t["case"])])


def _fidelity(name, t):
    """The test split's one fidelity, as `dgmf predict --fidelity` takes it: the level index of a
    discrete model, the value of a continuous one (Heat: h = 0, the exact solution)."""
    assert (t["level"] == t["level"][0]).all()
    if benchmarks.BENCH[name]["fidelity"][0] == "discrete":
        return int(t["level"][0])
    return float(t["fidelity"][0])


def _feeds(name, t):
    f = benchmarks.BENCH[name]["fidelity"]
    assert (t["level"] == t["level"][0]).all()
    fid = (np.eye(f[1], dtype=np.float32)[t["level"]] if f[0] == "discrete"
           else t["fidelity"].astype(np.float32)[:, None])
    feeds = dict(params=t["params"].astype(np.float32), fidelity=fid)
    if "coords" in t:
        feeds["coords"] = t["coords"].astype(np.float32)
    return feeds


def dgmf_error(name, model, t, work):
    """(per-case errors, how) of an exported score model on t."""
    if CLI.exists():
        mean, _, _ = engine.predict(model, t["params"], _fidelity(name, t), coords=t.get("coords"),
                                 samples=1, seed=0, threads=1, work=work)
        return per_case_error(mean, t), "dgmf predict, default sampler, 1 sample"
    feeds, n = _feeds(name, t), len(t["params"])
    u = heun_on_onnx(model, feeds, n, steps=18, seed=0)
    return per_case_error(u, t), "numpy Heun 18 on onnxruntime (no dgmf CLI)"


def baseline_error(name, model, t):
    import onnxruntime as ort
    sess = ort.InferenceSession(str(model), providers=["CPUExecutionProvider"])
    feeds = _feeds(name, t)
    names = [i.name for i in sess.get_inputs()]
    u = np.concatenate([sess.run(None, {k: feeds[k][i:i + 256] for k in names})[0]
                        for i in range(0, len(t["params"]), 256)])
    return per_case_error(u, t)


def export_to(ckpt, out):
    export.main([str(ckpt), str(out), "--check-rows", "16"])
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("model", help="final score-model checkpoint (its snapshots are found beside it)")
    ap.add_argument("baseline", nargs="?", help="final regression-baseline checkpoint")
    ap.add_argument("--data", default="data")
    ap.add_argument("--n", type=int, default=32, help="test cases")
    ap.add_argument("--work", default="runs/curve", help="exports, scratch files and the table")
    ap.add_argument("--only", type=float, nargs="+", help="only these minutes (a quick check)")
    ap.add_argument("--doc", default=str(REPO / "docs" / "figures"),
                    help="also copy the table here as <bench>_curve.json, where docs/accuracy.md "
                         "(scripts/accuracy.sh) picks it up ('' to skip)")
    args = ap.parse_args(argv)

    import torch
    snaps = snapshots(args.model)
    name = torch.load(next(iter(snaps.values())), map_location="cpu", weights_only=False)["bench"]
    t = testset(name, args.data, args.n)
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    base = snapshots(args.baseline) if args.baseline else {}
    rows, how = [], None
    for minutes, ckpt in snaps.items():
        if args.only and minutes not in args.only:
            continue
        ck = torch.load(ckpt, map_location="cpu", weights_only=False)
        onx = export_to(ckpt, work / f"{Path(args.model).stem}_{minutes:g}min.onnx")
        err, how = dgmf_error(name, onx, t, work)
        row = dict(minutes=minutes, steps=ck["steps"], checkpoint=str(ckpt), dgmf=float(err.mean()),
                   dgmf_median=float(np.median(err)), dgmf_worst=float(err.max()))
        if minutes in base:
            bonx = export_to(base[minutes],
                                work / f"{Path(args.baseline).stem}_{minutes:g}min.onnx")
            berr = baseline_error(name, bonx, t)
            bck = torch.load(base[minutes], map_location="cpu", weights_only=False)
            row.update(baseline=float(berr.mean()), baseline_steps=bck["steps"],
                       reduction=float(1 - err.mean() / berr.mean()))
        rows.append(row)
        print(f"[{minutes:g} min] {row}", flush=True)

    print(f"\n{name}: mean relative L2 over the first {args.n} test cases (exact reference); "
          f"DGMF: {how}; baseline: onnxruntime")
    print("| minutes | DGMF steps | DGMF error | baseline steps | baseline error | reduction |")
    print("|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        b = (f"{r['baseline_steps']} | {r['baseline']:.4f} | {100 * r['reduction']:.1f} %"
             if "baseline" in r else "– | – | –")
        print(f"| {r['minutes']:g} | {r['steps']} | {r['dgmf']:.4f} | {b} |")
    table = work / f"{Path(args.model).stem}_curve.json"
    table.write_text(json.dumps(dict(bench=name, n_cases=args.n, dgmf_sampler=how, rows=rows),
                                indent=1) + "\n")
    print(f"wrote {table}")
    if args.doc and not args.only:
        doc = Path(args.doc) / f"{name}_curve.json"
        doc.write_text(table.read_text())
        print(f"wrote {doc}")


if __name__ == "__main__":
    main()
