#!/usr/bin/env python3
"""Writes the Fortran module include/dgmf.f90 from three sources, so that each fact has one place:
  include/dgmf.h (cbindgen's header): the constants and every C prototype, hence the bind(C) interfaces;
  bindings/fortran/dgmf.toml: one row per Fortran procedure (its dummies, their kinds and docs);
  bindings/fortran/dgmf.f90.in: the frame (module comment, helpers, hand-written library functions).
A table row names each dummy's kind; KINDS below says what a kind declares and how it reaches C. Every C
parameter of a row's function must be filled, so a header change the table has not followed is an error.
`--check` fails if the committed module differs (scripts/test-bindings.sh, CI)."""
import re
import sys
import tomllib
from pathlib import Path

root = Path(__file__).resolve().parent.parent
HEADER = root / "include/dgmf.h"
TABLE = root / "bindings/fortran/dgmf.toml"
FRAME = root / "bindings/fortran/dgmf.f90.in"
OUTPUT = root / "include/dgmf.f90"
WIDTH = 118  # longest generated line before a continuation (free form allows 132)
STAT_DOC = "status (DGMF_OK = 0 on success); absent: a failure stops the program with the message"
ERRMSG_DOC = 'the library\'s message on failure, "" on success'


def die(text):
    sys.exit(f"gen-fortran: {text}")


# ---- the header -------------------------------------------------------------------------------------------

def prototypes(header):
    """{name: (return type, [(C type, parameter name)])} for every dgmf_* function."""
    found = {}
    pattern = r"^(enum dgmf_status|void|const char \*)\s*(dgmf_\w+)\((.*?)\);"
    for ret, name, params in re.findall(pattern, header, re.M | re.S):
        args = []
        for p in params.split(","):
            p = re.sub(r"\s+", " ", p.strip())
            if p == "void":
                continue
            m = re.fullmatch(r"(.*?[\s*])(\w+)", p)
            if not m:
                die(f"cannot read the parameter `{p}` of {name} in include/dgmf.h")
            args.append((m.group(1).strip(), m.group(2)))
        found[name] = (ret.strip(), args)
    if not found:
        die("no prototypes found in include/dgmf.h")
    return found


VALUE_KINDS = {"size_t": "integer(c_size_t)", "int32_t": "integer(c_int32_t)", "uint64_t": "integer(c_int64_t)",
               "float": "real(c_float)", "double": "real(c_double)", "dgmf_progress_fn": "type(c_funptr)"}
POINTEE_KINDS = {"size_t": "c_size_t", "uint64_t": "c_int64_t", "double": "c_double", "int32_t": "c_int32_t",
                 "enum dgmf_fidelity_kind": "c_int"}


def c_decl(ctype, name):
    """The bind(C) dummy for a C parameter: pointers by value as type(c_ptr), except the T** outputs."""
    if ctype.endswith("**"):
        return f"type(c_ptr) :: {name}"
    if ctype.endswith("*"):
        return f"type(c_ptr), value :: {name}"
    if ctype in VALUE_KINDS:
        return f"{VALUE_KINDS[ctype]}, value :: {name}"
    die(f"no Fortran type for the C type `{ctype}` (parameter {name}); add it to VALUE_KINDS")


def interface(name, ret, args):
    """One bind(C) interface, named c_<name less dgmf_>."""
    fname = "c_" + name.removeprefix("dgmf_")
    dummies = ", ".join(a for _, a in args)
    kind = "subroutine" if ret == "void" else "function"
    lines = [f"{kind} {fname}({dummies}) bind(C, name=\"{name}\")"]
    decls = [c_decl(t, a) for t, a in args]
    if ret == "enum dgmf_status":
        decls.append(f"integer(c_int) :: {fname}")
    elif ret == "const char *":
        decls.append(f"type(c_ptr) :: {fname}")
    used = sorted({w for d in decls for w in re.findall(r"\bc_(?:ptr|funptr|int\d*_t|int|size_t|float|double)\b", d)})
    lines.append("   import :: " + ", ".join(used))
    lines += ["   " + d for d in decls]
    lines.append(f"end {kind}")
    return lines


# ---- the kinds of dummies ---------------------------------------------------------------------------------
# decl: the Fortran declaration; local: a temporary; pre/post: statements around the C call; arg: what C
# receives; check: a condition refused before C is called (C's unsigned parameters would wrap a negative);
# length: fills the size_t parameter after it in C. {x} is the dummy, {k} the C parameter's kind.

KINDS = {
    "string": dict(decl="character(len=*), intent(in) :: {x}", local="character(kind=c_char), allocatable, target :: {x}_c(:)",
                   pre="call to_c({x}, {x}_c)", arg="c_loc({x}_c)"),
    "optional_string": dict(decl="character(len=*), intent(in), optional :: {x}",
                            local=["character(kind=c_char), allocatable, target :: {x}_c(:)", "type(c_ptr) :: {x}_p"],
                            pre="call to_c_or_null({x}_c, {x}_p, {x})", arg="{x}_p"),
    "logical": dict(decl="logical, intent(in) :: {x}", arg="merge(1_c_int32_t, 0_c_int32_t, {x})"),
    "integer": dict(decl="integer, intent(in) :: {x}", arg="int({x}, {k})"),
    "count": dict(decl="integer, intent(in) :: {x}", arg="int({x}, {k})", check=("{x} < 0", "{x} must be >= 0")),
    "int64": dict(decl="integer(c_int64_t), intent(in) :: {x}", arg="int({x}, {k})"),
    "count64": dict(decl="integer(c_int64_t), intent(in) :: {x}", arg="int({x}, {k})",
                    check=("{x} < 0", "{x} must be >= 0")),
    "index": dict(decl="integer, intent(in) :: {x}", arg="int({x} - 1, {k})",
                  check=("{x} < 1", "{x} is 1-based: it must be >= 1")),
    "real": dict(decl="real, intent(in) :: {x}", arg="real({x}, c_float)"),
    "double": dict(decl="real(c_double), intent(in) :: {x}", arg="{x}"),
    "funptr": dict(decl="type(c_funptr), intent(in) :: {x}", arg="{x}"),
    "pointer": dict(decl="type(c_ptr), intent(in) :: {x}", arg="{x}"),
    "bytes": dict(decl="integer(c_int8_t), intent(in), target :: {x}(:)", arg="c_loc({x})",
                  length="size({x}, kind=c_size_t)"),
    "doubles_in": dict(decl="real(c_double), intent(in), target, contiguous :: {x}(:)", arg="address({x})",
                       length="size({x}, kind=c_size_t)"),
    "doubles_inout": dict(decl="real(c_double), intent(inout), target, contiguous :: {x}(:)", arg="address({x})",
                          length="size({x}, kind=c_size_t)"),
    "integer_out": dict(decl="integer, intent(out) :: {x}", local="integer({k}), target :: {x}_c", pre="{x}_c = 0",
                        arg="c_loc({x}_c)", post="{x} = int({x}_c)"),
    "int64_out": dict(decl="integer(c_int64_t), intent(out) :: {x}", local="integer({k}), target :: {x}_c",
                      pre="{x}_c = 0", arg="c_loc({x}_c)", post="{x} = int({x}_c, c_int64_t)"),
    "double_out": dict(decl="real(c_double), intent(out) :: {x}", local="real(c_double), target :: {x}_c",
                       pre="{x}_c = 0", arg="c_loc({x}_c)", post="{x} = {x}_c"),
    "string_out": dict(decl="character(len=:), allocatable, intent(out) :: {x}", local="type(c_ptr) :: {x}_c",
                       pre="{x}_c = c_null_ptr", arg="{x}_c", post="{x} = f_string({x}_c)"),
}
for _t in ("options", "model", "config", "moments"):
    KINDS[_t] = dict(decl=f"type(dgmf_{_t}_t), intent(in) :: {{x}}", arg="{x}%ptr")
    KINDS["optional_" + _t] = dict(decl=f"type(dgmf_{_t}_t), intent(in), optional :: {{x}}", local="type(c_ptr) :: {x}_p",
                                  pre=["{x}_p = c_null_ptr", "if (present({x})) {x}_p = {x}%ptr"], arg="{x}_p")


def listed(value):
    return [] if value is None else [value] if isinstance(value, str) else list(value)


def ckind(ctype):
    base = ctype.replace("const ", "").rstrip("* ").strip()
    return POINTEE_KINDS.get(base) or VALUE_KINDS.get(base, "").removeprefix("integer(").rstrip(")")


# ---- one procedure ----------------------------------------------------------------------------------------

class Procedure:
    def __init__(self, row, types, protos):
        self.row, self.name = row, row["name"]
        if self.name not in protos:
            die(f"{self.name} (bindings/fortran/dgmf.toml) is not a function of include/dgmf.h")
        self.ret, self.cparams = protos[self.name]
        self.type = row.get("self")
        self.receives = row.get("receives", False)
        self.args = row.get("args", [])
        if self.type:
            info = types[self.type]
            self.var = row.get("self_name", info["var"])
            self.self_doc = row.get("self_doc", info["receives"] if self.receives else info["doc"])
        self.decls, self.locals, self.checks, self.pre, self.post = [], [], [], [], []

    def bound(self):
        b = self.row.get("bound")
        if b is None and self.type:
            prefix = f"dgmf_{self.type}_"
            b = self.name.removeprefix(prefix) if self.name.startswith(prefix) else self.name.removeprefix("dgmf_")
        return b

    def dummy_doc(self, decl, name, doc):
        """The declaration with its `!!` doc, the doc on a line above when the pair would be too long."""
        if 6 + len(decl) + 5 + len(doc) <= 132:
            return [f"{decl}  !! {doc}"]
        return [f"!! {name}: {doc}", decl]

    def fill(self):
        """Declarations and C arguments from the kinds; every C parameter must be filled once."""
        cargs = {}
        if self.type:
            intent = "inout" if self.receives else "in"
            self.decls += self.dummy_doc(f"class(dgmf_{self.type}_t), intent({intent}) :: {self.var}", self.var,
                                         self.self_doc)
            want = f"struct dgmf_{self.type} **" if self.receives else f"struct dgmf_{self.type} *"
            handle = next((p for t, p in self.cparams if t.replace("const ", "") == want), None)
            if handle is None:
                die(f"{self.name}: include/dgmf.h has no `{want}` parameter for `{self.var}`")
            cargs[handle] = f"{self.var}%ptr"
            if self.receives:
                self.pre.append(f"call dgmf_{self.type}_destroy({self.var})")
        names = [p for _, p in self.cparams]
        for a in self.args:
            x = a["name"]
            if "decl" in a:  # a row with its own body fills C itself
                self.decls += self.dummy_doc(a["decl"], x, a["doc"])
                continue
            kind = KINDS.get(a["kind"]) or die(f"{self.name}: unknown kind `{a['kind']}` of `{x}`")
            cname = a.get("c", x)
            if cname not in names:
                die(f"{self.name}: `{x}` matches no C parameter (include/dgmf.h has {', '.join(names)}); set `c`")
            k = ckind(dict((p, t) for t, p in self.cparams)[cname])
            sub = lambda s: s.format(x=x, k=k)
            self.decls += self.dummy_doc(sub(kind["decl"]), x, a["doc"])
            self.locals += [sub(s) for s in listed(kind.get("local"))]
            if "check" in kind:
                cond, text = kind["check"]
                self.checks.append((sub(cond), f"{self.name}: {sub(text)}"))
            self.pre += [sub(s) for s in listed(kind.get("pre"))]
            self.post += [sub(s) for s in listed(kind.get("post"))]
            cargs[cname] = sub(kind["arg"])
            if "length" in kind:
                i = names.index(cname) + 1
                if i >= len(names) or self.cparams[i][0] != "size_t":
                    die(f"{self.name}: the buffer `{x}` needs a size_t length after `{cname}` in C")
                cargs[names[i]] = sub(kind["length"])
        if "body" in self.row:
            return self.row["call"]
        missing = [p for p in names if p not in cargs]
        if missing:
            die(f"{self.name}: no dummy fills the C parameter(s) {', '.join(missing)}: add an arg row")
        return "c_" + self.name.removeprefix("dgmf_") + "(" + ", ".join(cargs[p] for p in names) + ")"

    def lines(self):
        call = self.fill()
        dummies = ([self.var] if self.type else []) + [a["name"] for a in self.args] + ["stat", "errmsg"]
        out = [f"!> {d}" for d in listed(self.row.get("doc"))]
        out.append(f"subroutine {self.name}({', '.join(dummies)})")
        body = ["   " + d for d in self.decls]
        body += [f"   !! stat: {STAT_DOC}", "   integer, intent(out), optional :: stat",
                 f"   character(len=:), allocatable, intent(out), optional :: errmsg  !! {ERRMSG_DOC}"]
        own = "body" in self.row
        guarded = own or self.checks
        body += ["   " + s for s in self.locals + listed(self.row.get("locals"))]
        if guarded:
            body += ["   integer(c_int) :: status", "   character(len=:), allocatable :: why", '   why = ""']
        body += ["   " + s for s in self.pre]
        for cond, text in self.checks:
            body.append(f'   if ({cond}) why = "{text}"')
        if own:
            body += ["   " + s for s in self.row["body"].strip("\n").split("\n")]
        if guarded:
            body += ["   status = DGMF_ERR_INVALID_ARGUMENT", f'   if (why == "") status = {call}',
                     "   call finish(status, stat, why)", "   if (present(errmsg)) call message(errmsg, stat, why)"]
        else:
            body += [f"   call finish({call}, stat)", "   if (present(errmsg)) call message(errmsg, stat)"]
        body += ["   " + s for s in self.post + listed(self.row.get("post"))]
        return out + body + ["end subroutine"]


def destroy(t, var):
    return [f"subroutine dgmf_{t}_destroy({var})",
            f"   class(dgmf_{t}_t), intent(inout) :: {var}  !! freed; a null handle is a no-op",
            f"   call c_{t}_destroy({var}%ptr)", f"   {var}%ptr = c_null_ptr", "end subroutine", "",
            f"subroutine {t}_final({var})", f"   type(dgmf_{t}_t), intent(inout) :: {var}",
            f"   call dgmf_{t}_destroy({var})", "end subroutine"]


# ---- layout -----------------------------------------------------------------------------------------------

def wrap(line):
    """Splits a statement longer than WIDTH after a comma outside strings, the outermost call's first."""
    out = []
    while len(line) > WIDTH and not line.lstrip().startswith("!") and "  !! " not in line:
        indent = len(line) - len(line.lstrip())
        cuts, quote, depth = {}, None, 0
        for i, ch in enumerate(line[:WIDTH - 2]):
            if ch in "\"'":
                quote = None if quote == ch else (quote or ch)
            elif quote is None and ch in "()":
                depth += 1 if ch == "(" else -1
            elif ch == "," and quote is None and i > indent + 10:
                cuts[depth] = i
        if not cuts:
            break
        cut = cuts[min(cuts)]
        out.append(line[:cut + 1] + " &")
        line = " " * (indent + 6) + line[cut + 1:].lstrip()
    return out + [line]


def block(lines, n):
    return "\n".join(w for s in lines for w in (wrap(" " * n + s) if s else [""]))


def constants(header):
    def value(text):
        if re.fullmatch(r"\d+", text.strip()):
            return int(text)
        m = re.fullmatch(r"\(\(size_t\)(\d+) << (\d+)\)", text.strip())
        if not m:
            die(f"cannot read the macro value `{text}`")
        return int(m.group(1)) << int(m.group(2))

    lines = ["! Constants from include/dgmf.h."]
    for enum in ("dgmf_status", "dgmf_fidelity_kind"):
        body = re.search(r"typedef enum %s \{(.*?)\}" % enum, header, re.S) or die(f"enum {enum} not found")
        for n, v in re.findall(r"^\s*(DGMF_[A-Z_]+) = (\d+),?\s*$", body.group(1), re.M):
            lines.append(f"integer(c_int), parameter, public :: {n} = {v}")
    lines.append("!> The header's limits and defaults, in the kinds the setters below take.")
    for n, v in re.findall(r"^#define (DGMF_[A-Z_]+) (.+)$", header, re.M):
        if n.startswith("DGMF_VERSION"):
            continue
        v = value(v)
        kind = "integer" if v < 2**31 else "integer(c_int64_t)"
        lines.append(f"{kind}, parameter, public :: {n} = {v}{'' if v < 2**31 else '_c_int64_t'}")
    return lines


def generate(header, table_text, frame):
    """The module's text from the header, the table and the frame (texts, so that tests can vary them)."""
    table = tomllib.loads(table_text)
    protos = prototypes(header)
    types = table["types"]
    procs = [Procedure(r, types, protos) for r in table["procedure"]]
    names = [p.name for p in procs]
    if len(set(names)) != len(names):
        die("a procedure is listed twice in bindings/fortran/dgmf.toml")

    type_lines = []
    for t in types:
        type_lines += [f"type, public :: dgmf_{t}_t", "   type(c_ptr) :: ptr = c_null_ptr", "contains"]
        type_lines.append(f"   procedure :: destroy => dgmf_{t}_destroy")
        type_lines += [f"   procedure :: {p.bound()} => {p.name}" for p in procs if p.type == t and p.bound()]
        type_lines += [f"   final :: {t}_final", "end type", ""]
    public = [f"dgmf_{t}_destroy" for t in types] + names
    public_lines = [f"public :: {', '.join(public[i:i + 4])}" for i in range(0, len(public), 4)]
    iface = []
    for name, (ret, args) in protos.items():
        iface += interface(name, ret, args)
    bodies = []
    for t, info in types.items():
        bodies += [f"! ---- {t} " + "-" * (100 - len(t)), ""] + destroy(t, info["var"]) + [""]
        for p in procs:
            if p.type == t:
                bodies += p.lines() + [""]
    for p in procs:
        if not p.type:
            bodies += p.lines() + [""]

    text = frame
    for mark, lines, n in (("@constants", constants(header), 3), ("@types", type_lines[:-1], 3),
                           ("@public", public_lines, 3), ("@interfaces", iface, 6), ("@procedures", bodies[:-1], 3)):
        if mark not in text:
            die(f"bindings/fortran/dgmf.f90.in lacks the marker {mark}")
        text = text.replace(mark, block(lines, n))
    return text


def main():
    text = generate(HEADER.read_text(), TABLE.read_text(), FRAME.read_text())
    if "--check" in sys.argv[1:]:
        if not OUTPUT.exists() or OUTPUT.read_text() != text:
            die("include/dgmf.f90 differs from what bindings/fortran/dgmf.toml, dgmf.f90.in and include/dgmf.h "
                "give: run scripts/gen-fortran.py and commit it")
        print("include/dgmf.f90: up to date with bindings/fortran and include/dgmf.h")
    else:
        OUTPUT.write_text(text)


if __name__ == "__main__":
    main()
