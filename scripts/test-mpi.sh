#!/usr/bin/env bash
# The MPI examples (examples/mpi, C++ and Fortran) under mpirun, against an installed libdgmf:
#   - ensemble: an odd sample count (13) split unevenly over 1, 2 and 3 ranks, merged by an MPI_Op; each run
#     checks itself against one serial call (exit 1 beyond the 1e-6 relative bound of docs/distributed.md),
#     and the C++ and Fortran programs must agree bit for bit;
#   - sweep: 7 queries x 3 samples, the same .npy, bit for bit, on 1, 2 and 3 ranks and from both languages;
#   - the rank -> GPU mapping (what each rank would use on a node with 2 GPUs), on the CPU.
# Usage: scripts/test-mpi.sh PREFIX   (scripts/test-bindings.sh passes the prefix it installed into)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
prefix="$(cd "${1:?usage: scripts/test-mpi.sh PREFIX}" && pwd)"
if ! command -v mpirun >/dev/null || ! command -v mpicxx >/dev/null || ! command -v mpif90 >/dev/null; then
  echo "installing Open MPI (libopenmpi-dev, openmpi-bin)"
  apt-get update -qq && apt-get install -y -qq libopenmpi-dev openmpi-bin >/dev/null
fi
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
run=(mpirun --oversubscribe)
[[ "$(id -u)" == 0 ]] && run+=(--allow-run-as-root)  # CI runs as root; Open MPI refuses it unless told
model="$root/models/poisson.onnx"

cmake -S examples/mpi -B "$work/build" -DCMAKE_PREFIX_PATH="$prefix" >/dev/null
cmake --build "$work/build" -j 2 >/dev/null

# ensemble NAME MODEL NP: the ensemble example in C++ and Fortran on NP ranks (each checks itself against the
# serial run), which must agree with each other.
ensemble() {
  for exe in ensemble ensemble_f; do
    mkdir -p "$work/$1-$exe-$3"
    (cd "$work/$1-$exe-$3" && "${run[@]}" -np "$3" "$work/build/$exe" "$2" 13)
  done
  cmp "$work/$1-ensemble-$3/ensemble_mean.npy" "$work/$1-ensemble_f-$3/ensemble_mean.npy"
  cmp "$work/$1-ensemble-$3/ensemble_std.npy" "$work/$1-ensemble_f-$3/ensemble_std.npy"
}
for np in 1 2 3; do
  ensemble poisson "$model" "$np"
  for exe in sweep sweep_f; do
    "${run[@]}" -np "$np" "$work/build/$exe" "$model" 7 3 "$work/$exe-$np.npy"
  done
done
for np in 2 3; do
  cmp "$work/sweep-1.npy" "$work/sweep-$np.npy"
  cmp "$work/sweep_f-1.npy" "$work/sweep_f-$np.npy"
done
cmp "$work/sweep-1.npy" "$work/sweep_f-1.npy"
echo "sweeps identical on 1, 2 and 3 ranks, C++ and Fortran"

# A deep ensemble (3 members, tests/models/analytic_ensemble.onnx): every split draws each sample with the
# member the serial run does (sample j: member j mod 3), so the merged result is the serial one.
for np in 1 2 3; do
  ensemble members "$root/tests/models/analytic_ensemble.onnx" "$np"
done
echo "a deep ensemble split over 1, 2 and 3 ranks gives the serial result, C++ and Fortran"

"${run[@]}" -np 3 "$work/build/ensemble" "$model" 1 --gpus-per-node 2 --print-devices >"$work/devices.txt"
# Sorted: the ranks print concurrently, so their lines reach the file in any order.
printf 'rank 0 (local 0): cuda:0\nrank 1 (local 1): cuda:1\nrank 2 (local 2): cuda:0\n' | diff - <(sort "$work/devices.txt")
echo "rank -> GPU mapping as documented"
