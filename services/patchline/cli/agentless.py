"""``patchline agentless repair``: the seed's ``repair.py --batch_gen`` / ``--process_batch`` with the same flags.

The flags fill :class:`~patchline.core.spec.AgentlessStage` (``patchline.cli.flags``): every default is the
model's. ``PROJECT_FILE_LOC`` names the structure-JSON folder, as for the seed.
"""

from __future__ import annotations

import argparse

from patchline.cli.flags import ModelFlags
from patchline.cli.parser import add_mismatch_arguments, mismatch_policy
from patchline.cli.progress import cli_progress
from patchline.cli.selection import add_selection_flags
from patchline.core.errors import InputError
from patchline.core.settings import project_file_loc_from_env
from patchline.core.spec import AgentlessStage
from patchline.workflows.agentless import generate_requests, process_responses

__all__ = ["register"]

FLAGS = ModelFlags(AgentlessStage)


def _top_n(value: str) -> int:
    if value.strip().lower() == "none":
        return 0
    try:
        return int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"--top_n must be an integer or 'none', got {value!r}") from None


def _settings(args: argparse.Namespace) -> AgentlessStage:
    if not args.diff_format:
        raise InputError(
            "only --diff_format (SEARCH/REPLACE) answers are supported: the original's edit_file format "
            "is read with eval, which patchline never does on model output"
        )
    structure_dir = project_file_loc_from_env()
    fixed = {"repositories": {"structure_dir": structure_dir}} if structure_dir else {}
    return FLAGS.build(args, on_mismatch=mismatch_policy(args), **fixed)


def _repair(args: argparse.Namespace) -> int:
    """Write the repair requests (--batch_gen) or turn responses into patches (--process_batch)."""
    if args.batch_gen == args.process_batch:
        raise InputError("give exactly one of --batch_gen and --process_batch")
    if args.process_batch and not args.batch_output:
        raise InputError("--process_batch needs --batch_output FILE")
    settings = _settings(args)
    with cli_progress() as progress:
        if args.batch_gen:
            generated = generate_requests(settings, args.output_folder, progress=progress)
            summary_lines, failure = generated.describe(), generated.nothing_done(settings)
        else:
            processed = process_responses(
                settings, args.output_folder, args.batch_output, progress=progress, hooks=True
            )
            summary_lines, failure = processed.describe(), processed.nothing_done(args.batch_output)
    print("\n".join(summary_lines))
    if failure is not None:
        raise failure
    return 0


def _add_seed_flags(parser: argparse.ArgumentParser) -> None:
    add = parser.add_argument
    flag = FLAGS.add
    flag(parser, "--loc_file", field="workflow.loc_file", help="localisation JSONL (instance_id, found_files, ...)")
    add("--output_folder", required=True, help="run folder (local path or s3://...)")
    flag(parser, "--loc_interval", field="workflow.loc_interval", help="one window per location, overlaps merged")
    flag(parser, "--top_n", field="workflow.top_n", parse=_top_n, help="found files to show, 'none' for all")
    flag(parser, "--context_window", field="workflow.context_window", help="lines of context around each location")
    flag(parser, "--max_samples", field="sampling.samples", help="samples per instance, sample 0 greedy")
    flag(parser, "--skip_greedy", field="workflow.skip_greedy", help="do not request the greedy sample 0")
    flag(parser, "--cot", field="workflow.cot", help="ask the model to localise the bug before editing")
    add("--diff_format", action="store_true", help="SEARCH/REPLACE answers (required: the only supported format)")
    flag(parser, "--model", field="model", help="body.model of the requests")
    flag(parser, "--temperature", field="sampling.temperature", help="temperature of samples 1..")
    flag(parser, "--top_p", field="sampling.top_p", help="top_p of every sample")
    flag(parser, "--max_tokens", field="sampling.max_tokens", help="max_tokens of every sample")
    flag(parser, "--thinking_budget", field="sampling.thinking_budget", help="reasoning token budget")
    flag(parser, "--enable_thinking", field="sampling.enable_thinking", help="ask thinking models to reason")
    flag(parser, "--num_threads", field="workflow.num_threads", help="worker processes for preparing and processing")
    add("--batch_gen", action="store_true", help="write requests-repair.jsonl into the output folder")
    add("--process_batch", action="store_true", help="turn the responses of --batch_output into patches")
    add("--batch_output", default=None, help="response JSONL written by an executor")
    flag(parser, "--dataset", field="dataset.source", help="HF dataset name or local .json/.jsonl/.parquet")


def register(parser: argparse.ArgumentParser) -> None:
    """Add ``repair`` below ``patchline agentless``."""
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    repair = commands.add_parser("repair", help="Agentless batch repair (env PROJECT_FILE_LOC: structure JSON folder)")
    _add_seed_flags(repair)
    FLAGS.add(repair, "--split", field="dataset.split", help="dataset split")
    FLAGS.add(
        repair, "--repo", field="repositories.repo_root", help="git repository, or folder of owner__repo checkouts"
    )
    FLAGS.add(repair, "--prompt-template", field="workflow.templates_dir", help="prompt template file or folder")
    FLAGS.add(
        repair,
        "--compat-agentless-newlines",
        field="workflow.compat_newlines",
        help="reproduce the original's blank-line artefact, first-file-only edits and git diff output",
    )
    add_selection_flags(FLAGS, repair, resampling=True)
    FLAGS.add(
        repair,
        "--max-answer-bytes",
        field="workflow.max_answer_bytes",
        help="a sample whose response line is larger fails as answer_too_large",
    )
    FLAGS.add(repair, "--item-timeout", field="workflow.item_timeout_seconds", help="seconds one instance may take")
    add_mismatch_arguments(
        repair, what="the request file (--batch_gen) or this run's answers (--process_batch)", existing="lines"
    )
    repair.set_defaults(handler=_repair)
