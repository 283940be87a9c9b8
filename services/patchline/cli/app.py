"""Entry point of ``patchline``: global options, subcommand groups, and the one place errors become exit codes."""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from patchline import __version__
from patchline.cli.logs import configure_logging
from patchline.cli.parser import PatchlineParser, verbosity
from patchline.core.errors import (
    ArtifactNotFoundError,
    InputError,
    PatchlineError,
    PreconditionError,
    UnavailableError,
)
from patchline.core.oserrors import path_error
from patchline.core.redact import Redactor
from patchline.core.settings import KeySets, configured_secrets
from patchline.core.sglang_args import secret_values

__all__ = ["build_parser", "main"]

log = logging.getLogger("patchline")

Register = Callable[[argparse.ArgumentParser], None]


@dataclass(frozen=True)
class CommandGroup:
    """A ``patchline`` subcommand group: its name, one-line help and the module whose ``register`` adds it.

    The module is imported only when its group runs: the groups pull in heavy libraries (datasets, scipy,
    grpc) that a command of another group never needs, and importing them all took seconds per command.
    """

    name: str
    help: str
    module: str

    def load(self) -> Register:
        """The group's ``register(parser)``."""
        register: Register = importlib.import_module(self.module).register
        return register


GROUPS: tuple[CommandGroup, ...] = (
    CommandGroup("agentless", "Agentless batch repair (seed-compatible `repair`)", "patchline.cli.agentless"),
    CommandGroup("rollout", "BugFixer / TestWriter 3-stage batch rollouts", "patchline.cli.rollout"),
    CommandGroup("editbench", "EditBench prompt building, inference and merging", "patchline.cli.editbench"),
    CommandGroup("infer", "run request files against models (executor, SGLang, Batch API)", "patchline.cli.infer"),
    CommandGroup("oracle", "the gold-answer OpenAI-compatible server", "patchline.cli.oracle"),
    CommandGroup("llamacpp", "a llama.cpp model server on CPU (xllamacpp)", "patchline.cli.llamacpp"),
    CommandGroup("retrieval", "BM25 search over a repository snapshot", "patchline.cli.retrieval"),
    CommandGroup("repos", "repository snapshots and Agentless structure JSON", "patchline.cli.repos"),
    CommandGroup("samples", "the sample table of a stage: report per instance and overall", "patchline.cli.samples"),
    CommandGroup("serve", "the four gRPC services", "patchline.cli.serve"),
    CommandGroup("jobs", "one job on `patchline serve`: get, watch, cancel", "patchline.cli.jobs"),
    CommandGroup("run", "run an InferenceRun or Rollout manifest", "patchline.cli.run"),
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
    parser = PatchlineParser(
        prog="patchline",
        description="Batch LLM inference for code-repair research.",
        epilog="Every multi-word flag takes either spelling (--num_workers or --num-workers); abbreviations are "
        "refused.",
        root=True,
    )
    parser.add_argument("--version", action="version", version=f"patchline {__version__}")
    groups = parser.add_subparsers(dest="group", metavar="COMMAND", required=True)
    names = {group.name for group in GROUPS}
    chosen = next((arg for arg in argv if arg in names), None) if argv is not None else None
    for group in GROUPS:
        sub = groups.add_parser(group.name, help=group.help, description=group.help)
        if argv is None or group.name == chosen:
            group.load()(sub)
    return parser


def _command_redactor(args: argparse.Namespace) -> Redactor:
    """The secrets this command may meet: the configured ones, the variables of its ``--key-set`` flags and the
    secret SGLang arguments it passes on (a malformed ``--key-set`` is reported by the command itself)."""
    try:
        key_sets = KeySets.parse(getattr(args, "key_set", None) or ())
    except InputError:
        key_sets = None
    sglang = secret_values(getattr(args, "passthrough", None) or ())
    return Redactor((*configured_secrets(key_sets=key_sets), *sglang))


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the process exit code."""
    arguments = list(argv if argv is not None else sys.argv[1:])
    parser = build_parser(arguments)
    args = parser.parse_args(arguments)
    redactor = _command_redactor(args)
    configure_logging(verbosity=verbosity(args), fmt=args.log_format, redactor=redactor)
    handler = getattr(args, "handler", None)
    if handler is None:
        parser.parse_args([*arguments, "--help"])
        return 2
    try:
        result = handler(args)
    except KeyboardInterrupt:
        print("patchline: interrupted; rerun the same command to resume", file=sys.stderr)
        return 130
    except (PatchlineError, OSError) as exc:
        # An OSError that got here unnamed was not translated where it arose: still one line, naming the file.
        error = exc if isinstance(exc, PatchlineError) else path_error(exc, str(exc.filename or "a file"))
        print(f"patchline: error: {redactor.text(str(error))}", file=sys.stderr)
        log.debug("error detail", exc_info=True)
        return next(code for kind, code in _EXIT_CODES if isinstance(error, kind))
    return int(result or 0)


if __name__ == "__main__":
    sys.exit(main())
