#!/usr/bin/env bash
# Regenerates include/dgmf.h with the pinned cbindgen (installed from crates.io if missing), then the
# Fortran module's constants from it (scripts/gen-fortran.py).
# `scripts/gen-header.sh --check` fails if the committed header differs from what the code generates.
set -euo pipefail
CBINDGEN_VERSION=0.29.4
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
if ! cbindgen --version 2>/dev/null | grep -q "$CBINDGEN_VERSION"; then
  cargo install --quiet --locked cbindgen --version "=$CBINDGEN_VERSION"
fi
# cbindgen's header, with the sampler list of dgmf_config_create's comment written from the engine's
# sampler table (`dgmf samplers`), so that no list of names or defaults is typed by hand.
generate() {
  local out="$1" raw list
  raw="$(mktemp)"
  list="$(cargo run --release --quiet -p dgmf-cli -- samplers)"
  cbindgen --quiet --config cbindgen.toml --crate dgmf-capi --output "$raw" crates/dgmf-capi
  grep -q '<sampler list: written here' "$raw" || { echo "gen-header: the sampler-list marker is gone" >&2; exit 1; }
  while IFS= read -r line; do
    if [[ "$line" == *'<sampler list: written here'* ]]; then
      while IFS= read -r s; do printf '//   %s\n' "$s"; done <<<"$list"
    else
      printf '%s\n' "$line"
    fi
  done <"$raw" >"$out"
  rm -f "$raw"
}
if [[ "${1:-}" == "--check" ]]; then
  tmp="$(mktemp)"
  trap 'rm -f "$tmp"' EXIT
  generate "$tmp"
  if ! diff -u include/dgmf.h "$tmp"; then
    echo "include/dgmf.h is out of date: run scripts/gen-header.sh and commit it" >&2
    exit 1
  fi
  # Which macros the header defines, and their values, is checked against the code by
  # `capi::tests::header_macros_match_the_code` (cargo test).
  # The header compiles cleanly as strict C99 and C++17, and its constants have the values C users expect.
  src="$(mktemp --suffix=.c)"
  trap 'rm -f "$tmp" "$src" "$src.out"' EXIT
  cat >"$src" <<'C'
#include "dgmf.h"
/* C99 has no static_assert: a negative array size fails the compile. */
typedef char dgmf_memory_limit_is_4_gib[DGMF_DEFAULT_MEMORY_LIMIT == (size_t)4 * 1024 * 1024 * 1024 ? 1 : -1];
typedef char dgmf_documented_values[DGMF_MAX_STEPS == 100000 && DGMF_DEFAULT_STEPS == 30 ? 1 : -1];
int main(void) { return (int)(DGMF_DEFAULT_MEMORY_LIMIT >> 32) - 1; }
C
  cc -std=c99 -Wall -Wextra -pedantic -Werror -Iinclude "$src" -o "$src.out"
  "$src.out"
  printf '#include "dgmf.h"\nstatic_assert(DGMF_DEFAULT_MEMORY_LIMIT == (size_t)4 << 30, "size_t");\nint main() { return 0; }\n' |
    c++ -std=c++17 -Wall -Wextra -pedantic -Werror -Iinclude -x c++ - -o "$src.out"
  "$src.out"
  echo "include/dgmf.h: up to date, clean as C99 and C++17 (-Wall -Wextra -pedantic -Werror)"
else
  generate include/dgmf.h
  # The Fortran module follows the header (constants and bind(C) interfaces) and bindings/fortran.
  "${PYTHON:-python3}" scripts/gen-fortran.py
fi
