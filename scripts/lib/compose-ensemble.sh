# Sourced by scripts/train-ensemble.sh and scripts/distill-ensemble.sh: the one way a shipped deep ensemble
# is put together once its members exist.
#
#   compose_ensemble NAME TAG SHIPPED MEMBER.onnx ...
#
# writes models/NAME_TAG.onnx (SHIPPED first, then the members; weights stored as float16, float32
# arithmetic), calibrates it on models/NAME/calib with SHIPPED's recommended sampler (every setting: a
# student's sigma_last too; `dgmf calibrate`'s default sample count is 16 rounded up to a multiple of the
# member count, so every member draws alike), and writes the figures CI checks to
# models/NAME/accuracy_TAG.json. Needs $root, $py and $cli set by the caller.
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
