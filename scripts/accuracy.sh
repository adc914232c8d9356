#!/usr/bin/env bash
# docs/accuracy.md and docs/figures/*_cases.png from the shipped models and test sets (no torch):
# fetches ONNX Runtime, builds the CLI, installs the evaluation packages, runs the report.
# Extra arguments go to `python3 -m dgmf_reports.accuracy` (e.g. --bench poisson --pc-cases 8).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
py="${PYTHON:-python3}"
cd "$root"
scripts/fetch-ort.sh >/dev/null
cargo build --release --quiet --bin dgmf
"$py" -m pip install --quiet --disable-pip-version-check -r training/requirements-eval.txt
cd training
exec "$py" -m dgmf_reports.accuracy "$@"
