#!/usr/bin/env bash
# Every reliability check in one command (docs/reliability.md): misuse of the C/C++/Fortran APIs, threads,
# runtime faults and hostile model files (these also run in CI), then valgrind over CYCLES load/predict/free
# cycles and each fuzz target for SECONDS (these do not, they take minutes).
#   scripts/reliability.sh [CYCLES=1000] [SECONDS=60]
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
scripts/setup.sh
echo "== threads and hostile model files"
cargo test --release -p dgmf --test threads --test samplers --test misuse
echo "== misuse through the C, C++ and Fortran APIs"
scripts/test-bindings.sh
echo "== runtime faults"
scripts/test-runtime-faults.sh
echo "== valgrind"
scripts/valgrind.sh "${1:-1000}"
echo "== fuzzing"
scripts/fuzz.sh "${2:-60}"
