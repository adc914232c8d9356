#!/usr/bin/env bash
# How the shipped deep ensembles were made (docs/uncertainty.md), for any built-in model: more members
# trained like the shipped network (same data, same minutes, one thread each, other seeds), composed with
# the shipped network into models/<name>_ens.onnx (weights stored as float16, float32 arithmetic:
# docs/model-contract.md, "Deep ensembles"), calibrated with the shipped network's sampler, and the
# figures CI checks written to models/<name>/accuracy_ens.json.
#
#   scripts/train-ensemble.sh NAME [SEED ...]        (default seeds 1 2: a 3-network ensemble)
#
# Resumable: rerun the same command after an interruption. Finished members (WORK/NAME_mK.pt) are kept,
# an interrupted one resumes from its newest 10-minute snapshot, the data is generated once. The members
# train side by side, one thread each (set DGMF_PARALLEL=1 to train them one after the other).
# DGMF_MINUTES overrides the budget per member (default: the shipped network's, training/README.md);
# DGMF_STEPS caps its steps (e.g. the shipped network's step count, with DGMF_MINUTES as a generous
# bound, so that a member trains as far as the shipped one whatever the machine's speed);
# DGMF_ENSEMBLE_WORK the working directory (default runs/ensembles, ignored by git).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
py="${PYTHON:-python3}"
# shellcheck source=lib/ensemble.sh
source "$root/scripts/lib/ensemble.sh"
name="${1:-}"
declare -A minutes_of=([poisson]=70 [burgers]=70 [heat]=75 [topopt]=140 [flow]=90)
if [[ -z "$name" || -z "${minutes_of[$name]:-}" ]]; then
  echo "usage: scripts/train-ensemble.sh poisson|heat|burgers|topopt|flow [SEED ...]" >&2
  exit 2
fi
shift
read_seeds "$@"
minutes="${DGMF_MINUTES:-${minutes_of[$name]}}"
work="${DGMF_ENSEMBLE_WORK:-$root/runs/ensembles}"
mkdir -p "$work"
cd "$root"
cargo build --release --quiet --bin dgmf
cli="$root/target/release/dgmf"

if [[ ! -f "$work/data/${name}_train.json" ]]; then
  echo "== $name: training data (the shipped network's: dgmf-train generate)"
  dgmf-train generate --out "$work/data" --only "$name" --splits train
fi

train_member() {
  local k="$1" out="$work/${name}_m$1.pt" resume=()
  if [[ -f "$out" ]]; then
    echo "== $name seed $k: trained ($out)"
    return
  fi
  local last
  last="$(latest_snapshot "$out")"
  [[ -n "$last" ]] && resume=(--resume "$last")
  echo "== $name seed $k: $minutes min on one thread${last:+, resuming $last}"
  local steps=()
  if [[ -n "${DGMF_STEPS:-}" ]]; then steps=(--steps "$DGMF_STEPS"); fi
  dgmf-train fit "$name" --data-dir "$work/data" --minutes "$minutes" --threads 1 --seed "$k" \
    --snapshot-minutes 10 --out "$out" "${resume[@]}" "${steps[@]}" > "$work/fit_${name}_m$k.log" 2>&1
}

for_each_seed train_member
export_members "${name}"
compose_ensemble "$name" ens "models/$name.onnx" "${members[@]}"
