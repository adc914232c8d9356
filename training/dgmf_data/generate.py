"""Write the multi-fidelity training / test sets:  python3 -m dgmf_data.generate --out data

Per benchmark two files, <name>_train.npz (all fidelity levels stacked) and
<name>_test.npz (128 held-out cases at the highest fidelity).  Arrays (float32 unless noted):
    params     [N, P]    physical parameters (see PARAM_NAMES of the module)
    fidelity   [N]       poisson/burgers: level index 0..L-1; heat: mesh spacing h = 1/(m-1)
    level      [N] int   index into level_resolutions
    resolution [N] int   n (poisson), m = nx = nt (heat), nx (burgers)
    case_id    [N] int   one id per PDE solve (burgers rows of one solve share it)
    coords     [N, 1]    burgers only: time t of the profile
    u          [N, 1, 32, 32] poisson (x, y) / heat (t, x);  [N, 1, 64] burgers
plus metadata: param_names, param_low, param_high, level_resolutions, level_fidelity.

Parameters are scrambled Sobol points scaled to each benchmark's box, with a fixed seed per
(benchmark, split, level): seed = base + level for training, base + 99 for the test set.
Levels draw independent points (designs are not nested).
"""
from __future__ import annotations

import argparse
import time
import warnings
from pathlib import Path

import numpy as np
from scipy.stats import qmc

from . import burgers, heat, poisson

N_TEST = 128
CONFIG = {
    # name: (module, training cases per level (low -> high fidelity), seed base)
    "poisson": (poisson, (256, 64, 16), 1000),
    "heat": (heat, (256, 128, 64, 32, 16), 2000),
    "burgers": (burgers, (256, 64, 16), 3000),
}


def sample_params(module, n, seed):
    """n scrambled-Sobol points in the module's parameter box."""
    sobol = qmc.Sobol(len(module.PARAM_NAMES), scramble=True, rng=seed)
    with warnings.catch_warnings():  # non-power-of-two n only loses Sobol balance
        warnings.simplefilter("ignore", UserWarning)
        unit = sobol.random(n)
    return qmc.scale(unit, module.PARAM_LOW, module.PARAM_HIGH)


def _fidelity(name, level):
    module = CONFIG[name][0]
    if name == "heat":
        return float(heat.fidelity_value(module.LEVELS[level]))
    return float(level)


def run_cases(name, params, level):
    """Solve every case at one level; returns per-row (u, coords or None, case index)."""
    res = CONFIG[name][0].LEVELS[level]
    if name == "poisson":
        u = np.stack([poisson.to_output(poisson.solve(p, res)) for p in params])
        return u[:, None], None, np.arange(len(params))
    if name == "heat":
        u = np.stack([heat.to_output(*heat.solve(p, res)) for p in params])
        return u[:, None], None, np.arange(len(params))
    # burgers: one solve -> len(TIMES) rows (time is a coordinate input)
    times = burgers.TIMES
    u = np.stack([burgers.to_output(burgers.solve(p[0], res, times)) for p in params])
    n_t = times.size
    coords = np.tile(times, len(params))[:, None]
    return u.reshape(-1, 1, burgers.OUT_N), coords, np.repeat(np.arange(len(params)), n_t)


def build_split(name, counts, seeds, levels, log=print):
    """Stack the given (count, seed, level) triples into one dataset dict."""
    module = CONFIG[name][0]
    parts = {k: [] for k in ("params", "fidelity", "level", "resolution", "case_id", "coords", "u")}
    next_case = 0
    for count, seed, level in zip(counts, seeds, levels):
        if count == 0:
            continue
        params = sample_params(module, count, seed)
        t0 = time.perf_counter()
        u, coords, case = run_cases(name, params, level)
        elapsed = time.perf_counter() - t0
        log(f"  {name:8s} level {level} (res {module.LEVELS[level]:3d}): {count:4d} cases "
            f"in {elapsed:6.2f} s  ({1e3 * elapsed / count:6.1f} ms/case)")
        rows = len(u)
        parts["params"].append(params[case])
        parts["fidelity"].append(np.full(rows, _fidelity(name, level)))
        parts["level"].append(np.full(rows, level, dtype=np.int64))
        parts["resolution"].append(np.full(rows, module.LEVELS[level], dtype=np.int64))
        parts["case_id"].append(case + next_case)
        parts["coords"].append(coords)
        parts["u"].append(u)
        next_case += count

    data = {k: np.concatenate(v) for k, v in parts.items() if k != "coords"}
    if name == "burgers":
        data["coords"] = np.concatenate(parts["coords"])
    for k in ("params", "fidelity", "coords", "u"):
        if k in data:
            data[k] = data[k].astype(np.float32)
    data.update(
        param_names=np.array(module.PARAM_NAMES),
        param_low=module.PARAM_LOW.astype(np.float32),
        param_high=module.PARAM_HIGH.astype(np.float32),
        level_resolutions=np.array(module.LEVELS, dtype=np.int64),
        level_fidelity=np.array([_fidelity(name, l) for l in range(len(module.LEVELS))],
                                dtype=np.float32),
    )
    return data


def generate(out_dir, names=tuple(CONFIG), train_counts=None, n_test=N_TEST, log=print):
    """Write <name>_train.npz and <name>_test.npz for each benchmark; returns the paths."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for name in names:
        module, default_counts, base = CONFIG[name]
        counts = default_counts if train_counts is None else train_counts[name]
        n_levels = len(module.LEVELS)
        top = n_levels - 1
        t0 = time.perf_counter()
        splits = {
            "train": build_split(name, counts, [base + l for l in range(n_levels)],
                                 range(n_levels), log),
            "test": build_split(name, [n_test], [base + 99], [top], log),
        }
        for split, data in splits.items():
            path = out_dir / f"{name}_{split}.npz"
            np.savez(path, **data)
            written.append(path)
            log(f"  -> {path}  u{tuple(data['u'].shape)} params{tuple(data['params'].shape)}")
        log(f"{name}: {time.perf_counter() - t0:.1f} s")
    return written


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default="data", help="output directory")
    ap.add_argument("--only", nargs="+", choices=list(CONFIG), default=list(CONFIG))
    args = ap.parse_args(argv)
    t0 = time.perf_counter()
    generate(args.out, names=args.only)
    print(f"total: {time.perf_counter() - t0:.1f} s")


if __name__ == "__main__":
    main()
