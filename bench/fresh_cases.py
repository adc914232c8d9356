"""Fresh parameter draws against converged solutions: a case directory like the shipped test split, from
a seed no split uses, for bench/ensemble_uncertainty.py.

    python3 bench/fresh_cases.py poisson --cases 64 --out work/poisson_fresh

Scrambled Sobol points in the benchmark's box (seed = the benchmark's base + 97; the test split is base +
99, calibration base + 98, the convergence checks base + 77: dgmf_data.generate), each solved by the
benchmark's converged reference at the target fidelity, rows laid out as `dgmf-train split` writes them.
"""
import argparse
from pathlib import Path

import numpy as np

from dgmf_data import generate
from dgmf_reports.evaluate import _save
from dgmf_train import benchmarks

FRESH_SEED = 97


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("bench", choices=list(generate.CONFIG), help="the benchmark")
    ap.add_argument("--cases", type=int, default=64, help="parameter draws (default 64)")
    ap.add_argument("--out", required=True, help="the case directory to write")
    a = ap.parse_args()
    if a.cases < 1:
        ap.error("--cases must be at least 1")
    _, _, base = generate.CONFIG[a.bench]
    top = len(generate.level_resolutions(a.bench)) - 1
    d = generate.build_split(a.bench, "test", [a.cases], [base + FRESH_SEED], [top])
    fidelity = d["level"] if benchmarks.BENCH[a.bench]["fidelity"][0] == "discrete" else d["fidelity"]
    coords = d.get("coords")
    _save(Path(a.out), d["params"], fidelity, d["u"], coords, d["case"] if coords is not None else None)


if __name__ == "__main__":
    main()
