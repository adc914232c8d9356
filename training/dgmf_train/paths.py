"""Repository paths shared by export, evaluation and the accuracy report (no torch import here,
so the report runs where torch is not installed)."""
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
CLI = REPO / "target" / "release" / "dgmf"
