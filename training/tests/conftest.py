# Make `import dgmf_data` work however pytest is launched (repo root or training/).
import sys
from pathlib import Path

TRAINING_DIR = Path(__file__).resolve().parents[1]
if str(TRAINING_DIR) not in sys.path:
    sys.path.insert(0, str(TRAINING_DIR))


def require(module):
    """pytest.importorskip, except where DGMF_REQUIRE_ALL=1 (CI: scripts/test.sh), where a missing
    module fails the test instead of skipping it."""
    import importlib
    import os

    import pytest
    if os.environ.get("DGMF_REQUIRE_ALL") == "1":
        return importlib.import_module(module)
    return pytest.importorskip(module)


def orders(errors):
    """Observed orders p = log2(e(h) / e(h/2)) over successive halvings."""
    import numpy as np
    e = np.asarray(errors)
    return np.log2(e[:-1] / e[1:])


def report(name, sizes, errors):
    """Prints the errors and observed orders of a convergence study (shown with pytest -s); returns
    the orders."""
    import numpy as np
    p = orders(errors)
    errs = " ".join(f"{e:.3e}" for e in errors)
    print(f"\n{name}: sizes {list(sizes)}\n  errors {errs}\n  orders {np.round(p, 3)}")
    return p
