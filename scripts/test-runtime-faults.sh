#!/usr/bin/env bash
# Runtime faults seen from a user's process: each must give its documented error (exit status 1 and the
# message), never a panic, an abort or a crash. Uses the release `dgmf` binary.
set -uo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
cargo build --release --quiet --bin dgmf || exit 1
dgmf="$root/target/release/dgmf"
model="$root/tests/models/analytic_score.onnx"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
passed=0 failed=0

# expect NAME WANT-TEXT ENV... -- ARGS...: dgmf must exit 1 with WANT-TEXT on stderr and no panic.
expect() {
  local name="$1" want="$2"
  shift 2
  local envs=()
  while [[ "$1" != "--" ]]; do envs+=("$1"); shift; done
  shift
  local err status
  err="$(env -u DGMF_ORT_LIB -u ORT_DYLIB_PATH "${envs[@]}" "$dgmf" "$@" 2>&1 >/dev/null)"
  status=$?
  if [[ $status -eq 1 && "$err" == *"$want"* && "$err" != *panicked* ]]; then
    passed=$((passed + 1))
    echo "ok   $name"
  else
    failed=$((failed + 1))
    echo "FAIL $name: exit $status, stderr: $err"
  fi
}

# 1. No runtime at the requested path.
expect missing-library "ONNX Runtime could not be loaded" DGMF_ORT_LIB=/nonexistent/libonnxruntime.so.1 -- info "$model"
# 2. A corrupt library: the real one cut in half.
head -c 1000000 third_party/onnxruntime/libonnxruntime.so.1.31.1 >"$work/libonnxruntime.so.1"
expect corrupt-library "is not a usable shared library (a loadable segment runs past the end of the file: truncated?)" DGMF_ORT_LIB="$work/libonnxruntime.so.1" -- info "$model"
# 3. A file that is not a library at all.
expect not-a-library "is not a usable shared library (no ELF header)" -- info "$model" --ort-lib "$model"
# 4. A runtime older than the C API libdgmf is compiled against (1.17). The PyPI wheels of such old
#    releases ship no libonnxruntime.so, so a stand-in library reports the version.
cc -shared -fPIC -DVERSION='"1.16.3"' tests/faults/fake_ort.c -o "$work/libonnxruntime.so.1.16.3"
expect old-runtime "is ONNX Runtime 1.16.3, but libdgmf needs 1.17 or newer" -- info "$model" --ort-lib "$work/libonnxruntime.so.1.16.3"
cc -shared -fPIC -DVERSION='"2.0.0"' tests/faults/fake_ort.c -o "$work/libonnxruntime.so.2"
expect other-major "is ONNX Runtime 2.0.0, but libdgmf needs 1.17 or newer" -- info "$model" --ort-lib "$work/libonnxruntime.so.2"
# 5. A library that claims a good version but provides no API table.
cc -shared -fPIC -DVERSION='"1.31.1"' tests/faults/fake_ort.c -o "$work/libonnxruntime.so.1.31.1"
expect no-api "reports version 1.31.1 but does not provide C API version" -- info "$model" --ort-lib "$work/libonnxruntime.so.1.31.1"
# 6. An execution provider this build or machine does not have.
expect no-cuda "execution provider \`cuda\`" -- info "$model" --provider cuda
expect no-tensorrt "execution provider \`tensorrt\`" -- info "$model" --provider tensorrt:0
# 7. Switching runtimes inside one process is refused (exercised by tests/c/test_capi.c); here: the env
#    path wins over the search and a bad one is not silently replaced by the project copy.
expect no-silent-fallback "(\$ORT_DYLIB_PATH): not found" ORT_DYLIB_PATH=/nope/libonnxruntime.so -- info "$model"
# 8. Paths that are not files: read without a size or type check, /dev/zero never ended and a FIFO hung.
mkfifo "$work/fifo.so"
ln -s /dev/zero "$work/zero.so"
expect runtime-dev-zero "it is a character device; only regular files are read" DGMF_ORT_LIB=/dev/zero -- info "$model"
expect runtime-symlink-zero "it is a character device" -- info "$model" --ort-lib "$work/zero.so"
expect runtime-fifo "it is a FIFO (named pipe)" -- info "$model" --ort-lib "$work/fifo.so"
expect runtime-directory "it is a directory" -- info "$model" --ort-lib "$work"
# 9. Every message is one line (multi-line text breaks log parsers and hides what follows).
lines="$(env -u DGMF_ORT_LIB -u ORT_DYLIB_PATH DGMF_ORT_LIB=/nonexistent/x.so "$dgmf" info "$model" 2>&1 >/dev/null | wc -l)"
if [[ "$lines" == 1 ]]; then passed=$((passed + 1)); echo "ok   one-line-error"; else failed=$((failed + 1)); echo "FAIL one-line-error: $lines lines"; fi

echo "runtime faults: $passed passed, $failed failed"
((failed == 0))
