"""Write the built-in benchmarks' multi-fidelity training and test sets (python3 -m dgmf_data.generate --out data).

Per benchmark three files (the equations, grids and references: docs/benchmarks.md):
    <name>_train.npz  all fidelity levels stacked; each level is the benchmark's solver at that
                      level's resolution, interpolated to the output grid, except heat's top
                      level (EXACT_TOP): the exact solution, fidelity h = 0
    <name>_test.npz   128 held-out cases of the converged solution: the exact solution of the
                      PDE on the output grid (module.reference), labelled with the top level
    <name>_calib.npz  64 more held-out cases laid out as <name>_test.npz (exact solution, top
                      level, burgers at burgers.TIMES), from their own parameter draws: the
                      calibration split (fitting the ensemble std's scale), disjoint from training
                      and test
Arrays (u float32; params, fidelity and coords float64, as drawn, so that no value rounds outside its
declared range; other arrays as noted):
    params     [N, P]    physical parameters (see PARAM_NAMES of the module)
    fidelity   [N]       poisson/burgers: level index 0..L-1; heat: mesh spacing h = 1/(m-1)
    level      [N] int   index into level_resolutions (test: the top level)
    resolution [N] int   n (poisson), m = nx = nt (heat), nx (burgers) of that level; 0 for the
                         exact solution (heat's top training level, see EXACT_TOP)
    case       [N] int   one id per case (the 16 burgers rows of one case share it)
    coords     [N, 1]    burgers only: time t of the profile; 16 rows per case, ascending t.
                         Training: t = 0, t = 3 and one uniform draw in each of 14 equal
                         sub-intervals of [0, 3] (burgers.train_times); test: 0, 0.2, ..., 3
                         (burgers.TIMES)
    u          [N, 1, 32, 32] poisson (x, y) / heat (t, x);  [N, 1, 64] burgers;
               [N, 1, 64, 64] topopt (density[row = y from the bottom, column = x])
    known_mask, known_maps   poisson only: the Dirichlet boundary as a linear map of the inputs
                         (dgmf_train.benchmarks.poisson_known_values; checked against u on loading)
plus metadata: param_names, param_low, param_high, level_resolutions, level_fidelity.
The training split also gets its dataset manifest <name>_train.json (dgmf_train.dataset, docs/training.md):
the same format users write for their own simulations, so `dgmf-train fit data/poisson_train.json`
trains a built-in benchmark like any other dataset.

Parameters are scrambled Sobol points scaled to each benchmark's box, with a fixed seed per
(benchmark, split, level): seed = base + level for training, base + 99 for the test set,
base + 98 for the calibration set (dgmf_data.convergence's checks use base + 77).
Levels draw independent points (designs are not nested).  Burgers' training times come from
numpy's default_rng([seed, 1]).
"""
from __future__ import annotations

import argparse
import json
import time
import warnings
from pathlib import Path

import numpy as np
from scipy.stats import qmc

from . import burgers, flow, heat, poisson, topopt
from dgmf_train import benchmarks

N_TEST = 128
N_CALIB = 64
EXACT_SPLITS = ("test", "calib")  # rows are the exact solution at the top level
CONFIG = {
    # name: (module, training cases per level (low -> high fidelity), seed base)
    "poisson": (poisson, (256, 64, 16), 1000),
    "heat": (heat, (256, 128, 64, 32, 16, 16), 2000),
    "burgers": (burgers, (256, 64, 16), 3000),
    "topopt": (topopt, (256, 128, 64), 4000),
    "flow": (flow, (512, 256, 64), 5000),
}
# Held-out cases (test, calibration) where the default N_TEST / N_CALIB is too dear: a flow
# reference is a 128^2 Navier-Stokes run of ~1 min, 16 snapshots (rows) each.
HELD_OUT = {"flow": (24, 16)}
# Benchmarks with time as a coordinate: one solve per case gives one row per output time.
TIME_SERIES = ("burgers", "flow")
# Benchmarks whose solver fields carry their channel axis (the others' fields are one channel's grid).
MULTI_CHANNEL = ("flow",)


# Benchmarks whose top training level is the exact PDE solution (resolution 0 in the arrays) on
# top of the solver levels: where a converged solution is cheap the paper's setting allows it as
# the highest fidelity, and a model trained only on solvers cannot beat their discretisation error
# (docs/benchmarks.md, "Training levels").
EXACT_TOP = ("heat",)


def level_resolutions(name):
    """Resolutions of the training levels, low -> high fidelity; 0 is the exact solution."""
    return tuple(CONFIG[name][0].LEVELS) + ((0,) if name in EXACT_TOP else ())


def sample_params(module, n, seed):
    """n scrambled-Sobol points in the module's parameter box."""
    sobol = qmc.Sobol(len(module.PARAM_NAMES), scramble=True, rng=seed)
    with warnings.catch_warnings():  # non-power-of-two n only loses Sobol balance
        warnings.simplefilter("ignore", UserWarning)
        unit = sobol.random(n)
    return qmc.scale(unit, module.PARAM_LOW, module.PARAM_HIGH)


def _fidelity(name, level):
    if name == "heat":
        return float(heat.fidelity_value(level_resolutions(name)[level]))
    return float(level)


def solver_field(name, params, res, times=None):
    """One case solved at resolution res (0: the exact solution), on the output grid (burgers:
    [len(times), 64])."""
    if res == 0:
        return reference_field(name, params, times)
    if name == "poisson":
        return poisson.to_output(poisson.solve(params, res))
    if name == "heat":
        return heat.to_output(*heat.solve(params, res))
    if name == "topopt":
        return topopt.to_output(topopt.solve(float(params[0]), float(params[1]), res)[0])
    if name == "flow":
        return flow.to_output(*flow.solve(params, res, times))
    return burgers.to_output(burgers.solve(params[0], res, times))


def reference_field(name, params, times=None):
    """One case's converged (exact) solution on the output grid, laid out as solver_field
    (flow: [len(times), 2, 32, 32], the 128^2 reference)."""
    if name == "burgers":
        return burgers.reference(params[0], times)
    if name == "flow":
        return flow.reference(params, times)
    return CONFIG[name][0].reference(params)


def as_rows(name, fields):
    """Fields stacked along axis 0 as dataset rows [N, C, *grid]: a single-channel benchmark's fields
    get their channel axis."""
    return fields if name in MULTI_CHANNEL else fields[:, None]


def case_times(name, split, count, seed):
    """Output times per case [count, 16] of a TIME_SERIES benchmark (None for the others):
    per-case stratified random times with both ends for training (module.train_times), the
    fixed module.TIMES for the test and calibration sets.  The time draws use their own stream
    (seed, 1), independent of the Sobol scrambling."""
    if name not in TIME_SERIES:
        return None
    module = CONFIG[name][0]
    if split in EXACT_SPLITS:
        return np.tile(module.TIMES, (count, 1))
    return module.train_times(np.random.default_rng([seed, 1]), count)


def run_cases(name, split, params, level, times=None):
    """Every case of one (split, level): training rows are the solver at `level`, test and
    calibration rows the exact solution.  Returns per-row (u [rows, 1, *shape], coords [rows, 1] or None, case index)."""
    res = level_resolutions(name)[level]

    def field(p, ts):
        return reference_field(name, p, ts) if split in EXACT_SPLITS else solver_field(name, p, res, ts)

    per_case = [None] * len(params) if times is None else times
    u = np.stack([field(p, ts) for p, ts in zip(params, per_case)])
    if times is None:
        return as_rows(name, u), None, np.arange(len(params))
    # one case -> one row per output time (time is a coordinate input)
    return (as_rows(name, u.reshape(-1, *u.shape[2:])), times.reshape(-1, 1),
            np.repeat(np.arange(len(params)), times.shape[1]))


def build_split(name, split, counts, seeds, levels, log=print):
    """Stack the given (count, seed, level) triples of one split into one dataset dict."""
    module = CONFIG[name][0]
    parts = {k: [] for k in ("params", "fidelity", "level", "resolution", "case", "coords", "u")}
    next_case = 0
    for count, seed, level in zip(counts, seeds, levels):
        if count == 0:
            continue
        params = sample_params(module, count, seed)
        t0 = time.perf_counter()
        u, coords, case = run_cases(name, split, params, level, case_times(name, split, count, seed))
        elapsed = time.perf_counter() - t0
        what = f"exact reference ({split})" if split in EXACT_SPLITS else f"level {level} (res {level_resolutions(name)[level]:3d})"
        log(f"  {name:8s} {what}: {count:4d} cases "
            f"in {elapsed:6.2f} s  ({1e3 * elapsed / count:6.1f} ms/case)")
        rows = len(u)
        parts["params"].append(params[case])
        parts["fidelity"].append(np.full(rows, _fidelity(name, level)))
        parts["level"].append(np.full(rows, level, dtype=np.int64))
        parts["resolution"].append(np.full(rows, level_resolutions(name)[level], dtype=np.int64))
        parts["case"].append(case + next_case)
        parts["coords"].append(coords)
        parts["u"].append(u)
        next_case += count

    data = {k: np.concatenate(v) for k, v in parts.items() if k != "coords"}
    if name in TIME_SERIES:
        data["coords"] = np.concatenate(parts["coords"])
    # The solutions in float32; the inputs in float64, exactly as drawn: a float32 copy of a value at the
    # edge of its declared range can round outside it (h = 1/7 becomes 0.142857149 > 1/7), and the
    # dataset check and the engine's range check then refuse that row.
    data["u"] = data["u"].astype(np.float32)
    for k in ("params", "fidelity", "coords"):
        if k in data:
            data[k] = data[k].astype(np.float64)
    data.update(
        param_names=np.array(module.PARAM_NAMES),
        param_low=module.PARAM_LOW.astype(np.float32),
        param_high=module.PARAM_HIGH.astype(np.float32),
        level_resolutions=np.array(level_resolutions(name), dtype=np.int64),
        level_fidelity=np.array([_fidelity(name, l) for l in range(len(level_resolutions(name)))],
                                dtype=np.float32),
    )
    return data


SPLITS = ("train", "test", "calib")


def generate(out_dir, names=tuple(CONFIG), train_counts=None, n_test=None, n_calib=None,
             log=print, splits=SPLITS):
    """Write <name>_<split>.npz for each benchmark and split (train, test, calib); returns the
    paths.  n_test / n_calib: held-out cases (default: HELD_OUT's, else N_TEST / N_CALIB).
    The splits are independent (own seeds), so they may run as separate processes."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for name in names:
        module, default_counts, base = CONFIG[name]
        counts = default_counts if train_counts is None else train_counts[name]
        n_levels = len(level_resolutions(name))
        if len(counts) != n_levels:
            raise ValueError(f"{name}: {len(counts)} training counts for {n_levels} levels "
                             f"(resolutions {level_resolutions(name)}, 0 = exact)")
        top = n_levels - 1
        t0 = time.perf_counter()
        held = HELD_OUT.get(name, (N_TEST, N_CALIB))
        build = {
            "train": lambda: build_split(name, "train", counts, [base + l for l in range(n_levels)],
                                         range(n_levels), log),
            "test": lambda: build_split(name, "test", [held[0] if n_test is None else n_test],
                                        [base + 99], [top], log),
            "calib": lambda: build_split(name, "calib", [held[1] if n_calib is None else n_calib],
                                         [base + 98], [top], log),
        }
        known = benchmarks.known_values(name)
        for split in splits:
            data = build[split]()
            path = out_dir / f"{name}_{split}.npz"
            if known is not None:
                data["known_mask"], data["known_maps"] = known
            np.savez(path, **data)
            if split == "train":  # the held-out splits are case sets (evaluate --write-testset)
                doc = benchmarks.manifest(name, arrays=path.name).to_json()
                (out_dir / f"{name}_{split}.json").write_text(json.dumps(doc, indent=1) + "\n")
            written.append(path)
            log(f"  -> {path}  u{tuple(data['u'].shape)} params{tuple(data['params'].shape)}")
        log(f"{name}: {time.perf_counter() - t0:.1f} s")
    return written


def main(argv=None, prog=None):
    ap = argparse.ArgumentParser(prog=prog, description=" ".join(__doc__.split("\n\n")[0].split()))
    ap.add_argument("--out", default="data", help="output directory")
    ap.add_argument("--only", nargs="+", choices=list(CONFIG), default=list(CONFIG),
                    help="the benchmarks to generate (default: all)")
    ap.add_argument("--splits", nargs="+", choices=SPLITS, default=list(SPLITS),
                    help="the splits to write (default: all)")
    args = ap.parse_args(argv)
    t0 = time.perf_counter()
    generate(args.out, names=args.only, splits=args.splits)
    print(f"total: {time.perf_counter() - t0:.1f} s")


if __name__ == "__main__":
    main()
