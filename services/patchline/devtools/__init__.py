"""Developer tools behind the Makefile targets (``make crds``, ``make chart``, ``make proto``); not used at run time."""

from __future__ import annotations

import argparse
from pathlib import Path

__all__ = ["REPO_ROOT", "tool_parser"]

REPO_ROOT = Path(__file__).resolve().parents[3]
"""The checkout these tools belong to (they regenerate or check its files)."""


def tool_parser(prog: str, description: str | None) -> argparse.ArgumentParser:
    """A tool's argument parser with ``--root`` (the repository root, default: this checkout)."""
    parser = argparse.ArgumentParser(prog=prog, description=description)
    parser.add_argument("--root", type=Path, default=REPO_ROOT, help="repository root (default: this checkout)")
    return parser
