"""Each network of an ensemble alone: the mean relative L2 of its 6-sample mean on a case set (ancestral 6,
seed 0), the numbers docs/uncertainty.md quotes for the members of the shipped ensembles.

    python3 bench/member_errors.py models/heat models/heat.onnx runs/ensembles/heat_m1.onnx \
        runs/ensembles/heat_m2.onnx

(the member files are those scripts/train-ensemble.sh leaves in runs/ensembles/).
"""
import sys

from dgmf_train import engine
from dgmf_train.contract import read_metadata
from dgmf_train.testsets import cases_fidelity_arg, load_cases, per_case_error


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    t = load_cases(sys.argv[1])
    for model in sys.argv[2:]:
        fid = cases_fidelity_arg(t, read_metadata(model).levels is not None)
        mean, _, _ = engine.predict(model, t["params"], fid, coords=t.get("coords"), samples=6,
                                    sampler="ancestral", steps=6)
        print(f"{model}: mean relative L2 {100 * per_case_error(mean, t).mean():.2f} %")


if __name__ == "__main__":
    main()
