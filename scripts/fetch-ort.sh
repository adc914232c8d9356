#!/usr/bin/env bash
# Fetch ONNX Runtime's shared library from the PyPI wheel onnxruntime==$ORT_VERSION and unpack it into
# third_party/onnxruntime/ (no Python environment is touched: the wheel is only a zip we read the .so from).
# libdgmf finds the library there on its own (see docs/runtime.md); it is also what DGMF_ORT_LIB may point to.
set -euo pipefail
# ORT_VERSION and ORT_DEST override the version and the directory (the fault tests fetch an old release).
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# The tested version is written once, in the engine (TESTED_ORT_VERSION in crates/dgmf/src/runtime/locate.rs).
tested="$(sed -n 's/^pub const TESTED_ORT_VERSION: &str = "\(.*\)";/\1/p' "$root/crates/dgmf/src/runtime/locate.rs")"
[[ -n "$tested" ]] || { echo "fetch-ort: TESTED_ORT_VERSION not found in crates/dgmf/src/runtime/locate.rs" >&2; exit 1; }
ORT_VERSION="${ORT_VERSION:-$tested}"
dest="${ORT_DEST:-$root/third_party/onnxruntime}"
lib="$dest/libonnxruntime.so.$ORT_VERSION"
if [[ -f "$lib" ]]; then
  echo "$lib"
  exit 0
fi
mkdir -p "$dest"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
py="${PYTHON:-python3}"
"$py" -m pip download --quiet --no-deps --only-binary=:all: --dest "$tmp" "onnxruntime==$ORT_VERSION" >&2
whl="$(ls "$tmp"/onnxruntime-*.whl | head -n1)"
"$py" - "$whl" "$dest" <<'PY'
import sys, zipfile, os
whl, dest = sys.argv[1], sys.argv[2]
with zipfile.ZipFile(whl) as z:
    for n in z.namelist():
        base = os.path.basename(n)
        if n.startswith("onnxruntime/capi/") and base.startswith("libonnxruntime") and ".so" in base:
            with z.open(n) as src, open(os.path.join(dest, base), "wb") as out:
                out.write(src.read())
PY
[[ -f "$lib" ]] || { echo "fetch-ort: $lib not found in $whl" >&2; exit 1; }
ln -sf "libonnxruntime.so.$ORT_VERSION" "$dest/libonnxruntime.so.1"
ln -sf "libonnxruntime.so.1" "$dest/libonnxruntime.so"
echo "$lib"
