#!/usr/bin/env bash
# valgrind memcheck over CYCLES (default 1000) load/predict/free cycles of the C API, failing calls
# included. Passes when no error remains after scripts/valgrind.supp (glibc's loader and ONNX Runtime's own
# reports, documented in docs/reliability.md) and nothing is definitely or indirectly lost.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
cycles="${1:-1000}"
command -v valgrind >/dev/null || { apt-get update -qq && apt-get install -y -qq valgrind >/dev/null; }
cargo build --release --quiet --lib
scripts/fetch-ort.sh >/dev/null
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
ln -s "$root/target/release/libdgmf.so" "$work/libdgmf.so.0"
cc -O1 -g -Iinclude tests/c/leak_cycles.c -L"$root/target/release" -ldgmf -Wl,-rpath,"$work" -o "$work/leak_cycles"
valgrind --suppressions=scripts/valgrind.supp --leak-check=full --show-leak-kinds=definite,indirect \
  --errors-for-leak-kinds=definite,indirect --error-exitcode=3 \
  "$work/leak_cycles" tests/models/analytic_score.onnx "$cycles" 2>&1 | tee "$work/log" | grep -E "cycles done|ERROR SUMMARY|definitely lost|indirectly lost|possibly lost|still reachable"
status=${PIPESTATUS[0]}
exit "$status"
