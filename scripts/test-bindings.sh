#!/usr/bin/env bash
# The C ABI from the outside: install libdgmf into a temporary prefix, check the committed header and the
# version macros, build the C/C++/Fortran test programs and the examples against the installed package
# through CMake (find_package) and through pkg-config, and run them.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

missing=()
for tool in gcc g++ gfortran cmake pkg-config make; do command -v "$tool" >/dev/null || missing+=("$tool"); done
if ((${#missing[@]})); then
  echo "installing compilers and build tools: ${missing[*]}"
  apt-get update -qq && apt-get install -y -qq gcc g++ gfortran cmake pkg-config make >/dev/null
fi

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
prefix="$work/prefix"
models="$root/tests/models"

echo "== header is current and the version macros match Cargo.toml"
scripts/gen-header.sh --check
version="$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n1)"
IFS=. read -r major minor patch <<<"$version"
for pair in "MAJOR $major" "MINOR $minor" "PATCH $patch"; do
  set -- $pair
  grep -q "^#define DGMF_VERSION_$1 $2$" include/dgmf.h || { echo "DGMF_VERSION_$1 is not $2 in include/dgmf.h" >&2; exit 1; }
done

echo "== the Fortran module's constants match the header"
"${PYTHON:-python3}" scripts/check-fortran-constants.py

echo "== make install PREFIX=$prefix"
make --no-print-directory install PREFIX="$prefix" >/dev/null

echo "== C, C++ and Fortran tests through CMake (ctest)"
cmake -S tests/bindings -B "$work/tests" -DCMAKE_PREFIX_PATH="$prefix" -DDGMF_MODELS="$models" >/dev/null
cmake --build "$work/tests" -j 2 >/dev/null
ctest --test-dir "$work/tests" --output-on-failure

echo "== the same C test and the Fortran example through pkg-config"
export PKG_CONFIG_PATH="$prefix/lib/pkgconfig"
# shellcheck disable=SC2046
cc -std=c11 -O1 tests/c/test_capi.c $(pkg-config --cflags --libs dgmf) -lpthread -lm -o "$work/test_capi_pc"
"$work/test_capi_pc" "$models"
# shellcheck disable=SC2046
gfortran examples/fortran/sweep.f90 $(pkg-config --cflags --libs dgmf-fortran) -o "$work/sweep_pc"
(cd "$work" && ./sweep_pc "$models/analytic_score.onnx" sweep.txt && test "$(grep -vc '^#' sweep.txt)" = 9)

echo "== examples through CMake"
for ex in c cpp fortran; do
  cmake -S "examples/$ex" -B "$work/ex-$ex" -DCMAKE_PREFIX_PATH="$prefix" >/dev/null
  cmake --build "$work/ex-$ex" >/dev/null
done
"$work/ex-c/predict" "$models/analytic_score.onnx" 0.3,-0.6
"$work/ex-cpp/poisson_cg" "$models/poisson_linear.onnx" 0.2 0.7 0.4 0.9 0.6 0
"$work/ex-cpp/poisson_cg" "$models/poisson_linear.onnx" 0.2 0.7 0.4 0.9 0.6 2
(cd "$work" && ./ex-fortran/sweep "$models/poisson_linear.onnx" sweep.txt && cat sweep.txt)
