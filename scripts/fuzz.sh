#!/usr/bin/env bash
# Runs every fuzz target for SECONDS each (default 60) with libFuzzer via cargo-fuzz (on the stable
# toolchain through RUSTC_BOOTSTRAP=1), seeded from the committed corpus and the shipped models.
# Prints executions and findings per target; crashes land in fuzz/artifacts/TARGET/. Exit 1 on any crash.
set -uo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
seconds="${1:-60}"
# TARGETS="npy capi" scripts/fuzz.sh 60 runs a subset.
export RUSTC_BOOTSTRAP=1
command -v cargo-fuzz >/dev/null || cargo install --locked cargo-fuzz --version =0.13.2
scripts/fetch-ort.sh >/dev/null
# The onnx_differential target decodes with types generated from onnx.proto of the pinned Python `onnx`
# package (tests/requirements.txt; scripts/setup.sh installs it): fuzz/build.rs reads its path from here.
if [[ -z "${DGMF_ONNX_PROTO:-}" ]]; then
  onnx_dir="$("${PYTHON:-python3}" -c 'import onnx,os;print(os.path.dirname(onnx.__file__))')" ||
    { echo "fuzz.sh: the Python onnx package is missing (run scripts/setup.sh)" >&2; exit 1; }
  export DGMF_ONNX_PROTO="$onnx_dir/onnx.proto"
fi
[[ -f "$DGMF_ONNX_PROTO" ]] || { echo "fuzz.sh: $DGMF_ONNX_PROTO not found" >&2; exit 1; }
build_log="$(mktemp)"
cargo fuzz build -O >"$build_log" 2>&1 || { tail -n 30 "$build_log" >&2; echo "cargo fuzz build failed (log $build_log)" >&2; exit 1; }

# Seeds: the committed corpus, plus every ONNX file for the byte-level targets: the shipped models and
# fuzz/seeds/onnx (hand-encoded models with a tensor in every place; fuzz/seeds/gen_onnx.py writes them).
for t in onnx_header onnx_differential model_bytes; do
  mkdir -p "fuzz/corpus/$t"
  cp tests/models/*.onnx tests/models/bad/*.onnx fuzz/seeds/onnx/*.onnx "fuzz/corpus/$t/"
done
mkdir -p fuzz/corpus/contract fuzz/corpus/request fuzz/corpus/capi fuzz/corpus/npy
cp fuzz/seeds/contract/* fuzz/corpus/contract/ 2>/dev/null || true
# The npy reader: the shipped test sets (float32/float64/int arrays of several shapes).
for f in models/*/*.npy; do cp "$f" "fuzz/corpus/npy/$(echo "$f" | tr / _)"; done

status=0
printf '%-18s %12s %10s %s\n' target executions exec/s result
for t in ${TARGETS:-onnx_header onnx_differential contract request model_bytes capi npy}; do
  log="$(mktemp)"
  cargo fuzz run -O "$t" "fuzz/corpus/$t" -- -max_total_time="$seconds" -rss_limit_mb=4096 -max_len=65536 \
    >"$log" 2>&1
  rc=$?
  runs="$(grep -oE 'Done [0-9]+ runs' "$log" | grep -oE '[0-9]+' | tail -n1)"
  rate="$(grep -oE 'exec/s: [0-9]+' "$log" | tail -n1 | grep -oE '[0-9]+')"
  if [[ $rc -eq 0 ]]; then result="no findings"; else result="FINDING (see fuzz/artifacts/$t, log $log)"; status=1; fi
  printf '%-18s %12s %10s %s\n' "$t" "${runs:-?}" "${rate:-?}" "$result"
done
exit $status
