# Sourced by scripts/train-ensemble.sh and scripts/distill-ensemble.sh: what both do with their members.
# Only defines functions; they need $root, $py, $cli, $work and the array seeds set by the caller.

# The seeds given on the command line (default 1 2) into the array `seeds`, each a positive integer.
read_seeds() {
  local s
  seeds=("$@")
  [[ ${#seeds[@]} -gt 0 ]] || seeds=(1 2)
  for s in "${seeds[@]}"; do
    if [[ ! "$s" =~ ^[1-9][0-9]*$ ]]; then
      echo "seed '$s' is not a positive integer (seed 0 is the shipped network's)" >&2
      exit 2
    fi
  done
}

# The newest snapshot (OUT_<minutes>min.pt) of an interrupted run writing OUT, or nothing.
latest_snapshot() {
  "$py" -c 'import sys; from dgmf_train.train import snapshots; s = snapshots(sys.argv[1]); print(s[-1] if s else "")' "$1"
}

# FUNC SEED for every seed: side by side (one thread each), or one after the other with DGMF_PARALLEL=1.
for_each_seed() {
  local pids=() k p
  for k in "${seeds[@]}"; do
    if [[ "${DGMF_PARALLEL:-2}" == 1 ]]; then
      "$1" "$k"
    else
      "$1" "$k" &
      pids+=($!)
    fi
  done
  for p in "${pids[@]}"; do wait "$p"; done
}

# Exports WORK/STEM_mK.pt to WORK/STEM_mK.onnx for every seed and lists the .onnx files in `members`.
export_members() {
  local k
  members=()
  for k in "${seeds[@]}"; do
    dgmf-train export "$work/${1}_m$k.pt" "$work/${1}_m$k.onnx"
    members+=("$work/${1}_m$k.onnx")
  done
}

# The one way a shipped deep ensemble is put together once its members exist:
#
#   compose_ensemble NAME TAG SHIPPED MEMBER.onnx ...
#
# writes models/NAME_TAG.onnx (SHIPPED first, then the members; weights stored as float16, float32
# arithmetic), calibrates it on models/NAME/calib with SHIPPED's recommended sampler (every setting: a
# student's sigma_last too; `dgmf calibrate`'s default sample count is 16 rounded up to a multiple of the
# member count, so every member draws alike), and writes the figures CI checks to
# models/NAME/accuracy_TAG.json.
compose_ensemble() {
  local name="$1" tag="$2" shipped="$3"
  shift 3
  local ens="models/${name}_${tag}.onnx" flags
  dgmf-train ensemble "$shipped" "$@" --out "$ens" --name "${name}_${tag}" --fp16-weights
  # `consistency steps=2 schedule=geometric denoise=1 sigma_last=0.1` -> the same flags for calibrate.
  mapfile -t flags < <("$cli" info --json "$shipped" | "$py" -c '
import json, sys
name, *settings = json.load(sys.stdin)["sampler"].split()
print("--sampler"); print(name)
for kv in settings:
    key, value = kv.split("=", 1)
    if key == "denoise":
        if value == "0":
            print("--no-denoise")
    else:
        print("--" + key.replace("_", "-")); print(value)
')
  "$cli" calibrate "$ens" --data "models/$name/calib" "${flags[@]}" --out "$ens"
  (cd "$root/training" && "$py" -m dgmf_reports.students "$name" "../$ens" \
    --ci-json "../models/$name/accuracy_${tag}.json")
  echo "wrote $ens and models/$name/accuracy_${tag}.json; add a check_ensemble test in crates/dgmf/tests/accuracy.rs"
}
