#!/usr/bin/env python3
"""The Fortran module copies the header's constants by hand (Fortran cannot include a C header): every
status code, fidelity kind and DGMF_* limit of include/dgmf.h must appear in bindings/fortran/dgmf.f90 with
the same value. Run by scripts/test-bindings.sh."""
import re
import sys
from pathlib import Path

root = Path(__file__).resolve().parent.parent
header = (root / "include/dgmf.h").read_text()
fortran = (root / "bindings/fortran/dgmf.f90").read_text()

want = {}
for name, value in re.findall(r"^\s*(DGMF_[A-Z_]+) = (\d+),?\s*$", header, re.M):  # enum members
    want[name] = int(value)
for name, value in re.findall(r"^#define (DGMF_[A-Z_]+) (.+)$", header, re.M):  # macros
    if name.startswith("DGMF_VERSION") or name == "DGMF_H":
        continue
    value = value.strip()
    if value == "((size_t)4 << 30)":
        want[name] = 4 << 30
    else:
        want[name] = int(value)

# `DGMF_X = 12` or `DGMF_X = 12_c_size_t` anywhere in a parameter statement (continued lines included).
have = {name: int(value) for name, value in re.findall(r"\b(DGMF_[A-Z_]+) = (\d+)(?:_c_\w+)?", fortran)}

errors = [f"{n}: header {v}, Fortran {have.get(n, 'missing')}" for n, v in sorted(want.items()) if have.get(n) != v]
if errors:
    print("bindings/fortran/dgmf.f90 disagrees with include/dgmf.h:\n  " + "\n  ".join(errors), file=sys.stderr)
    sys.exit(1)
print(f"bindings/fortran/dgmf.f90: all {len(want)} constants of include/dgmf.h, same values")
