"""scripts/gen-fortran.py refuses a table and a header that disagree, instead of writing a module that
would pass the wrong arguments to C (that the committed module is what it writes is scripts/test-bindings.sh's
`gen-fortran.py --check`)."""
import importlib.util
import re
from pathlib import Path

import pytest

root = Path(__file__).resolve().parents[2]
spec = importlib.util.spec_from_file_location("gen_fortran", root / "scripts/gen-fortran.py")
gen = importlib.util.module_from_spec(spec)
spec.loader.exec_module(gen)
HEADER = (root / "include/dgmf.h").read_text()
TABLE = (root / "bindings/fortran/dgmf.toml").read_text()
FRAME = (root / "bindings/fortran/dgmf.f90.in").read_text()
# The prototype as cbindgen wrote it (on one line or wrapped after a parameter).
STEPS = re.search(r"enum dgmf_status dgmf_config_set_steps\([^;]*\);", HEADER).group(0)


def refused(header=HEADER, table=TABLE, frame=FRAME):
    with pytest.raises(SystemExit) as e:
        gen.generate(header, table, frame)
    return str(e.value)


def test_a_c_parameter_no_row_fills_is_refused():
    assert STEPS in HEADER
    header = HEADER.replace(STEPS, STEPS.replace("size_t steps", "size_t steps, double scale"))
    assert "dgmf_config_set_steps: no dummy fills the C parameter(s) scale" in refused(header)


def test_a_row_for_a_function_the_header_lacks_is_refused():
    assert "dgmf_config_set_steps (bindings/fortran/dgmf.toml) is not a function" in refused(HEADER.replace(STEPS, ""))


def test_a_dummy_no_c_parameter_matches_is_refused():
    table = TABLE.replace('{ name = "steps", kind = "count", doc = "noise levels',
                          '{ name = "nsteps", kind = "count", doc = "noise levels')
    assert table != TABLE
    assert "dgmf_config_set_steps: `nsteps` matches no C parameter" in refused(table=table)


def test_an_unknown_kind_is_refused():
    table = TABLE.replace('name = "schedule", kind = "string"', 'name = "schedule", kind = "text"')
    assert table != TABLE
    assert "unknown kind `text`" in refused(table=table)


def test_a_frame_without_its_markers_is_refused():
    assert "lacks the marker @procedures" in refused(frame=FRAME.replace("@procedures", ""))


def test_unsigned_arguments_are_checked_before_c():
    text = gen.generate(HEADER, TABLE, FRAME)
    assert 'if (steps < 0) why = "dgmf_config_set_steps: steps must be >= 0"' in text
    assert 'if (index < 1) why = "dgmf_model_param: index is 1-based: it must be >= 1"' in text
    assert all(len(line) <= 132 for line in text.splitlines()), "a line over Fortran's 132 characters"
