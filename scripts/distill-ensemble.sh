#!/usr/bin/env bash
# The few-step students of a deep ensemble (docs/uncertainty.md, docs/distill.md): each extra member of
# scripts/train-ensemble.sh distilled into a two-step student as the shipped student was (same sampler,
# same teacher sampler, as many optimizer steps), composed with the shipped student into
# models/<name>_fast_ens.onnx, calibrated with the shipped student's sampler, and the figures CI checks
# written to models/<name>/accuracy_fast_ens.json.
#
#   scripts/distill-ensemble.sh NAME [SEED ...]      (default seeds 1 2; run train-ensemble.sh first)
#
# Resumable: rerun the same command. A finished student (WORK/NAME_fast_mK.pt) is kept, an interrupted
# one resumes from its newest 5-minute snapshot. Students distil side by side, one thread each
# (DGMF_PARALLEL=1: one after the other). DGMF_MINUTES bounds each (default 120; the step count is what
# ends it on a machine like this project's), DGMF_ENSEMBLE_WORK is train-ensemble.sh's directory.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
py="${PYTHON:-python3}"
# shellcheck source=lib/ensemble.sh
source "$root/scripts/lib/ensemble.sh"
name="${1:-}"
# The shipped students' optimizer steps (docs/distill.md, "The shipped students").
declare -A steps_of=([poisson]=8675 [heat]=8232 [burgers]=8193 [topopt]=3112 [flow]=10375)
if [[ -z "$name" || -z "${steps_of[$name]:-}" ]]; then
  echo "usage: scripts/distill-ensemble.sh poisson|heat|burgers|topopt|flow [SEED ...]" >&2
  exit 2
fi
shift
read_seeds "$@"
work="${DGMF_ENSEMBLE_WORK:-$root/runs/ensembles}"
for s in "${seeds[@]}"; do
  if [[ ! -f "$work/${name}_m$s.onnx" ]]; then
    echo "$work/${name}_m$s.onnx is missing: run scripts/train-ensemble.sh $name ${seeds[*]} first" >&2
    exit 2
  fi
done
cd "$root"
cargo build --release --quiet --bin dgmf
cli="$root/target/release/dgmf"

# What the shipped student was distilled with: its teacher's sampler (name and steps) and its own
# second noise level, both from the shipped files' recommended samplers.
spec() { "$cli" info --json "$1" | "$py" -c 'import json, sys; print(json.load(sys.stdin)["sampler"])'; }
read -r t_name t_steps _ <<< "$(spec "models/$name.onnx")"
sigma_last="$(spec "models/${name}_fast.onnx" | tr ' ' '\n' | sed -n 's/^sigma_last=//p')"
if [[ "$t_steps" != steps=* || -z "$sigma_last" ]]; then
  echo "models/$name.onnx or models/${name}_fast.onnx lacks its recommended sampler (dgmf info)" >&2
  exit 2
fi

distill_member() {
  local k="$1" out="$work/${name}_fast_m$1.pt" resume=() last
  if [[ -f "$out" ]]; then
    echo "== $name student of seed $k: distilled ($out)"
    return
  fi
  last="$(latest_snapshot "$out")"
  [[ -n "$last" ]] && resume=(--resume "$last")
  echo "== $name student of seed $k: ${steps_of[$name]} steps on one thread${last:+, resuming $last}"
  dgmf-train distill "$work/${name}_m$k.onnx" --teacher-sampler "$t_name $t_steps" --steps 2 \
    --sigma-last "$sigma_last" --max-steps "${steps_of[$name]}" --minutes "${DGMF_MINUTES:-120}" \
    --threads 1 --seed "$k" --snapshot-minutes 5 --out "$out" "${resume[@]}" \
    > "$work/distill_${name}_m$k.log" 2>&1
}

for_each_seed distill_member
export_members "${name}_fast"
compose_ensemble "$name" fast_ens "models/${name}_fast.onnx" "${members[@]}"
