#!/usr/bin/env bash
# Everything the build and tests need on a fresh Debian machine with Rust and Python 3:
# Python test packages (pinned) and the ONNX Runtime shared library (from the PyPI wheel).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
py="${PYTHON:-python3}"
if ! "$py" -m pip --version >/dev/null 2>&1; then
  apt-get update -qq && apt-get install -y -qq python3-pip >/dev/null
fi
"$py" -m pip install --quiet --disable-pip-version-check -r "$root/training/requirements-data.txt" -r "$root/tests/requirements.txt"
"$root/scripts/fetch-ort.sh" >/dev/null
