#!/usr/bin/env bash
# The demo, from a fresh clone: fetch ONNX Runtime, build, inspect the shipped Poisson surrogate, predict a
# high-fidelity solution with an uncertainty field (16 samples, the default sampler: ancestral, 30 levels), and
# compare it with the held-out reference solution.
# Usage: scripts/demo.sh [MODEL --params ... --fidelity ...]   (no arguments: the shipped Poisson model)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
scripts/fetch-ort.sh >/dev/null
python3 -c 'import numpy' 2>/dev/null || python3 -m pip install --quiet --disable-pip-version-check numpy==2.4.6
cargo build --release --quiet --bin dgmf
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
if [ $# -gt 0 ]; then
  target/release/dgmf info "$1"
  exec target/release/dgmf predict "$@"
fi
model=models/poisson.onnx
# Test case 0 of models/poisson/: its parameters (full precision) and the exact solution on the 32x32 grid.
params="$(python3 -c 'import numpy as np; print(",".join(repr(float(v)) for v in np.load("models/poisson/params.npy")[0]))')"
set -x
target/release/dgmf info "$model"
target/release/dgmf predict "$model" --params "$params" --fidelity 2 --samples 16 \
  --seed 1 --out "$out/mean.npy" --std "$out/std.npy"
set +x
python3 - "$out" <<'PY'
import sys
import numpy as np
out = sys.argv[1]
mean, std = np.load(f"{out}/mean.npy")[0, 0], np.load(f"{out}/std.npy")[0, 0]
ref = np.load("models/poisson/u.npy")[0, 0]
err = np.linalg.norm(mean - ref) / np.linalg.norm(ref)
print(f"\nrelative L2 error vs the exact solution (Fourier series, docs/benchmarks.md): {err:.4f}")
print(f"ensemble std: mean {std.mean():.4f}, max {std.max():.4f}; |error| max {np.abs(mean - ref).max():.4f}")
print("centre row, prediction vs reference:")
print("  pred", np.array2string(mean[16, ::4], precision=3))
print("  ref ", np.array2string(ref[16, ::4], precision=3))
PY
