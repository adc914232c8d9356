"""The shipped test sets (models/<name>/: the test split, the calibration split, the declared-range
box) and what every report and benchmark does with them: load, subset, the query rows, the fidelity
argument, the relative L2 error per case, a prediction through `dgmf predict`, the machine's name."""
from __future__ import annotations

import os
import platform
from pathlib import Path

import numpy as np

from . import benchmarks, engine
from .paths import REPO


def rel_l2(pred, ref):
    flat = lambda a: np.asarray(a, np.float64).reshape(len(a), -1)
    return np.linalg.norm(flat(pred) - flat(ref), axis=1) / np.linalg.norm(flat(ref), axis=1)


def load_testset(name, sub=""):
    """A shipped set: the test split (sub ""), the calibration split ("calib") or the declared-range set
    ("box"); u is the exact solution, u_top (test split only) the highest training fidelity's solver."""
    return load_cases(REPO / "models" / name / sub)


def load_cases(d):
    """A case directory (dgmf-train split's calib/ and test/, the shipped sets): params, fidelity, u
    [+ u_top, coords], and case (each row its own case when there are no coords)."""
    d = Path(d)
    missing = [f"{k}.npy" for k in ("params", "fidelity", "u") if not (d / f"{k}.npy").exists()]
    if missing:
        raise FileNotFoundError(f"{d} is not a case directory (dgmf-train split writes them): no "
                                f"{', '.join(missing)}")
    t = {k: np.load(d / f"{k}.npy") for k in ("params", "fidelity", "u")}
    if (d / "u_top.npy").exists():
        t["u_top"] = np.load(d / "u_top.npy")
    if (d / "coords.npy").exists():
        t["coords"] = np.load(d / "coords.npy")
        t["case"] = np.load(d / "case.npy")
    else:
        t["case"] = np.arange(len(t["u"]))
    return t


def as_dataset(name, t, n_cases=None):
    """A shipped set (load_testset) as a Dataset of the benchmark's manifest, its first n_cases cases."""
    from .dataset import Dataset
    keep = np.ones(len(t["u"]), bool) if n_cases is None else t["case"] < n_cases
    return Dataset(manifest=benchmarks.manifest(name), u=t["u"][keep], params=t["params"][keep],
                   fidelity=t["fidelity"][keep], coords=t["coords"][keep] if "coords" in t else None,
                   case=t["case"][keep])


def subset(t, n_cases):
    """The rows of t's first n_cases cases (by case id: a split's case directory keeps the dataset's ids)."""
    keep = np.isin(t["case"], np.unique(t["case"])[:n_cases])
    return {k: v[keep] for k, v in t.items()}


def batch_rows(t, batch):
    """The first `batch` rows of a test set, cycled if it has fewer: (params, coords or None), the
    queries the timing benches send."""
    rows = np.arange(batch) % len(t["params"])
    return t["params"][rows], (t["coords"][rows] if "coords" in t else None)


def per_case_error(pred, t, ref="u"):
    """Relative L2 per case against t[ref], rows of one case flattened together."""
    cases = np.unique(t["case"])
    flat = lambda a: np.asarray(a, np.float64).reshape(len(a), -1)
    p, r = flat(pred), flat(t[ref])
    return np.array([rel_l2(p[t["case"] == c].reshape(1, -1), r[t["case"] == c].reshape(1, -1))[0]
                     for c in cases])


def fidelity_arg(name, t):
    """`--fidelity` of a built-in benchmark's set (cases_fidelity_arg)."""
    return cases_fidelity_arg(t, benchmarks.BENCH[name]["fidelity"][0] == "discrete")


def cases_fidelity_arg(t, discrete, what="the cases"):
    """`--fidelity` of a set of cases at one fidelity; ValueError (naming `what`) if they are at several."""
    fid = np.unique(t["fidelity"])
    if len(fid) != 1:
        raise ValueError(f"{what} are at {len(fid)} fidelities; this takes cases at one (dgmf-train split's "
                         "calib/ and test/ are at the target fidelity)")
    return engine.fidelity_arg(fid[0], discrete)


def predict_testset(name, t, sampler, steps, work, samples=1, std=False, model=None):
    """Runs `dgmf predict` (on the shipped model, or `model`) on the rows of t; returns (mean, std or
    None, report dict)."""
    model = model or REPO / "models" / f"{name}.onnx"
    return engine.predict(model, t["params"], fidelity_arg(name, t), coords=t.get("coords"),
                          sampler=sampler, steps=steps, samples=samples, std=std, work=work)


def machine():
    cpu = "unknown CPU"
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{cpu}, {os.cpu_count()} logical CPUs, {platform.system()} {platform.machine()}"
