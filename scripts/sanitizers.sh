#!/usr/bin/env bash
# AddressSanitizer + UndefinedBehaviorSanitizer over the C API, in CI (scripts/test.sh) and by hand.
# The library is built with rustc's -Zsanitizer=address — on the stable toolchain, unlocked with
# RUSTC_BOOTSTRAP=1 (CI machines have one toolchain and cannot fetch a nightly); the standard library itself
# is not instrumented, hence -Cunsafe-allow-abi-mismatch — and the C tests with gcc's
# -fsanitize=address,undefined, whose runtime the library's checks report to. Runs every misuse and hostile input of tests/c/test_capi.c,
# the mergeable-moments API with hostile packed buffers (tests/c/test_moments.c), every value a prediction
# writes (tests/c/test_outputs.c) and CYCLES (default 100) load/predict/free cycles (tests/c/leak_cycles.c,
# with LeakSanitizer). Passes when every test passes and no sanitizer reports anything (halt_on_error).
# valgrind (scripts/valgrind.sh) covers the same programs on the release build.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
cycles="${1:-100}"
command -v gcc >/dev/null || { apt-get update -qq && apt-get install -y -qq gcc >/dev/null; }
scripts/fetch-ort.sh >/dev/null
target="$root/target/asan"
RUSTC_BOOTSTRAP=1 RUSTFLAGS="-Zsanitizer=address -Cunsafe-allow-abi-mismatch=sanitizer" \
  CARGO_TARGET_DIR="$target" cargo build --quiet -p dgmf-capi --target x86_64-unknown-linux-gnu
lib="$target/x86_64-unknown-linux-gnu/debug/libdgmf_capi.so"
# The instrumented library reports to the executable's sanitizer runtime: check it is instrumented.
grep -q ' U __asan_report' <(nm -D "$lib") || { echo "sanitizers: $lib is not instrumented" >&2; exit 1; }
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
ln -s "$lib" "$work/libdgmf.so.0"
ln -s libdgmf.so.0 "$work/libdgmf.so"
export ASAN_OPTIONS=halt_on_error=1:detect_leaks=1:abort_on_error=0:exitcode=3
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1:exitcode=3
export LSAN_OPTIONS="suppressions=$root/scripts/lsan.supp:print_suppressions=0"
status=0
for t in test_capi test_moments test_outputs leak_cycles; do
  gcc -O1 -g -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer \
    -Iinclude "tests/c/$t.c" -L"$work" -ldgmf -lpthread -lm -Wl,-rpath,"$work" -o "$work/$t"
  args=(tests/models)
  [[ $t == leak_cycles ]] && args+=("$cycles")
  echo "-- $t (ASan + UBSan)"
  if ! "$work/$t" "${args[@]}" >"$work/$t.log" 2>&1; then
    echo "sanitizers: $t failed:" >&2
    grep -m 60 -E -A 20 "ERROR: |runtime error|FAIL" "$work/$t.log" >&2 || tail -40 "$work/$t.log" >&2
    status=1
  else
    tail -1 "$work/$t.log" | sed 's/^/   /'
  fi
done
exit "$status"
