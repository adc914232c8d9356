"""`dgmf predict` and `dgmf calibrate` from Python: the one place that builds their command lines
(the accuracy report, the evaluation, the Heat-between study, the benchmarks and `dgmf-train
calibrate/evaluate` all go through it)."""
from __future__ import annotations

import json
import subprocess
import tempfile
from pathlib import Path

import numpy as np

from .paths import require_cli


def predict(model, params, fidelity, *, coords=None, sampler=None, steps=None, samples=1, seed=0,
            std=False, repeat=1, threads=None, extra=(), work=None, echo=False, exe=None):
    """Runs `dgmf predict MODEL` on the rows of `params` ([n, P]) with one `fidelity` (a level index or a
    value) and optional per-row `coords` ([n, Q]). Returns (mean [n, *shape], std or None, report dict).
    `sampler`/`steps` None: the library default. `work`: a directory for the files (a temporary one if
    None). `exe`: the CLI (default: paths.find_cli's); `extra`: more flags (a provider, an ORT library)."""
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(work or tmp)
        np.save(work / "p.npy", np.asarray(params, np.float64))
        cmd = [str(exe or require_cli()), "predict", str(model), "--params-file", str(work / "p.npy"),
               "--fidelity", str(fidelity), "--samples", str(samples), "--seed", str(seed), "-q",
               "--out", str(work / "mean.npy"), "--report-json", str(work / "r.json")]
        if sampler is not None:
            cmd += ["--sampler", sampler]
        if steps is not None:
            cmd += ["--steps", str(steps)]
        if coords is not None:
            np.save(work / "k.npy", np.asarray(coords, np.float64))
            cmd += ["--coords-file", str(work / "k.npy")]
        if std:
            cmd += ["--std", str(work / "std.npy")]
        if repeat != 1:
            cmd += ["--repeat", str(repeat)]
        if threads is not None:
            cmd += ["--threads", str(threads)]
        cmd += [str(a) for a in extra]
        if echo:
            print("$ " + " ".join(cmd))
        subprocess.run(cmd, check=True, stdout=None if echo else subprocess.DEVNULL)
        report = json.loads((work / "r.json").read_text())
        return (np.load(work / "mean.npy"), np.load(work / "std.npy") if std else None, report)


def fidelity_arg(value, discrete):
    """`--fidelity` of one value: a level index for a discrete fidelity, the value for a continuous one."""
    return str(int(value)) if discrete else repr(float(value))


def balanced_samples(at_least, members):
    """The engine's `Contract::balanced_samples` (`dgmf calibrate`'s default count): `at_least` rounded up
    to a multiple of a deep ensemble's member count, so that every member draws alike."""
    return -(-at_least // members) * members


def calibrate_command(model, data, *, exe=None, samples=None, sampler=None, steps=None, limit=None,
                      report_json=None, out=None):
    """The `dgmf calibrate MODEL --data DIR ...` command line (`exe`: the CLI, default: paths.find_cli's);
    None options are left to the CLI's defaults; `out` writes the fitted dgmf.std_scale there."""
    cmd = [str(exe or require_cli()), "calibrate", str(model), "--data", str(data)]
    for flag, value in (("--samples", samples), ("--sampler", sampler), ("--steps", steps),
                        ("--limit", limit), ("--report-json", report_json), ("--out", out)):
        if value is not None:
            cmd += [flag, str(value)]
    return cmd
