#!/usr/bin/env bash
# The tutorial of docs/training.md, end to end on a fresh machine: your own solver's outputs at three
# resolutions -> a dataset -> train -> export -> calibrate -> evaluate -> predict from the CLI and from C,
# then your own PyTorch network through export_contract.
#   scripts/tutorial.sh            the tutorial as written (5 min of training; the U-Net of the shipped models)
#   scripts/tutorial.sh --quick    what CI runs: a tiny network, 1000 training steps (under a minute on 2 cores)
# DGMF_TUTORIAL_DIR=DIR keeps the files (default: a temporary directory, removed at the end).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
py="${PYTHON:-python3}"
minutes=5 fit_steps=1000000 channels=16,32,64 emb=128 steps=3000 val_minutes=1
if [[ "${1:-}" == --quick ]]; then
  # A step count, not a time budget: the same model on a fast or a loaded machine (the cap only guards).
  minutes=10 fit_steps=1000 channels=8,16,32 emb=64 steps=600 val_minutes=0.25
elif [[ -n "${1:-}" ]]; then
  echo "usage: scripts/tutorial.sh [--quick]" >&2
  exit 2
fi

echo "== set-up: the training package with its torch extra (pinned), the dgmf CLI, the C library"
"$py" -m pip install --quiet --disable-pip-version-check -r "$root/training/requirements.txt"
"$py" -m pip install --quiet --disable-pip-version-check "$root/training"
rm -rf "$root/training/build" "$root/training"/*.egg-info   # pip's in-tree build leftovers
"$root/scripts/fetch-ort.sh" >/dev/null
(cd "$root" && cargo build --release --quiet --bin dgmf)
export PATH="$root/target/release:$PATH"
work="${DGMF_TUTORIAL_DIR:-}"
if [[ -z "$work" ]]; then
  work="$(mktemp -d)"
  trap 'rm -rf "$work"' EXIT
fi
mkdir -p "$work"
cd "$work"
export OMP_NUM_THREADS="${OMP_NUM_THREADS:-1}"

echo "== 1. your solver, three resolutions, one dataset"
"$py" "$root/examples/training/my_solver.py" --out layer.json
dgmf-train check layer.json

echo "== 2. split: training, calibration and test cases"
dgmf-train split layer.json --out split --seed 0 --calib 0.3 --test 0.3

echo "== 3. train (at most $minutes min, at most $fit_steps steps)"
dgmf-train fit split/train.json --out run.pt --minutes "$minutes" --steps "$fit_steps" --channels "$channels" \
  --emb "$emb" --threads 2 --log-every 100 --val split/calib --val-minutes "$val_minutes" | tee fit.txt
grep -q "validation (21 cases, ancestral 6): one sample" fit.txt   # the progress a user reads

echo "== 4. export (checked with ONNX Runtime and dgmf info)"
dgmf-train export run.pt layer.onnx

echo "== 5. calibrate the ensemble std on the calibration cases (after the sampler search)"
dgmf-train calibrate layer.onnx --data split/calib | tee calibrate.txt
grep -q "<- chosen" calibrate.txt
dgmf info layer.onnx | grep -q "the model's dgmf.sampler"

echo "== 6. evaluate on the test cases: DGMF, the solver's cheaper levels at the same parameters, the times"
dgmf-train evaluate layer.onnx --data split/test --report-json test.json --dataset split/train.json \
  --solver-seconds "$(cat layer_seconds.txt)" --json table.json --png table.png
"$py" - <<'EOF'
import json
rows = {r["method"]: r for r in json.load(open("table.json"))["rows"]}
assert any(m.startswith("solver `n17` at the same parameters") for m in rows), rows.keys()
assert any(m.startswith("DGMF") and "mean of 16" in m for m in rows), rows.keys()
EOF
"$py" - <<'EOF'
import json
r = json.load(open("test.json"))["before"]
print(f"test: mean relative L2 {r['mean_rel_l2']:.4f}, ±2σ coverage {100 * r['coverage_2sigma']:.1f} %")
# A sanity bound, not an accuracy target: an untrained network is off by ~100 %.
assert r["mean_rel_l2"] < 0.5, "the trained model is no better than noise"
EOF

echo "== 7. predict from the CLI (eps = 0.1, s = 1.5, the finest level)"
dgmf predict layer.onnx --params 0.1,1.5 --fidelity 2 --samples 16 --out u.npy --std std.npy
# Four test cases against their own solves: the error in the summary, the solves beside the prediction.
"$py" -c 'import numpy as np; np.save("q.npy", np.load("split/test/params.npy")[:4]); np.save("ref.npy", np.load("split/test/u.npy")[:4])'
dgmf predict layer.onnx --params-file q.npy --fidelity 2 --samples 16 --reference ref.npy --png pic | tee predict.txt
grep -q "reference  rel. L2 of the mean" predict.txt && test -s pic_mean.png && test -s pic_std.png

echo "== 8. predict from C (examples/c/predict.c, built with CMake against the installed library)"
make --no-print-directory -C "$root" install PREFIX="$work/prefix" >/dev/null
cmake -S "$root/examples/c" -B build-c -DCMAKE_PREFIX_PATH="$work/prefix" >/dev/null
cmake --build build-c >/dev/null
./build-c/predict layer.onnx 0.1,1.5

echo "== 9. your own PyTorch network, same contract"
"$py" "$root/examples/training/custom_network.py" split/train.json mlp.onnx --steps "$steps"
dgmf-train evaluate mlp.onnx --data split/test --samples 8

echo "== 10. does DGMF pay here? the GP baselines and the networks on the same runs (dgmf-train compare)"
dgmf-train compare layer.json --out compare --networks --minutes "$minutes" --steps "$fit_steps" --samples 8
"$py" - <<'EOF'
import json
rows = json.load(open("compare/compare.json"))["rows"]
arms = sorted({(r["arm"], r["design"]) for r in rows})
assert arms == sorted([(a, d) for a in ("regression", "dgmf") for d in ("fine", "ladder")]
                      + [("gp", "fine"), ("mf-gp", "ladder")]), arms
assert min(r["mean_rel_l2"] for r in rows if r["arm"] == "gp") < 0.05, "the GP arm failed a smooth problem"
EOF
echo "tutorial: ok"
