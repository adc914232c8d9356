"""Each network of an ensemble alone: the mean (and worst) relative L2 of its 6-sample mean on a case set
(ancestral 6, seed 0; e.g. a test split, or models/<name>/box for the declared box's corners), the numbers docs/uncertainty.md quotes for the members of the shipped ensembles.

    python3 bench/member_errors.py models/heat models/heat.onnx runs/ensembles/heat_m1.onnx \
        runs/ensembles/heat_m2.onnx
    python3 bench/member_errors.py --own-sampler models/heat models/heat_fast.onnx \
        runs/ensembles/heat_fast_m1.onnx runs/ensembles/heat_fast_m2.onnx

(the member files are those scripts/train-ensemble.sh and scripts/distill-ensemble.sh leave in
runs/ensembles/). --own-sampler: each file's recommended sampler (a student's `consistency`) instead.
"""
import sys

from dgmf_train import engine
from dgmf_train.contract import read_metadata
from dgmf_train.testsets import cases_fidelity_arg, load_cases, per_case_error


def main():
    args = sys.argv[1:]
    own = "--own-sampler" in args
    args = [a for a in args if a != "--own-sampler"]
    if len(args) < 2:
        sys.exit(__doc__)
    t = load_cases(args[0])
    sampler, steps = (None, None) if own else ("ancestral", 6)
    for model in args[1:]:
        fid = cases_fidelity_arg(t, read_metadata(model).levels is not None)
        mean, _, _ = engine.predict(model, t["params"], fid, coords=t.get("coords"), samples=6,
                                    sampler=sampler, steps=steps)
        e = per_case_error(mean, t)
        print(f"{model}: mean relative L2 {100 * e.mean():.2f} %, worst {100 * e.max():.2f} %")


if __name__ == "__main__":
    main()
