#!/usr/bin/env bash
# The new-user study of docs/training.md ("25 CPU minutes on a PDE of your own"): a 2-D PDE the tests
# never see (advdiff.py), the documented path, DGMF against the regression baseline trained as long.
#
#   bench/own_pde/run.sh [WORK]          # default work/own_pde; ~30 minutes on 2 cores
#
# Each step is skipped when its output exists, so a killed run continues (fit resumes its checkpoint).
# The two networks train side by side, one thread each, for MINUTES (default 25) of wall clock,
# validation included; everything after that is measured on the 40 test cases against the n = 257 solve.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
# The engine's CLI from this checkout (calibrate and evaluate sample with it, predict draws with it).
(cd "$root" && cargo build --release --quiet -p dgmf-cli)
export PATH="$root/target/release:$PATH" DGMF_CLI="$root/target/release/dgmf"
work=${1:-work/own_pde}
minutes=${MINUTES:-25}
mkdir -p "$work" && cd "$work"

[ -f data/advdiff.json ] || python3 "$here/advdiff.py" --out data
dgmf-train check data/advdiff.json

fit() {  # fit NAME [--baseline]: resumable, logged
  local name=$1; shift
  local resume=()
  [ -f "$name.pt" ] && resume=(--resume "$name.pt")
  nice dgmf-train fit data/advdiff.json --out "$name.pt" --minutes "$minutes" --threads 1 \
    --val data/calib --val-minutes 5 --snapshot-minutes 5 --no-progress "${resume[@]}" "$@" >> "fit_$name.log" 2>&1
}
if [ ! -f dgmf.onnx ] || [ ! -f reg.onnx ]; then
  fit dgmf & fit reg --baseline & wait
  dgmf-train export dgmf.pt dgmf.onnx
  dgmf-train export reg.pt reg.onnx
fi
# The recommended sampler: the search on the 24 calibration cases, written into the model.
[ -f calibrated.onnx ] || dgmf-train calibrate dgmf.onnx --data data/calib --out calibrated.onnx | tee calibrate.txt
dgmf-train evaluate calibrated.onnx --data data/test --samples 16 --baseline reg.onnx \
  --dataset data/levels_at_test.json --solver-seconds "$(cat data/seconds.txt)" --json table.json --png table.png \
  | tee evaluate.txt
# The same at a fixed 8-NFE sampler, should the search have chosen more.
dgmf-train evaluate calibrated.onnx --data data/test --samples 16 --sampler ancestral --steps 8 --json table8.json \
  | tee evaluate8.txt
python3 "$here/curve.py" dgmf.pt reg.pt --png curve.png | tee curve.txt
# Four test cases drawn beside their n = 257 solves.
python3 -c 'import numpy as np; np.save("q.npy", np.load("data/test/params.npy")[:4]); np.save("ref.npy", np.load("data/test/u.npy")[:4])'
dgmf predict calibrated.onnx --params-file q.npy --fidelity 2 --samples 16 --reference ref.npy --png pic -q
