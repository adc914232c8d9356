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
