#!/usr/bin/env bash
# The demo, from a fresh clone: fetch ONNX Runtime, build, inspect a model, predict with uncertainty.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
scripts/fetch-ort.sh >/dev/null
cargo build --release --quiet
model="${1:-tests/models/analytic_score.onnx}"
out="$(mktemp -d)"
set -x
target/release/dgmf info "$model"
target/release/dgmf predict "$model" --params 0.3,-0.6 --fidelity 2 --samples 16 --sampler heun --steps 18 \
  --seed 1 --out "$out/mean.npy" --std "$out/std.npy"
target/release/dgmf predict "$model" --params 0.3,-0.6 --fidelity 2 --samples 16 --sampler pc --steps 1000 \
  --seed 1 --quiet
