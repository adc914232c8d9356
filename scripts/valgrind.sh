#!/usr/bin/env bash
# valgrind memcheck over CYCLES (default 1000) load/predict/free cycles of the C API, failing calls
# included (tests/c/leak_cycles.c), then over the whole C API test (tests/c/test_capi.c: every misuse and
# hostile input it walks, four threads sharing a model) and the mergeable-ensemble test
# (tests/c/test_moments.c). Passes when no error remains after scripts/valgrind.supp (glibc's loader and ONNX Runtime's own
# reports, documented in docs/reliability.md) and nothing is definitely or indirectly lost.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
cycles="${1:-1000}"
command -v valgrind >/dev/null || { apt-get update -qq && apt-get install -y -qq valgrind >/dev/null; }
cargo build --release --quiet -p dgmf-capi
scripts/fetch-ort.sh >/dev/null
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
# The library under the names the linker and the loader look for (make install does the same).
ln -s "$root/target/release/libdgmf_capi.so" "$work/libdgmf.so.0"
ln -s libdgmf.so.0 "$work/libdgmf.so"
cc -O1 -g -Iinclude tests/c/leak_cycles.c -L"$work" -ldgmf -Wl,-rpath,"$work" -o "$work/leak_cycles"
cc -O1 -g -Iinclude tests/c/test_capi.c -L"$work" -ldgmf -lpthread -lm -Wl,-rpath,"$work" \
  -o "$work/test_capi"
cc -O1 -g -Iinclude tests/c/test_moments.c -L"$work" -ldgmf -lm -Wl,-rpath,"$work" -o "$work/test_moments"
memcheck() {
  valgrind --suppressions=scripts/valgrind.supp --leak-check=full --show-leak-kinds=definite,indirect \
    --errors-for-leak-kinds=definite,indirect --error-exitcode=3 "$@" 2>&1 | tee -a "$work/log" |
    grep -E "cycles done|passed, |ERROR SUMMARY|definitely lost|indirectly lost|possibly lost|still reachable"
  return "${PIPESTATUS[0]}"
}
status=0
echo "-- leak_cycles, $cycles cycles"
memcheck "$work/leak_cycles" tests/models "$cycles" || status=$?
echo "-- test_capi"
memcheck "$work/test_capi" tests/models || status=$?
echo "-- test_moments"
memcheck "$work/test_moments" tests/models || status=$?
exit "$status"
