"""DGMF score-model training and ONNX export (see training/README.md)."""
# Make `import dgmf_data` work however this package is launched (repo root or training/).
import sys
from pathlib import Path

TRAINING_DIR = Path(__file__).resolve().parents[1]
if str(TRAINING_DIR) not in sys.path:
    sys.path.insert(0, str(TRAINING_DIR))
