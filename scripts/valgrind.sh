#!/usr/bin/env bash
# valgrind memcheck over the C API, in CI (scripts/test.sh) and by hand:
#   - CYCLES (default 1000) load/predict/free cycles, failing calls included (tests/c/leak_cycles.c);
#   - the whole C API test (tests/c/test_capi.c: every misuse and hostile input it walks, four threads
#     sharing a model) and the mergeable-ensemble test (tests/c/test_moments.c);
#   - every value a prediction writes (tests/c/test_outputs.c: each analytic model — score, eps, x0, fp16,
#     continuous, coords — × seven samplers × 1-3 samples × mean with and without std × 1 and 3 queries,
#     through predict_batch and through merged moments, loaded from file, from memory and with a provider
#     falling back to the CPU): every value is read, so a value computed from uninitialised memory is an
#     error here.
# Passes when valgrind reports no error after scripts/valgrind.supp (glibc's loader and ONNX Runtime's own
# reports, documented in docs/reliability.md) and nothing is definitely or indirectly lost: each run's
# exit code (--error-exitcode) and its "ERROR SUMMARY: 0 errors" line are both checked.
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
build() { cc -O1 -g -Iinclude "tests/c/$1.c" -L"$work" -ldgmf -lpthread -lm -Wl,-rpath,"$work" -o "$work/$1"; }
for t in leak_cycles test_capi test_moments test_outputs; do build "$t"; done
memcheck() {
  local log="$work/$1.log" rc=0
  valgrind --suppressions=scripts/valgrind.supp --leak-check=full --show-leak-kinds=definite,indirect \
    --errors-for-leak-kinds=definite,indirect --error-exitcode=3 --log-file="$log" "$work/$1" "${@:2}" || rc=$?
  grep -E "definitely lost|indirectly lost|ERROR SUMMARY" "$log" | sed 's/^==[0-9]*== */   /'
  if ((rc != 0)) || ! grep -q "ERROR SUMMARY: 0 errors" "$log"; then
    echo "valgrind: $1 failed (exit $rc); the first reports:" >&2
    grep -m 40 -A 12 -E "^==[0-9]+== [A-Z][a-z]+.*(uninitialised|Invalid|definitely|indirectly|overlap|Mismatched)" \
      "$log" >&2 || true
    return 1
  fi
}
status=0
echo "-- leak_cycles, $cycles cycles"
memcheck leak_cycles tests/models "$cycles" || status=1
for t in test_capi test_moments test_outputs; do
  echo "-- $t"
  memcheck "$t" tests/models || status=1
done
exit "$status"
