#!/usr/bin/env bash
# The C ABI from the outside: install libdgmf into a temporary prefix, check the committed header and the
# version macros, build the C/C++/Fortran test programs and the examples against the installed package
# through CMake (find_package) and through pkg-config, and run them: the topology-optimization example
# on one load case (Eigen from apt) and the MPI examples under mpirun (scripts/test-mpi.sh, Open MPI
# from apt).
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

echo "== the Fortran module (include/dgmf.f90) is what bindings/fortran and the header generate"
"${PYTHON:-python3}" scripts/gen-fortran.py --check

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

echo "== examples/topopt: C++ SIMP (Eigen) warm-started by the shipped L-bracket model, one load case"
if [[ ! -f /usr/include/eigen3/Eigen/Sparse ]]; then
  echo "installing Eigen (libeigen3-dev)"
  apt-get update -qq && apt-get install -y -qq libeigen3-dev >/dev/null
fi
cmake -S examples/topopt -B "$work/ex-topopt" -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$work/ex-topopt" -j 2 >/dev/null
"$work/ex-topopt/topopt" --model "$root/models/topopt.onnx" --position 0.3 --angle 0.6 --mesh 64 --samples 4 \
  --fallback-std 0.05 --json "$work/topopt.json" --save "$work/topopt"
# The JSON's invariants (warm <= cold iterations is reported, not asserted: docs/topopt.md measures it).
"${PYTHON:-python3}" - "$work/topopt.json" "$work/topopt" <<'PY'
import json, math, sys
from pathlib import Path
r = json.load(open(sys.argv[1]))
for name in ("cold", "warm", "surrogate"):
    d = r[name]
    assert abs(d["volume_fraction"] - 0.4) <= 0.004, f"{name}: volume fraction {d['volume_fraction']}"
    assert math.isfinite(d["compliance"]) and d["compliance"] > 0, f"{name}: compliance {d['compliance']}"
    assert d["seconds"] > 0 and d["iterations"] >= 0, d
    assert Path(sys.argv[2], name + ".npy").stat().st_size == 128 + 64 * 64 * 8, name
    assert Path(sys.argv[2], name + ".png").exists(), name
assert Path(sys.argv[2], "std.npy").exists()
# The fallback policy: the surrogate's design when its std RMS is within the threshold, else cold SIMP.
p, trust = r["policy"], r["std_rms"] <= r["policy"]["fallback_std"]
assert r["std_rms"] > 0 and p["design"] == ("surrogate" if trust else "cold"), (r["std_rms"], p)
assert p["compliance"] == r[p["design"]]["compliance"], p
print(f"topopt JSON ok: iterations cold {r['cold']['iterations']}, warm {r['warm']['iterations']}; "
      f"compliance cold {r['cold']['compliance']:.4f}, warm {r['warm']['compliance']:.4f}, "
      f"surrogate {r['surrogate']['compliance']:.4f}")
PY

echo "== examples/flow: a time series from the shipped flow model against the flow solver, one case"
cmake -S examples/flow -B "$work/ex-flow" -DCMAKE_PREFIX_PATH="$prefix" >/dev/null
cmake --build "$work/ex-flow" -j 2 >/dev/null
# The case on the finest training mesh (the solver the surrogate races) and on the 128^2 reference mesh.
(cd training && "${PYTHON:-python3}" -m dgmf_data.flow --write-case "$work/flowcase" --meshes 64 128 \
  --params 180 0.8 -0.6 0.4 -0.9)
"$work/ex-flow/flow" --model "$root/models/flow.onnx" --case "$work/flowcase" --out "$work/flow-series" \
  --fallback-std 0.02 --json "$work/flow.json"
# The JSON's solver row recomputed in Python (the example's vorticity is dgmf_data.flow.vorticity), the
# series files parsed back. Speed is reported, not asserted: docs/flow.md measures it.
(cd training && "${PYTHON:-python3}" - "$work/flow.json" "$work/flowcase" "$work/flow-series" <<'PY'
import json, sys
import xml.etree.ElementTree as ET
from pathlib import Path
import numpy as np
from dgmf_data import flow
r, case, series = json.load(open(sys.argv[1])), Path(sys.argv[2]), Path(sys.argv[3])
shape = (flow.N_TIMES, 2, flow.OUT_N, flow.OUT_N)
ref, top = (np.fromfile(case / f"mesh{n}.bin", "<f4").reshape(shape).astype(float) for n in (128, 64))
rel = lambda a, b: np.linalg.norm(a - b) / np.linalg.norm(b)
s = r["solvers"][0]
assert r["reference_mesh"] == 128 and s["mesh"] == 64, r
w = flow.field_vorticity
assert abs(s["rel_l2"] - rel(top, ref)) < 1e-4 and abs(s["vorticity_rel_l2"] - rel(w(top), w(ref))) < 1e-4, s
assert r["dgmf"]["rel_l2"] < 0.3 and 0.5 < r["dgmf"]["coverage_2sigma"] <= 1, r
# The fallback policy: the DGMF series when its std RMS is within the threshold, else the 64^2 solver's.
p, trust = r["policy"], r["std_rms"] <= r["policy"]["fallback_std"]
assert r["std_rms"] > 0 and p["answer"] == ("dgmf" if trust else "solver"), (r["std_rms"], p)
assert abs(p["rel_l2"] - (r["dgmf"]["rel_l2"] if trust else s["rel_l2"])) < 1e-9, p
steps = ET.parse(series / "flow.pvd").getroot().findall("./Collection/DataSet")
np.testing.assert_allclose([float(d.get("timestep")) for d in steps], flow.TIMES, atol=1e-5)
last = ET.parse(series / steps[-1].get("file")).getroot()
arrays = {a.get("Name"): np.array(a.text.split(), float) for a in last.iter("DataArray")}
np.testing.assert_allclose(arrays["reference_vorticity"], w(ref)[-1].ravel(), rtol=1e-4, atol=1e-3)
assert arrays["velocity"].size == 3 * flow.OUT_N ** 2 and np.isfinite(arrays["velocity"]).all()
print(f"flow example ok: DGMF rel. L2 {r['dgmf']['rel_l2']:.4f} (64^2 solver {s['rel_l2']:.4f}), "
      f"series {r['predict_s']:.3f} s vs 64^2 solver {s['seconds']:.2f} s ({s['speedup']:.1f}x)")
PY
)

echo "== MPI examples under mpirun (C++ and Fortran)"
scripts/test-mpi.sh "$prefix"
