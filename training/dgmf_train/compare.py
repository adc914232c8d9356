"""dgmf-train compare: does DGMF pay on your data? Fits the baselines a practitioner would pick on the
same training runs, and reports each arm's error on held-out target-fidelity cases.

    dgmf-train compare DATA.json --out cmp/                     the GP arms (seconds)
    dgmf-train compare DATA.json --out cmp/ --networks --minutes 10   + regression network and DGMF
    dgmf-train compare DATA.json --out cmp/ --cost 0.004,0.03,0.4 --budget 20

Two designs of the training set: `ladder` (every fidelity level) and `fine` (the target level only);
`--cost` (solver seconds of one run at each level, low to high) makes the table say what each design's
data cost, and `--budget S` draws each design's runs (by --seed) so that it costs at most S seconds. The
held-out cases (dgmf-train split's test split) are never trained on. Arms: `gp` (KRG on the fine runs),
`mf-gp` (MFK over the ladder), and with --networks `regression` (the same U-Net trained by MSE) and `dgmf`
(the score model, its std calibrated on the calibration split, a mean of --samples samples), each network
trained for --minutes on each design. Writes OUT/compare.json and OUT/compare.png (matplotlib).
"""
from __future__ import annotations

import argparse
import json
import subprocess
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

from . import dataset, engine
from .dataset import DatasetError
from .gp import GpArm, levels
from .testsets import per_case_error


def runs(ds):
    """The runs of a dataset: one (case, fidelity) pair each (a run with coordinates has several rows)."""
    keys = np.stack([ds.case.astype(np.float64), ds.fidelity], axis=1)
    uniq, inverse = np.unique(keys, axis=0, return_inverse=True)
    return uniq, inverse.ravel()


def design(train, which, cost=None, budget=None, seed=0):
    """The training rows of a design ("ladder" or "fine") within `budget` seconds at `cost` per run.
    Ladder: every level keeps the same share of its runs (at least one target-level run); fine: as many
    target-level runs as the budget buys. Returns (Dataset, runs per level, data cost or None)."""
    run_level, _, n_levels = run_levels(train)
    avail = np.bincount(run_level, minlength=n_levels)
    want = avail.copy() if which == "ladder" else np.eye(n_levels, dtype=int)[-1] * avail[-1]
    if budget is not None:
        c = np.asarray(cost, np.float64)
        if budget < c[-1]:
            raise DatasetError(f"--budget {budget:g} s is below one run at the target fidelity "
                               f"({c[-1]:g} s): raise the budget or lower the costs")
        if which == "fine":
            want[-1] = min(int(budget // c[-1]), avail[-1])
        else:
            share = min(1.0, budget / float((avail * c).sum()))
            want = np.floor(avail * share + 1e-9).astype(int)
            want[-1] = max(want[-1], 1)
            while (want * c).sum() > budget + 1e-9:  # the target run may have tipped it over
                low = np.flatnonzero(want[:-1] > 0)
                if not len(low):
                    break
                want[low[-1]] -= 1
    spent = None if cost is None else float((want * np.asarray(cost, np.float64)).sum())
    part = draw(train, want, seed)
    return (fine_only(part) if which == "fine" else part), want.tolist(), spent


def run_levels(ds):
    """(level of each run, run of each row, number of levels)."""
    lev, n_levels = levels(ds)
    uniq, run_of_row = runs(ds)
    run_level = np.empty(len(uniq), np.int64)
    run_level[run_of_row] = lev  # the rows of one run share its level
    return run_level, run_of_row, n_levels


def draw(ds, want, seed=0):
    """The rows of `want[k]` runs of each level k, drawn by `seed`."""
    run_level, run_of_row, n_levels = run_levels(ds)
    rng = np.random.default_rng(seed)
    chosen = np.concatenate([rng.permutation(np.flatnonzero(run_level == k))[:want[k]] for k in range(n_levels)])
    return ds.rows(np.isin(run_of_row, chosen))


def fine_only(ds):
    """A target-level-only dataset with a discrete fidelity of that one level (a network trained on it
    takes a one-level fidelity input)."""
    f = ds.manifest.fidelity
    if f.kind != "discrete":
        return ds
    top = int(f.target_value())
    one = replace(f, labels=(f.labels[top],), target=None)
    known = None if ds.known is None else (ds.known[0], ds.known[1][top:top + 1])  # that level's map
    return replace(ds, manifest=replace(ds.manifest, fidelity=one), fidelity=np.zeros(len(ds)), known=known)


def as_queries(rows, like):
    """Held-out rows relabelled for a model trained on `like`: its manifest, at its target fidelity."""
    target = like.manifest.fidelity.target_value()
    return replace(rows, manifest=like.manifest, fidelity=np.full(len(rows), target))


def coverage(mean, std, ref):
    err, s = np.abs(np.asarray(mean, np.float64) - ref), np.asarray(std, np.float64)
    return float((err <= s).mean()), float((err <= 2 * s).mean())


def scores(arm, design_name, mean, std, test, seconds, extra=None):
    e = per_case_error(mean, dict(u=test.u, case=test.case))
    row = dict(arm=arm, design=design_name, mean_rel_l2=float(e.mean()), median_rel_l2=float(np.median(e)),
               worst_rel_l2=float(e.max()), ms_per_query=1e3 * seconds / len(np.unique(test.case)))
    if std is not None:
        row["coverage_1sigma"], row["coverage_2sigma"] = coverage(mean, std, test.u.astype(np.float64))
    row.update(extra or {})
    return row


def gp_row(multi, design_name, ds, test, extra=None, max_rows=None):
    """One GP arm fitted on ds and scored on the test rows (at most max_rows rows per level, gp.MAX_ROWS)."""
    arm = GpArm(multi, max_rows).fit(ds)
    t0 = time.perf_counter()
    mean, std = arm.predict(test)
    return scores(arm.name, design_name, mean, std, test, time.perf_counter() - t0,
                  dict(extra or {}, fit_s=arm.fit_seconds, how=arm.describe()))


def gp_rows(train, test, designs):
    return [gp_row(multi, name, designs[name][0], test, dict(runs=designs[name][1], cost_s=designs[name][2]))
            for multi, name in ((False, "fine"), (True, "ladder"))]


def network_rows(designs, test, calib, work, a):
    """The regression network and DGMF on each design: trained for a.minutes, DGMF calibrated."""
    out = []
    for name, (ds, counts, spent) in designs.items():
        for arm in ("regression", "dgmf"):
            onnx = train_network(ds, arm, work / f"{arm}_{name}", a.minutes, a.steps, a.seed, a.threads)
            extra = dict(runs=counts, cost_s=spent, train_minutes=a.minutes)
            mean, std, seconds = network_predict(onnx, arm, ds, test, calib, work / f"calib_{name}", a.samples)
            out.append(scores(arm, name, mean, std, test, seconds,
                              dict(extra, samples=a.samples) if arm == "dgmf" else extra))
    return out


def train_network(ds, arm, stem, minutes, steps=None, seed=0, threads=2, extra=()):
    """Trains `arm` ("regression" or "dgmf") on ds for `minutes` and exports STEM.onnx. Resumable: a
    finished checkpoint STEM.pt is reused, and an interrupted training continues from its latest
    once-a-minute snapshot (STEM_<k>min.pt, removed when the training finishes)."""
    from . import export, train as fit
    stem = Path(stem)
    data, ck, onnx = stem.with_suffix(".json"), stem.with_suffix(".pt"), stem.with_suffix(".onnx")
    if not ck.exists():
        dataset.save(ds, data)
        snaps = fit.snapshots(ck)
        fit.main([str(data), "--out", str(ck), "--minutes", str(minutes), "--seed", str(seed),
                  "--threads", str(threads), "--log-every", "1000000", "--snapshot-minutes", "1"]
                 + (["--resume", str(snaps[-1])] if snaps else [])
                 + (["--steps", str(steps)] if steps else []) + (["--baseline"] if arm == "regression" else [])
                 + [str(e) for e in extra])
        for snap in fit.snapshots(ck):
            snap.unlink()
    if not onnx.exists():
        export.main([str(ck), str(onnx)])
    return onnx


def network_predict(onnx, arm, trained_on, test, calib, calib_dir, samples, sampler=None, steps=None):
    """(mean, std or None, seconds) of a trained network on the test rows; DGMF's std is calibrated on
    `calib` first (written to calib_dir), with the sampler it then predicts with."""
    queries = as_queries(test, trained_on)
    if arm == "regression":
        mean, seconds = regression_predict(onnx, queries)
        return mean, None, seconds
    dataset.write_cases(as_queries(calib, trained_on), calib_dir)
    subprocess.run(engine.calibrate_command(onnx, calib_dir, samples=samples, sampler=sampler, steps=steps,
                                            out=onnx), check=True, stdout=subprocess.DEVNULL)
    mean, std, report = engine.predict(onnx, queries.params, trained_on.manifest.fidelity.target_value(),
                                       coords=queries.coords, samples=samples, std=True)
    return mean, std, report["wall_ms"] / 1e3


def regression_predict(onnx, test):
    from .train import network_inputs
    return regression_predict_feeds(onnx, network_inputs(test))


def baseline_feeds(levels, t):
    """The regression baseline's inputs (docs/training.md) for the rows of a case set t: params [N, P],
    fidelity one-hot [N, levels] (a discrete fidelity) or the value [N, 1] (levels None), coords [N, Q];
    float32, physical units."""
    feeds = dict(params=t["params"].astype(np.float32), fidelity=dataset.fidelity_inputs(levels, t["fidelity"]))
    if "coords" in t:
        feeds["coords"] = t["coords"].astype(np.float32)
    return feeds


def regression_predict_feeds(onnx, feeds):
    """(prediction, seconds) of a regression baseline on its inputs (params, fidelity[, coords]), 64 rows a
    call."""
    import onnxruntime as ort
    sess = ort.InferenceSession(str(onnx), providers=["CPUExecutionProvider"])
    names = [i.name for i in sess.get_inputs()]
    n = len(feeds["params"])
    t0 = time.perf_counter()
    out = np.concatenate([sess.run(None, {k: feeds[k][i:i + 64] for k in names})[0] for i in range(0, n, 64)])
    return out, time.perf_counter() - t0


def figure(rows, path, title):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(7, 3.6), dpi=120)
    labels = [f"{r['arm']}\n({r['design']})" for r in rows]
    ax.bar(range(len(rows)), [100 * r["mean_rel_l2"] for r in rows], color="#4c72b0")
    ax.scatter(range(len(rows)), [100 * r["worst_rel_l2"] for r in rows], color="#c44e52", zorder=3,
               label="worst case")
    ax.set_xticks(range(len(rows)), labels)
    ax.set_ylabel("relative L2 error (%)")
    ax.set_yscale("log")
    ax.set_title(title)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def print_table(rows):
    print(f"{'arm':11s} {'design':7s} {'runs per level':16s} {'cost s':>8s} {'mean %':>8s} {'median %':>8s} "
          f"{'worst %':>8s} {'±2σ cov':>8s} {'ms/query':>9s}")
    for r in rows:
        cost = "-" if r.get("cost_s") is None else f"{r['cost_s']:.3g}"
        cov = "-" if "coverage_2sigma" not in r else f"{100 * r['coverage_2sigma']:.1f}%"
        print(f"{r['arm']:11s} {r['design']:7s} {str(r['runs']):16s} {cost:>8s} {100 * r['mean_rel_l2']:8.3f} "
              f"{100 * r['median_rel_l2']:8.3f} {100 * r['worst_rel_l2']:8.3f} {cov:>8s} {r['ms_per_query']:9.2f}")


def parse(argv, prog):
    ap = argparse.ArgumentParser(prog=prog, description=" ".join(__doc__.split("\n\n")[0].split()),
                                 formatter_class=argparse.RawDescriptionHelpFormatter,
                                 epilog="\n".join(__doc__.splitlines()[2:]))
    ap.add_argument("manifest", help="your dataset's manifest (.json), every fidelity level")
    ap.add_argument("--out", required=True, help="directory for compare.json, compare.png and the networks")
    ap.add_argument("--seed", type=int, default=0, help="the held-out split and the runs a budget keeps")
    ap.add_argument("--calib", type=float, default=0.2, help="fraction of the target-fidelity cases")
    ap.add_argument("--test", type=float, default=0.2, help="fraction of the target-fidelity cases")
    ap.add_argument("--cost", help="solver seconds of one run per level, low to high (comma-separated)")
    ap.add_argument("--budget", type=float, help="most solver seconds of training data per design")
    ap.add_argument("--networks", action="store_true", help="also train the regression network and DGMF")
    ap.add_argument("--minutes", type=float, default=10.0, help="training minutes per network and design")
    ap.add_argument("--steps", type=int, help="step cap per network (a quick check)")
    ap.add_argument("--samples", type=int, default=16, help="DGMF ensemble size")
    ap.add_argument("--threads", type=int, default=2, help="CPU threads for the networks (default 2)")
    a = ap.parse_args(argv)
    if a.budget is not None and a.cost is None:
        ap.error("--budget needs --cost (the solver seconds of one run at each level)")
    return a


def main(argv=None, prog="dgmf-train compare"):
    a = parse(argv, prog)
    ds = dataset.load(a.manifest)
    train, calib, test = dataset.split(ds, a.seed, a.calib, a.test)
    n_levels = levels(ds)[1]
    cost = None
    if a.cost is not None:
        cost = [float(c) for c in a.cost.split(",")]
        if len(cost) != n_levels or min(cost) <= 0:
            raise DatasetError(f"--cost needs {n_levels} positive numbers (one per level, low to high), "
                               f"got {a.cost!r}")
    designs = {name: design(train, name, cost, a.budget, a.seed) for name in ("fine", "ladder")}
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    rows = gp_rows(train, test, designs)
    if a.networks:
        rows += network_rows(designs, test, calib, out, a)
    print_table(rows)
    doc = dict(manifest=str(a.manifest), seed=a.seed, test_cases=int(len(np.unique(test.case))),
               calib_cases=int(len(np.unique(calib.case))), cost=cost, budget=a.budget, rows=rows)
    (out / "compare.json").write_text(json.dumps(doc, indent=1) + "\n")
    figure(rows, out / "compare.png", f"{ds.manifest.name}: error on {doc['test_cases']} held-out cases")
    print(f"wrote {out / 'compare.json'} and {out / 'compare.png'}")
    return 0
