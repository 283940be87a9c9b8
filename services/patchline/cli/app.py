"""Entry point of ``patchline``: global options, subcommand groups, and the one place errors become exit codes."""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from collections.abc import Sequence

from patchline import __version__
from patchline.cli.logs import configure_logging
from patchline.core.errors import (
    ArtifactNotFoundError,
    InputError,
    PatchlineError,
    PreconditionError,
    UnavailableError,
)

__all__ = ["build_parser", "main"]

log = logging.getLogger("patchline")

# Subcommand groups: (name, module with `register(subparsers)`, one-line help). Read-only table.
GROUPS: tuple[tuple[str, str, str], ...] = (
    ("agentless", "patchline.cli.agentless", "Agentless batch repair (seed-compatible `repair`)"),
    ("rollout", "patchline.cli.rollout", "BugFixer / TestWriter 3-stage batch rollouts"),
    ("editbench", "patchline.cli.editbench", "EditBench prompt building, inference and merging"),
    ("infer", "patchline.cli.infer", "run request files against models (executor, SGLang, Batch API)"),
    ("oracle", "patchline.cli.oracle", "the gold-answer OpenAI-compatible server"),
    ("llamacpp", "patchline.cli.llamacpp", "a llama.cpp model server on CPU (xllamacpp)"),
    ("retrieval", "patchline.cli.retrieval", "BM25 search over a repository snapshot"),
    ("repos", "patchline.cli.repos", "repository snapshots and Agentless structure JSON"),
    ("serve", "patchline.cli.serve", "the four gRPC services"),
    ("run", "patchline.cli.run", "run an InferenceRun or Rollout manifest"),
)

# Exit codes: 2 for bad input (as argparse), 3 missing artifact, 4 wrong state, 5 unavailable, 1 other.
_EXIT_CODES: tuple[tuple[type[PatchlineError], int], ...] = (
    (InputError, 2),
    (ArtifactNotFoundError, 3),
    (PreconditionError, 4),
    (UnavailableError, 5),
    (PatchlineError, 1),
)


def build_parser(argv: Sequence[str] | None = None) -> argparse.ArgumentParser:
    """The argument parser with every available subcommand group.

    Given the command line, only the group it names is imported and filled in (the others are listed
    with their help line): the groups pull in heavy libraries (datasets, scipy, grpc) that a command of
    another group never needs, and importing them all took seconds per command.
    """
    parser = argparse.ArgumentParser(prog="patchline", description="Batch LLM inference for code-repair research.")
    parser.add_argument("--version", action="version", version=f"patchline {__version__}")
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more log output (-vv for debug)")
    parser.add_argument("--log-format", choices=("text", "json"), default="text", help="log line format")
    groups = parser.add_subparsers(dest="group", metavar="COMMAND", required=True)
    names = {name for name, _, _ in GROUPS}
    chosen = next((arg for arg in argv if arg in names), None) if argv is not None else None
    for name, module_name, help_text in GROUPS:
        if argv is not None and name != chosen:
            groups.add_parser(name, help=help_text, description=help_text)
            continue
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name != module_name:
                raise
            continue  # group not built into this installation
        module.register(groups.add_parser(name, help=help_text, description=help_text))
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the process exit code."""
    arguments = list(argv if argv is not None else sys.argv[1:])
    parser = build_parser(arguments)
    args = parser.parse_args(arguments)
    configure_logging(verbosity=args.verbose, fmt=args.log_format)
    handler = getattr(args, "handler", None)
    if handler is None:
        parser.parse_args([*arguments, "--help"])
        return 2
    try:
        result = handler(args)
    except KeyboardInterrupt:
        print("patchline: interrupted; rerun the same command to resume", file=sys.stderr)
        return 130
    except PatchlineError as exc:
        print(f"patchline: error: {exc}", file=sys.stderr)
        log.debug("error detail", exc_info=True)
        return next(code for kind, code in _EXIT_CODES if isinstance(exc, kind))
    return int(result or 0)


if __name__ == "__main__":
    sys.exit(main())
