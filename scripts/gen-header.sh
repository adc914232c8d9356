#!/usr/bin/env bash
# Regenerates include/dgmf.h with the pinned cbindgen (installed from crates.io if missing).
# `scripts/gen-header.sh --check` fails if the committed header differs from what the code generates.
set -euo pipefail
CBINDGEN_VERSION=0.29.4
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
if ! cbindgen --version 2>/dev/null | grep -q "$CBINDGEN_VERSION"; then
  cargo install --quiet --locked cbindgen --version "=$CBINDGEN_VERSION"
fi
if [[ "${1:-}" == "--check" ]]; then
  tmp="$(mktemp)"
  trap 'rm -f "$tmp"' EXIT
  cbindgen --quiet --config cbindgen.toml --crate dgmf --output "$tmp"
  if ! diff -u include/dgmf.h "$tmp"; then
    echo "include/dgmf.h is out of date: run scripts/gen-header.sh and commit it" >&2
    exit 1
  fi
else
  cbindgen --quiet --config cbindgen.toml --crate dgmf --output include/dgmf.h
fi
