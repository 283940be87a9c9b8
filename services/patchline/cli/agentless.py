"""``patchline agentless repair``: the seed's ``repair.py --batch_gen`` / ``--process_batch`` with the same flags."""

from __future__ import annotations

import argparse

from patchline.cli.parser import add_mismatch_arguments, mismatch_policy
from patchline.cli.progress import cli_progress
from patchline.core.errors import InputError
from patchline.core.settings import project_file_loc_from_env
from patchline.workflows.agentless import FIRST_NONEMPTY, RepairSettings, generate_requests, process_responses

__all__ = ["register"]


def _top_n(value: str) -> int | None:
    if value.strip().lower() == "none":
        return None
    try:
        return int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"--top_n must be an integer or 'none', got {value!r}") from None


def _settings(args: argparse.Namespace) -> RepairSettings:
    return RepairSettings(
        loc_file=args.loc_file,
        output_folder=args.output_folder,
        dataset=args.dataset,
        split=args.split,
        model=args.model,
        loc_interval=args.loc_interval,
        top_n=args.top_n,
        context_window=args.context_window,
        max_samples=args.max_samples,
        skip_greedy=args.skip_greedy,
        cot=args.cot,
        diff_format=args.diff_format,
        temperature=args.temperature,
        top_p=args.top_p,
        max_tokens=args.max_tokens,
        thinking_budget=args.thinking_budget,
        enable_thinking=args.enable_thinking,
        num_threads=args.num_threads,
        project_file_loc=project_file_loc_from_env(),
        repo=args.repo,
        prompt_template=args.prompt_template,
        compat_agentless_newlines=args.compat_agentless_newlines,
        predictions_sample=args.predictions_sample,
    )


def _repair(args: argparse.Namespace) -> int:
    """Write the repair requests (--batch_gen) or turn responses into patches (--process_batch)."""
    if args.batch_gen == args.process_batch:
        raise InputError("give exactly one of --batch_gen and --process_batch")
    if args.process_batch and not args.batch_output:
        raise InputError("--process_batch needs --batch_output FILE")
    settings = _settings(args)
    policy = mismatch_policy(args)
    with cli_progress() as progress:
        if args.batch_gen:
            generated = generate_requests(settings, progress=progress, on_mismatch=policy)
            summary_lines, failure = generated.describe(), generated.nothing_done(settings)
        else:
            processed = process_responses(settings, args.batch_output, progress=progress, on_mismatch=policy)
            summary_lines, failure = processed.describe(), processed.nothing_done(args.batch_output)
    print("\n".join(summary_lines))
    if failure is not None:
        raise failure
    return 0


def _add_seed_flags(parser: argparse.ArgumentParser) -> None:
    add = parser.add_argument
    add("--loc_file", required=True, help="localisation JSONL (instance_id, found_files, found_edit_locs)")
    add("--output_folder", required=True, help="run folder (local path or s3://...)")
    add("--loc_interval", action="store_true", help="one window per location, overlapping ones merged")
    add("--top_n", type=_top_n, default=1, help="number of found files to show, or 'none' for all (default 1)")
    add("--context_window", type=int, default=10, help="lines of context around each location (default 10)")
    add("--max_samples", type=int, default=20, help="samples per instance, sample 0 greedy (default 20)")
    add("--skip_greedy", action="store_true", help="do not request the greedy sample 0")
    add("--cot", action="store_true", help="ask the model to localise the bug before editing")
    add("--diff_format", action="store_true", help="SEARCH/REPLACE answers (required: the only supported format)")
    add("--model", default="gpt-4o-2024-05-13", help="body.model of the requests")
    add("--temperature", type=float, default=0.8, help="temperature of samples 1.. (default 0.8)")
    add("--top_p", type=float, default=1.0, help="top_p of every sample (default 1.0)")
    add("--max_tokens", type=int, default=1024, help="max_tokens of every sample (default 1024)")
    add("--thinking_budget", type=int, default=None, help="reasoning token budget (with --enable_thinking)")
    add("--enable_thinking", action="store_true", help="ask thinking models to reason")
    add("--num_threads", type=int, default=1, help="worker processes for preparing and processing (default 1)")
    add("--batch_gen", action="store_true", help="write requests-repair.jsonl into the output folder")
    add("--process_batch", action="store_true", help="turn the responses of --batch_output into patches")
    add("--batch_output", default=None, help="response JSONL written by an executor")
    add("--dataset", default="princeton-nlp/SWE-bench_Lite", help="HF dataset name or local .json/.jsonl/.parquet")


def register(parser: argparse.ArgumentParser) -> None:
    """Add ``repair`` below ``patchline agentless``."""
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    repair = commands.add_parser("repair", help="Agentless batch repair (env PROJECT_FILE_LOC: structure JSON folder)")
    _add_seed_flags(repair)
    repair.add_argument("--split", default="test", help="dataset split (default test)")
    repair.add_argument(
        "--repo", default=None, help="git repository, or folder of owner__repo checkouts, read at base_commit"
    )
    repair.add_argument("--prompt-template", default=None, help="prompt template file, or folder of template files")
    repair.add_argument(
        "--compat-agentless-newlines",
        action="store_true",
        help="reproduce the original's blank-line artefact, first-file-only edits and git diff output",
    )
    repair.add_argument(
        "--predictions-sample",
        default=FIRST_NONEMPTY,
        help=f"sample written to predictions.jsonl: {FIRST_NONEMPTY!r} (default) or a sample index",
    )
    add_mismatch_arguments(
        repair, what="the request file (--batch_gen) or this run's answers (--process_batch)", existing="lines"
    )
    repair.set_defaults(handler=_repair)
