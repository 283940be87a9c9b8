"""``patchline editbench``: build-prompts, run, merge-results and merge-infbench (seed-compatible flags)."""

from __future__ import annotations

import argparse

from patchline.cli.progress import cli_progress
from patchline.core.errors import InputError, PatchlineError
from patchline.core.settings import api_keys_from_env, env_value
from patchline.gateway import ExecutorSettings
from patchline.workflows.editbench import (
    BuildOptions,
    ExistingMerged,
    MergeOutput,
    RunOptions,
    build_infbench,
    compat_save_path,
    load_sampled_ids,
    merge_infbench,
    merge_results,
    run_matrix,
)

__all__ = ["register"]


def _build_prompts(args: argparse.Namespace) -> int:
    """Bench JSONL -> infbench JSONL (appended, resumed by instance id)."""
    options = BuildOptions(
        info_pct=args.info_pct,
        include_pr=not args.no_pr_mes,
        include_issue=not args.no_issue_mes,
        use_bm25=args.use_bm25,
        topn=args.topn,
        repo_root=args.repo_root,
        cache_root=args.cache_root,
        templates=args.templates,
    )
    save_path = compat_save_path(args.save_path, options) if args.compat_save_path else args.save_path
    with cli_progress() as progress:
        summary = build_infbench(args.dataset_name, save_path, options, progress=progress)
    # Each skipped instance was logged as a warning when it happened: the summary counts them.
    print(
        f"{summary.save_path}: {summary.written} written, {summary.already_there} already there, "
        f"{len(summary.failed)} skipped, {summary.bad_lines} bad input lines"
    )
    if not summary.written and not summary.already_there:
        if summary.failed:
            first_id, reason = summary.failed[0]
            raise PatchlineError(
                f"no infbench record written: all {len(summary.failed)} instances skipped (first: {first_id}: {reason})"
            )
        raise InputError(f"{args.dataset_name}: no bench line to build prompts from ({summary.bad_lines} bad lines)")
    return 0


def _run(args: argparse.Namespace) -> int:
    """Infbench lines -> the gateway executor -> experiment_results/{model}/T=/n=/{stem}.jsonl."""
    urls = args.url or ([env_value("BASE_URL")] if env_value("BASE_URL") else [])
    if not urls:
        raise InputError("no endpoint: pass --url http://host:port or set BASE_URL")
    options = RunOptions(
        endpoints=urls,
        root=args.root,
        keys=api_keys_from_env(),
        executor=ExecutorSettings(concurrency=args.max_workers, timeout_s=args.timeout, max_attempts=args.max_attempts),
        sampled_ids=load_sampled_ids(args.sampled_ids_file) if args.sampled_ids_file else None,
    )
    with cli_progress() as progress:
        summaries = run_matrix(args.dataset_name, args.model, args.run_id, options, progress=progress)
    for s in summaries:
        known = "" if s.config_known else " (model not in the table: default sampling)"
        print(
            f"{s.output_uri}: {s.succeeded} succeeded, {s.failed} failed, {s.already_done} already done, "
            f"{s.shrunk} shrunk for context, {s.harvested} recovered, cost {s.cost:.4f}{known}"
        )
    return 1 if any(s.failed for s in summaries) else 0


def _existing(args: argparse.Namespace) -> ExistingMerged:
    if args.overwrite:
        return ExistingMerged.OVERWRITE
    return ExistingMerged.MERGE if args.merge_existing else ExistingMerged.REFUSE


def _describe_merge(out: MergeOutput) -> str:
    before = f" (had {out.previous_records} records)" if out.action in ("replaced", "merged") else ""
    return f"{out.name}: {out.action}{before}: {out.records} records from {len(out.sources)} files, {out.repos} repos"


def _merge_results(args: argparse.Namespace) -> int:
    """Per-repository result files -> all-task-instances_{run_id}.jsonl."""
    outputs = merge_results(
        args.root,
        args.model_name,
        temperature=args.temperature,
        n=args.n,
        run_id=args.run_id,
        repos=args.repos,
        existing=_existing(args),
    )
    for out in outputs:
        print(_describe_merge(out))
    return 0


def _merge_infbench(args: argparse.Namespace) -> int:
    """Per-repository infbench files of one condition -> all-task-instances_{condition}.jsonl."""
    print(_describe_merge(merge_infbench(args.root, args.condition, repos=args.repos, existing=_existing(args))))
    return 0


def _add_existing_flags(parser: argparse.ArgumentParser) -> None:
    choice = parser.add_mutually_exclusive_group()
    choice.add_argument("--overwrite", action="store_true", help="replace a merged file that differs")
    choice.add_argument(
        "--merge-existing", action="store_true", help="merge into an existing merged file (its other records kept)"
    )


def _add_build(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = commands.add_parser("build-prompts", help="bench JSONL -> infbench JSONL (seed prompt_builder)")
    p.add_argument("--dataset-name", "--dataset_name", dest="dataset_name", required=True, help="bench JSONL")
    p.add_argument("--save-path", "--save_path", dest="save_path", required=True, help="infbench JSONL (as given)")
    p.add_argument("--info-pct", "--info_pct", dest="info_pct", type=float, default=None, help="history fraction")
    p.add_argument("--no-pr-mes", action="store_true", help="leave the PR title/body out of the requirement")
    p.add_argument("--no-issue-mes", action="store_true", help="leave the issue text out of the requirement")
    p.add_argument("--use-bm25", action="store_true", help="BM25-retrieved context instead of the oracle files")
    p.add_argument("--topn", type=int, default=10, help="files retrieved by BM25 (default 10)")
    p.add_argument("--repo-root", default=None, help="folder holding checkouts named owner__name or owner/name")
    p.add_argument("--cache-root", default=".", help="store root of the BM25 index cache (.cache/bm25 below it)")
    p.add_argument("--templates", default=None, help="folder with full.txt, requirement_only.txt, history_only.txt")
    p.add_argument("--compat-save-path", action="store_true", help="rename --save-path as the original does")
    p.set_defaults(handler=_build_prompts)


def _add_run(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = commands.add_parser("run", help="run models on infbench files (seed run_api)")
    p.add_argument("--dataset_name", "--dataset-name", dest="dataset_name", nargs="+", default=["all"])
    p.add_argument("--model", nargs="+", required=True, help="model name(s)")
    p.add_argument("--run_id", "--run-id", dest="run_id", nargs="+", default=["0.2"], help="run id(s)")
    p.add_argument("--sampled_ids_file", "--sampled-ids-file", dest="sampled_ids_file", default=None)
    p.add_argument("--max_workers", "--max-workers", dest="max_workers", type=int, default=10)
    p.add_argument("--timeout", type=float, default=600.0, help="seconds per request attempt")
    p.add_argument("--max-attempts", dest="max_attempts", type=int, default=ExecutorSettings().max_attempts)
    p.add_argument("--url", action="append", default=None, help="endpoint base URL (default: BASE_URL)")
    p.add_argument("--root", default=".", help="project root holding crawled_data/ and experiment_results/")
    p.set_defaults(handler=_run)


def _add_merges(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = commands.add_parser("merge-results", help="merge per-repository result files of a model")
    p.add_argument("--model-name", "--model_name", dest="model_name", required=True)
    p.add_argument("--temperature", type=float, default=None)
    p.add_argument("--n", type=int, default=None)
    p.add_argument("--run-id", "--run_id", dest="run_id", default=None)
    p.add_argument("--repos", nargs="+", default=None)
    p.add_argument("--root", default=".", help="project root holding experiment_results/")
    _add_existing_flags(p)
    p.set_defaults(handler=_merge_results)
    q = commands.add_parser("merge-infbench", help="merge per-repository infbench files of one condition")
    q.add_argument("--condition", required=True, help="run id, e.g. 0.2 or 0.2_bm25_5")
    q.add_argument("--repos", nargs="+", default=None)
    q.add_argument("--root", default=".", help="project root holding crawled_data/infbench/")
    _add_existing_flags(q)
    q.set_defaults(handler=_merge_infbench)


def register(parser: argparse.ArgumentParser) -> None:
    """Add the EditBench subcommands below ``patchline editbench``."""
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    _add_build(commands)
    _add_run(commands)
    _add_merges(commands)
