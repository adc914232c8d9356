#!/usr/bin/env python3
"""Writes the constants of the Fortran module (bindings/fortran/dgmf.f90) from include/dgmf.h, which
cbindgen generates from the C crate and the engine's constants: Fortran cannot include a C header, so the
status codes, fidelity kinds and DGMF_* limits are written here, between the module's BEGIN/END markers,
never by hand. `--check` fails if the committed module differs (scripts/test-bindings.sh, CI)."""
import re
import sys
from pathlib import Path

root = Path(__file__).resolve().parent.parent
header = (root / "include/dgmf.h").read_text()
module_path = root / "bindings/fortran/dgmf.f90"
module = module_path.read_text()
BEGIN = "   ! BEGIN constants: written by scripts/gen-fortran.py from include/dgmf.h; do not edit\n"
END = "   ! END constants\n"


def enum(name):
    body = re.search(r"typedef enum %s \{(.*?)\}" % name, header, re.S)
    if not body:
        sys.exit(f"gen-fortran: enum {name} not found in include/dgmf.h")
    return re.findall(r"^\s*(DGMF_[A-Z_]+) = (\d+),?\s*$", body.group(1), re.M)


def value(text):
    """A macro's value: a decimal, or the `((size_t)A << B)` cbindgen writes for shifts."""
    text = text.strip()
    if re.fullmatch(r"\d+", text):
        return int(text)
    m = re.fullmatch(r"\(\(size_t\)(\d+) << (\d+)\)", text)
    if m:
        return int(m.group(1)) << int(m.group(2))
    sys.exit(f"gen-fortran: cannot read the macro value `{text}`")


lines = [BEGIN]
for name in ("dgmf_status", "dgmf_fidelity_kind"):
    for n, v in enum(name):
        lines.append(f"   integer(c_int), parameter, public :: {n} = {v}\n")
lines.append("   !> The header's limits and defaults, in the kinds the setters below take.\n")
for n, v in re.findall(r"^#define (DGMF_[A-Z_]+) (.+)$", header, re.M):
    if n.startswith("DGMF_VERSION"):
        continue
    v = value(v)
    if v < 2**31:
        lines.append(f"   integer, parameter, public :: {n} = {v}\n")
    else:
        lines.append(f"   integer(c_int64_t), parameter, public :: {n} = {v}_c_int64_t\n")
lines.append(END)
block = "".join(lines)

if BEGIN not in module or END not in module:
    sys.exit(f"gen-fortran: {module_path} lacks the BEGIN/END constants markers")
start = module.index(BEGIN)
stop = module.index(END) + len(END)
new = module[:start] + block + module[stop:]
if "--check" in sys.argv[1:]:
    if new != module:
        sys.exit("bindings/fortran/dgmf.f90's constants differ from include/dgmf.h: run scripts/gen-fortran.py "
                 "and commit the module")
    print("bindings/fortran/dgmf.f90: constants up to date with include/dgmf.h")
else:
    module_path.write_text(new)
