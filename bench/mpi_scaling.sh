#!/usr/bin/env bash
# docs/distributed.md's scaling table: the MPI examples at 1 and 2 ranks on this machine, plus the peak
# memory of one rank. Usage: bench/mpi_scaling.sh PREFIX [MODEL] (an installed libdgmf; Open MPI).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
prefix="$(cd "${1:?usage: bench/mpi_scaling.sh PREFIX [MODEL]}" && pwd)"
model="${2:-$root/models/poisson.onnx}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
run=(mpirun --oversubscribe --bind-to core)
[[ "$(id -u)" == 0 ]] && run+=(--allow-run-as-root)
cmake -S "$root/examples/mpi" -B "$work/build" -DCMAKE_PREFIX_PATH="$prefix" >/dev/null
cmake --build "$work/build" -j 2 >/dev/null
cd "$work"
echo "model: $model; $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(nproc) CPUs"
for rep in 1 2; do
  for np in 1 2; do
    "${run[@]}" -np "$np" build/ensemble "$model" 64 | head -1
    "${run[@]}" -np "$np" build/sweep "$model" 64 4 sweep.npy
  done
done
# Peak resident memory of one rank (model loaded from memory, one session, one intra-op thread).
/usr/bin/time -f "peak RSS of one rank (ensemble, 64 samples): %M KiB" build/ensemble "$model" 64 >/dev/null
