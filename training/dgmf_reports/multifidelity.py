"""Does multi-fidelity pay? Test error against data cost per benchmark, for DGMF and the baselines a
practitioner would pick, on training sets of equal solver cost (docs/multifidelity.md).

    cd training
    python3 -m dgmf_reports.multifidelity costs                              solver seconds per run and level
    python3 -m dgmf_reports.multifidelity pool    --work ../work/mf poisson  the training runs to draw from
    python3 -m dgmf_reports.multifidelity run     --work ../work/mf poisson --minutes 5
    python3 -m dgmf_reports.multifidelity report                             docs/multifidelity.md + figures

A budget is the solver cost of a ladder of runs (LADDERS: per level, low to high fidelity); at each
budget the `ladder` design draws those runs and the `fine` design as many finest-level runs as the same
seconds buy (compare.design). Every arm trains on exactly those runs; the networks for the same minutes.
Errors are relative L2 per case against the shipped test sets' converged references (models/<bench>/),
on the first TEST_CASES cases. `run` skips every (budget, design, arm) whose result file exists, and the
network trainings resume from their once-a-minute snapshots (compare.train_network), so an interrupted
run continues where it stopped.
The costs and the results (one small JSON per row) are written under docs/figures/multifidelity/ and
committed; the pools and networks stay in --work.
"""
from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

import numpy as np

from dgmf_data import generate
from dgmf_train import compare, dataset
from dgmf_train.contract import read_metadata
from dgmf_train.gp import GpArm
from dgmf_train.paths import REPO
from dgmf_train.testsets import as_dataset, load_testset, machine

# Ladders of runs per level (low -> high) whose costs are the budgets; the middle one is the IFC
# paper's per-level proportion for three levels (100/20/5), the others halve and double it.
LADDERS = {
    "poisson": [(50, 10, 3), (100, 20, 5), (200, 40, 10), (400, 80, 20)],
    "burgers": [(50, 10, 3), (100, 20, 5), (200, 40, 10), (400, 80, 20)],
    "flow": [(50, 10, 3), (100, 20, 5), (200, 40, 10)],
}
TEST_CASES = {"poisson": 64, "burgers": 64, "flow": 24}
SAMPLES = 8
COST_RUNS = 11
RESULTS = REPO / "docs" / "figures" / "multifidelity"


def costs(names, runs=COST_RUNS):
    """Median solver seconds of one run at each level, over `runs` parameter draws (one CPU thread)."""
    out = {}
    for name in names:
        module = generate.CONFIG[name][0]
        params = generate.sample_params(module, runs, seed=77)
        times = generate.case_times(name, "train", runs, seed=77)
        per_level = []
        for res in generate.level_resolutions(name):
            seconds = []
            for i, p in enumerate(params):
                t0 = time.perf_counter()
                generate.solver_field(name, p, res, None if times is None else times[i])
                seconds.append(time.perf_counter() - t0)
            per_level.append(statistics.median(seconds))
        out[name] = dict(resolutions=list(generate.level_resolutions(name)), seconds=per_level, runs=runs)
        print(f"{name}: " + ", ".join(f"res {r}: {1e3 * s:.2f} ms" for r, s in
                                      zip(out[name]["resolutions"], per_level)))
    path = RESULTS / "costs.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    old = json.loads(path.read_text()) if path.exists() else {}
    path.write_text(json.dumps(dict(old, **out, machine=machine()), indent=1) + "\n")
    return out


def solver_costs(name):
    """The measured seconds per run at each level (costs.json, written by `costs`)."""
    return json.loads((RESULTS / "costs.json").read_text())[name]["seconds"]


def pool_counts(name, cost):
    """Runs per level the pool needs: the largest ladder, and the fine runs its budget buys."""
    top = max(LADDERS[name], key=lambda c: c[-1])
    budget = float(np.dot(top, cost))
    counts = list(top)
    counts[-1] = max(counts[-1], int(budget // cost[-1]))
    return counts


def pool(work, name):
    counts = pool_counts(name, solver_costs(name))
    print(f"{name}: pool of {counts} runs per level")
    generate.generate(Path(work) / "pool", names=(name,), train_counts={name: counts}, splits=("train",))


def test_set(name, n_cases):
    """The shipped test split's first n cases (exact references) as a Dataset, and the calibration split."""
    return as_dataset(name, load_testset(name), n_cases), as_dataset(name, load_testset(name, "calib"), n_cases)


def shipped_sampler(name):
    """The sampler the shipped model recommends (dgmf.sampler): `name steps=N ...` -> (name, steps)."""
    sampler, settings = read_metadata(REPO / "models" / f"{name}.onnx").sampler
    return sampler, (int(settings["steps"]) if "steps" in settings else None)


def run(work, name, minutes, arms, threads, gp_rows=None):
    work = Path(work)
    cost = solver_costs(name)
    data = dataset.load(work / "pool" / f"{name}_train.json")
    test, calib = test_set(name, TEST_CASES[name])
    sampler, steps = shipped_sampler(name)
    results = RESULTS / "results" / name
    results.mkdir(parents=True, exist_ok=True)
    for ladder in LADDERS[name]:
        budget = float(np.dot(ladder, cost))
        for which in ("ladder", "fine"):
            ds, runs, spent = design_at(data, which, ladder, cost, budget)
            for arm in arms:
                if arm in ("gp", "fno") and which == "ladder" or arm == "mf-gp" and which == "fine":
                    continue  # the GP and the FNO see fine runs only; MFK needs a ladder
                tag = f"{arm}_{which}_{'-'.join(map(str, ladder))}"
                path = results / f"{tag}.json"
                if path.exists():
                    continue
                t0 = time.perf_counter()
                row = fit_arm(arm, ds, test, calib, work / "nets" / name / tag, minutes, threads, sampler, steps, gp_rows)
                row.update(bench=name, design=which, ladder=list(ladder), budget_s=budget, runs=runs, cost_s=spent,
                           wall_s=time.perf_counter() - t0, test_cases=TEST_CASES[name])
                path.write_text(json.dumps(row, indent=1) + "\n")
                print(f"{name} {tag}: mean rel L2 {100 * row['mean_rel_l2']:.3f} % "
                      f"({row['wall_s']:.0f} s)", flush=True)


def noise_sensitivity(work, name, ladder, gp_rows=200):
    """The multi-fidelity GP with a noise variance per level fitted by maximum likelihood (SMT's eval_noise,
    the usual regularisation of a degenerate fit) on `ladder`, beside the committed default row: written to
    results/<name>/sensitivity/, not part of the report's table."""
    cost = solver_costs(name)
    data = dataset.load(Path(work) / "pool" / f"{name}_train.json")
    test, _ = test_set(name, TEST_CASES[name])
    ds, runs, spent = design_at(data, "ladder", ladder, cost, None)
    t0 = time.perf_counter()
    arm = GpArm(True, gp_rows, noise=True).fit(ds)
    t1 = time.perf_counter()
    mean, std = arm.predict(test)
    row = compare.scores("mf-gp+noise", "ladder", mean, std, test, time.perf_counter() - t1,
                         dict(fit_s=t1 - t0, how=arm.describe(), bench=name, ladder=list(ladder), runs=runs,
                              cost_s=spent, test_cases=TEST_CASES[name]))
    out = RESULTS / "results" / name / "sensitivity"
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"mf-gp-noise_ladder_{'-'.join(map(str, ladder))}.json"
    path.write_text(json.dumps(row, indent=1) + "\n")
    print(f"{name} mf-gp+noise {ladder}: mean rel L2 {100 * row['mean_rel_l2']:.3f} % -> {path}", flush=True)


def design_at(data, which, ladder, cost, budget):
    """The ladder design is exactly `ladder` runs (drawn by seed 0); the fine design what `budget` buys."""
    if which == "fine":
        return compare.design(data, "fine", cost, budget)
    return compare.draw(data, list(ladder)), list(ladder), float(np.dot(ladder, cost))


def fit_arm(arm, ds, test, calib, stem, minutes, threads, sampler, steps, gp_rows=None):
    if arm in ("gp", "mf-gp"):
        return compare.gp_row(arm == "mf-gp", "", ds, test, max_rows=gp_rows)
    if arm == "fno":
        from .fno import FnoArm
        net = FnoArm(minutes, threads=threads).fit(ds)
        mean, seconds = net.predict(test)
        return compare.scores(arm, "", mean, None, test, seconds,
                              dict(train_minutes=minutes, train_steps=net.steps, train_seconds=net.seconds,
                                   how=net.describe()))
    stem.parent.mkdir(parents=True, exist_ok=True)
    onnx = compare.train_network(ds, arm, stem, minutes, threads=threads)
    mean, std, seconds = compare.network_predict(onnx, arm, ds, test, calib, stem.with_name(stem.name + "_calib"),
                                                 SAMPLES, sampler, steps)
    return compare.scores(arm, "", mean, std, test, seconds,
                          dict(train_minutes=minutes, samples=SAMPLES if arm == "dgmf" else 1,
                               sampler=f"{sampler} steps={steps}" if arm == "dgmf" else None,
                               **training_record(stem.with_suffix(".pt"))))


def training_record(ck_path):
    """Steps and seconds a network trained (the rows say how far a time budget got on this machine)."""
    import torch
    ck = torch.load(ck_path, map_location="cpu", weights_only=False)
    return dict(train_steps=int(ck["steps"]), train_seconds=float(ck["seconds"]))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("command", choices=("costs", "pool", "run", "report", "noise"),
                    help="noise: the MF-GP with eval_noise at --ladder (a sensitivity row, outside the table)")
    ap.add_argument("--ladder", default="100,20,5", help="noise: the ladder (runs per level)")
    ap.add_argument("bench", nargs="*", default=list(LADDERS))
    ap.add_argument("--work", help="where the pools and networks go (pool, run)")
    ap.add_argument("--minutes", type=float, default=5.0,
                    help="training minutes per network arm (the committed rows: 5)")
    ap.add_argument("--arms", default="gp,mf-gp,regression,dgmf,fno",
                    help="fno needs the neuraloperator package (pip install neuraloperator)")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--gp-rows", type=int, default=None,
                    help="rows per fidelity level each GP is fitted on (default gp.MAX_ROWS = 800; the committed "
                         "flow rows: 400, see docs/multifidelity.md)")
    a = ap.parse_intermixed_args(argv)
    if a.command in ("pool", "run", "noise") and not a.work:
        ap.error(f"{a.command} needs --work DIR (the pools and the networks' checkpoints)")
    if a.command == "costs":
        costs(a.bench)
    elif a.command == "pool":
        for name in a.bench:
            pool(a.work, name)
    elif a.command == "noise":
        from threadpoolctl import threadpool_limits
        with threadpool_limits(limits=a.threads):
            for name in a.bench:
                noise_sensitivity(a.work, name, tuple(int(v) for v in a.ladder.split(",")), a.gp_rows or 200)
    elif a.command == "run":
        # Every arm gets --threads, the GP's BLAS too: on a shared machine a multi-threaded GP fit beside a
        # network row would take the time the network's budget counts on.
        from threadpoolctl import threadpool_limits
        with threadpool_limits(limits=a.threads):
            for name in a.bench:
                run(a.work, name, a.minutes, a.arms.split(","), a.threads, a.gp_rows)
    else:
        from . import multifidelity_report
        multifidelity_report.main(RESULTS, REPO / "docs" / "multifidelity.md")


if __name__ == "__main__":
    main()
