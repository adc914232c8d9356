"""Repository paths shared by export, evaluation and the accuracy report, and the one finder of the
`dgmf` CLI (no torch import here, so the report runs where torch is not installed)."""
import os
import shutil
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
CLI = REPO / "target" / "release" / "dgmf"  # a checkout's build; an installed package has none


def find_cli():
    """The `dgmf` CLI: $DGMF_CLI, then `dgmf` on PATH, then this checkout's target/release/dgmf."""
    for c in (os.environ.get("DGMF_CLI"), shutil.which("dgmf"), str(CLI)):
        if c and Path(c).is_file():
            return Path(c)
    return None


def require_cli():
    """find_cli(), or a FileNotFoundError saying how to provide the CLI."""
    cli = find_cli()
    if cli is None:
        raise FileNotFoundError("the dgmf CLI was not found: build it (cargo build --release) and set "
                                "DGMF_CLI=/path/to/dgmf or put it on PATH")
    return cli
