"""``patchline samples report PATH``: the sample table of a stage, per instance and overall (``--format json``)."""

from __future__ import annotations

import argparse
import json

from patchline.core.store import open_artifact
from patchline.samples.report import build_report, locate_sample_files

__all__ = ["register"]


def _report(args: argparse.Namespace) -> int:
    """Print the report of the sample table at ``args.path``."""
    store, name = open_artifact(args.path)
    if not name.endswith(".jsonl"):  # a run folder: the table is inside it
        store, name = store.child(name), ""
    report = build_report(store, locate_sample_files(store, name))
    if args.format == "json":
        print(json.dumps(report.as_dict(), indent=2))
    else:
        print("\n".join(report.lines()))
    return 0


def register(parser: argparse.ArgumentParser) -> None:
    """Add ``report`` below ``patchline samples``."""
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    report = commands.add_parser(
        "report",
        help="distinct normalised patches, valid share, vote agreement, tokens per valid patch",
        description="Read a stage's samples.jsonl (and selection.jsonl beside it) and report per instance and overall.",
    )
    report.add_argument("path", help="a run folder holding samples.jsonl, or a *samples.jsonl file (local or s3://)")
    report.add_argument("--format", choices=["text", "json"], default="text", help="output format (default: text)")
    report.set_defaults(handler=_report)
