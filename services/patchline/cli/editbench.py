"""``patchline editbench``: build-prompts, run, merge-results and merge-infbench (seed-compatible flags)."""

from __future__ import annotations

import argparse

from patchline.cli.flags import ModelFlags
from patchline.cli.infer import EXECUTOR_FLAGS
from patchline.cli.progress import cli_progress
from patchline.cli.selection import add_selection_flags
from patchline.core.errors import InputError, PatchlineError
from patchline.core.settings import api_keys_from_env, env_value
from patchline.core.spec import EditBenchStage, ModelEndpoints, Selection
from patchline.pipeline.editbench import RunOptions, run_matrix
from patchline.workflows.editbench import (
    ExistingMerged,
    MergeOutput,
    build_infbench,
    compat_save_path,
    load_sampled_ids,
    merge_infbench,
    merge_results,
)

__all__ = ["register"]


STAGE_FLAGS = ModelFlags(EditBenchStage)


def _build_prompts(args: argparse.Namespace) -> int:
    """Bench JSONL -> infbench JSONL (appended, resumed by instance id)."""
    settings = STAGE_FLAGS.build(args)
    save_path = compat_save_path(args.save_path, settings.workflow) if args.compat_save_path else args.save_path
    with cli_progress() as progress:
        summary = build_infbench(settings, save_path, cache_root=args.cache_root, progress=progress)
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
        raise InputError(
            f"{settings.dataset.source}: no bench line to build prompts from ({summary.bad_lines} bad lines)"
        )
    return 0


def _run(args: argparse.Namespace) -> int:
    """Infbench lines -> the gateway executor -> experiment_results/{model}/T=/n=/{stem}.jsonl."""
    urls = args.url or ([env_value("BASE_URL")] if env_value("BASE_URL") else [])
    if not urls:
        raise InputError("no endpoint: pass --url http://host:port or set BASE_URL")
    options = RunOptions(
        endpoints=ModelEndpoints(urls=urls),
        root=args.root,
        keys=api_keys_from_env(),
        executor=EXECUTOR_FLAGS.build(args),
        sampled_ids=load_sampled_ids(args.sampled_ids_file) if args.sampled_ids_file else None,
        recover_diffs=STAGE_FLAGS.given(args).get("workflow", {}).get("recover_diffs", False),
        selection=Selection.model_validate(STAGE_FLAGS.given(args).get("workflow", {}).get("selection", {})),
    )
    with cli_progress() as progress:
        summaries = run_matrix(args.dataset_name, args.model, args.run_id, options, progress=progress)
    for s in summaries:
        known = "" if s.config_known else " (model not in the table: default sampling)"
        t = s.totals
        print(
            f"{s.output_uri}: {t.succeeded} succeeded, {t.failed} failed, {t.already_done} already done, "
            f"{t.shrunk} shrunk for context, {t.harvested} recovered, {t.repaired} diffs repaired, "
            f"cost {t.cost:.4f}{known}"
        )
    return 1 if any(s.totals.failed for s in summaries) else 0


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
    flag = STAGE_FLAGS.add
    flag(p, "--dataset-name", "--dataset_name", field="dataset.source", help="bench JSONL")
    p.add_argument("--save-path", "--save_path", dest="save_path", required=True, help="infbench JSONL (as given)")
    flag(p, "--info-pct", "--info_pct", field="workflow.info_pct", help="history fraction")
    flag(p, "--pr-mes", field="workflow.use_pr_mes", help="the PR title/body in the requirement (--no-pr-mes: out)")
    flag(p, "--issue-mes", field="workflow.use_issue_mes", help="the issue text in the requirement (--no-issue-mes)")
    flag(p, "--use-bm25", field="workflow.use_bm25", help="BM25-retrieved context instead of the oracle files")
    flag(p, "--topn", field="workflow.topn", help="files retrieved by BM25")
    flag(p, "--repo-root", field="repositories.repo_root", help="folder of checkouts named owner__name or owner/name")
    p.add_argument("--cache-root", default=".", help="store root of the BM25 index cache (.cache/bm25 below it)")
    flag(p, "--templates", field="workflow.templates_dir", help="folder with full.txt, requirement_only.txt, ...")
    p.add_argument("--compat-save-path", action="store_true", help="rename --save-path as the original does")
    p.set_defaults(handler=_build_prompts)


def _add_run(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = commands.add_parser("run", help="run models on infbench files (seed run_api)")
    p.add_argument("--dataset_name", "--dataset-name", dest="dataset_name", nargs="+", default=["all"])
    p.add_argument("--model", nargs="+", required=True, help="model name(s)")
    p.add_argument("--run_id", "--run-id", dest="run_id", nargs="+", default=["0.2"], help="run id(s)")
    p.add_argument("--sampled_ids_file", "--sampled-ids-file", dest="sampled_ids_file", default=None)
    EXECUTOR_FLAGS.add(p, "--max_workers", "--max-workers", field="concurrency", help="requests in flight")
    EXECUTOR_FLAGS.add(p, "--timeout", field="timeout_seconds", help="seconds per request attempt")
    EXECUTOR_FLAGS.add(p, "--max-attempts", "--max_attempts", field="max_attempts", help="attempts per request")
    p.add_argument("--url", action="append", default=None, help="endpoint base URL (default: BASE_URL)")
    p.add_argument("--root", default=".", help="project root holding crawled_data/ and experiment_results/")
    STAGE_FLAGS.add(
        p, "--recover-diffs", field="workflow.recover_diffs", help="repair messy model diffs against the prompt's code"
    )
    add_selection_flags(STAGE_FLAGS, p, resampling=False)
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
