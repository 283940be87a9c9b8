"""Build an infbench file from a bench file (seed ``prompt_builder``): split, context, requirement, prompt.

The output is appended line by line and resumed by instance id. An instance that cannot be built (a step
that does not apply, no files to read, a BM25 failure) is reported in the summary and skipped; the
build goes on. Data that lacks what a setting needs is refused before any prompt is built instead: with
``useBm25`` every selected line needs its repository at its ``base_commit`` (:func:`check_bm25_sources`).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from patchline.core.datasets import BenchLine, iter_bench
from patchline.core.errors import InputError, MalformedLineError, PatchlineError
from patchline.core.jsonl import ErrorSink, iter_jsonl
from patchline.core.progress import NullProgress, Progress
from patchline.core.repos import GitSnapshot
from patchline.core.spec import Dataset, EditBenchStage, EditBenchWorkflow
from patchline.core.store import ArtifactStore, open_artifact
from patchline.retrieval import IndexCache
from patchline.workflows.editbench.context import (
    BM25Retriever,
    OriginalFiles,
    Retriever,
    bm25_context,
    find_checkout,
    open_repository,
    oracle_context,
)
from patchline.workflows.editbench.prompt import PromptTemplates, render_prompt
from patchline.workflows.editbench.requirement import requirement_text
from patchline.workflows.editbench.split import split_history

__all__ = ["BuildSummary", "build_infbench", "build_instance", "check_bm25_sources", "compat_save_path"]

log = logging.getLogger(__name__)


@dataclass
class BuildSummary:
    """What a build did."""

    save_path: str
    written: int = 0
    already_there: int = 0
    failed: list[tuple[str, str]] = field(default_factory=list)
    bad_lines: int = 0


def compat_save_path(save_path: str, workflow: EditBenchWorkflow) -> str:
    """The original's renaming of ``--save-path`` (``--compat-save-path``), quirks included.

    It inserts ``_{info_pct}``, then ``_body`` and ``_issue`` both when PR text is included (the issue
    flag is not looked at), then ``_bm25`` and ``_{topn}`` with BM25, in front of every ``.jsonl``.
    """
    pr = workflow.use_pr_mes
    suffix = f"_{workflow.info_pct!s}{'_body' if pr else ''}{'_issue' if pr else ''}"
    suffix += (
        f"{'_bm25' if workflow.use_bm25 else ''}{f'_{workflow.topn}' if workflow.use_bm25 and workflow.topn else ''}"
    )
    return save_path.replace(".jsonl", f"{suffix}.jsonl")


def build_instance(
    line: BenchLine, settings: EditBenchStage, templates: PromptTemplates, retriever: Retriever
) -> dict[str, Any]:
    """The infbench record of one bench line; raises a PatchlineError when it cannot be built."""
    workflow = settings.workflow
    repo = open_repository(line, settings.repositories.repo_root)
    try:
        load = OriginalFiles(line, repo)
        split = split_history(line.work_patch_list, workflow.info_pct, load, files_work=line.files_work)
        requirement = requirement_text(
            title=line.title_mes,
            body=line.body_mes,
            issues=line.issues_mes,
            include_pr=workflow.use_pr_mes,
            include_issue=workflow.use_issue_mes,
        )
        if workflow.use_bm25:
            files = bm25_context(split, repo=repo, retriever=retriever, topn=workflow.topn, fallback_query=requirement)
        else:
            files = oracle_context(split, line.files_work)
        prompt = render_prompt(templates, requirement=requirement, files=files, pre_edits=split.pre_edits)
    finally:
        if repo is not None:
            repo.close()
    record = line.model_dump(mode="json")
    record.update(
        prompt=prompt,
        split_idx=split.split_idx,
        pre_edits=split.pre_edits,
        ground_truth=split.ground_truth,
        num_changes=len(line.work_patch_list),
    )
    return record


def _existing_ids(store: ArtifactStore, name: str) -> set[str]:
    ids: set[str] = set()
    for numbered in iter_jsonl(store.iter_lines(name, missing_ok=True), source=store.uri(name)):
        value = numbered.record.get("instance_id")
        if isinstance(value, str):
            ids.add(value)
    return ids


def _lines(dataset: Dataset, on_error: ErrorSink) -> Iterator[BenchLine]:
    wanted, chosen = set(dataset.instances), 0
    for line in iter_bench(dataset.source, on_error=on_error):
        if wanted and line.instance_id not in wanted:
            continue
        if dataset.limit is not None and chosen >= dataset.limit:
            return
        chosen += 1
        yield line


def _missing_checkout(line: BenchLine, repo_root: str | None) -> str | None:
    """Why ``line`` has no repository at its base commit below ``repo_root`` (None: it has one)."""
    if not line.base_commit:
        return "it has no base_commit"
    if not repo_root:
        return "repoRoot (--repo-root) is not set"
    try:
        checkout = find_checkout(repo_root, line.repo)
        if checkout is None:
            return f"no checkout of {line.repo} below {repo_root} (as owner__name, owner/name or name)"
        GitSnapshot(checkout, line.base_commit).close()  # resolves the commit: one git call, no reads
    except InputError as exc:
        return str(exc)
    return None


def check_bm25_sources(settings: EditBenchStage) -> None:
    """With ``useBm25``, refuse data without the repository of every selected line at its ``base_commit``.

    BM25 ranks the files of the repository at the commit the history starts from; without it every instance
    would fail one by one. Raises :class:`InputError` naming the first such instance and the fix.
    """
    if not settings.workflow.use_bm25:
        return
    repo_root = settings.repositories.repo_root
    first: tuple[str, str] | None = None
    lacking = total = 0
    for line in _lines(settings.dataset, lambda _: None):  # bad lines are reported by the build itself
        total += 1
        reason = _missing_checkout(line, repo_root)
        if reason is not None:
            lacking += 1
            first = first or (line.instance_id, reason)
    if first is not None:
        raise InputError(
            f"{settings.dataset.source}: useBm25 needs each instance's repository at its base_commit, and "
            f"{lacking} of {total} selected instances have none (first: {first[0]}: {first[1]}); give the bench "
            "lines a base_commit and clone each repository below repoRoot as owner__name, or set useBm25: false"
        )


def build_infbench(
    settings: EditBenchStage,
    save_path: str,
    *,
    retriever: Retriever | None = None,
    cache_root: str | None = None,
    progress: Progress | None = None,
) -> BuildSummary:
    """Append the infbench record of every selected bench line not yet in ``save_path``; return the summary.

    BM25 context comes from ``retriever`` (the Retrieval service when stages run as services), else from
    indexes built here and cached below ``cache_root``. Data that lacks what BM25 needs is refused first
    (:func:`check_bm25_sources`).
    """
    check_bm25_sources(settings)
    progress = progress or NullProgress()
    templates = PromptTemplates.load(settings.workflow.templates_dir)
    if retriever is None:
        cache = IndexCache(ArtifactStore(cache_root)) if settings.workflow.use_bm25 and cache_root else None
        retriever = BM25Retriever(cache=cache)
    store, name = open_artifact(save_path)
    summary = BuildSummary(save_path=store.uri(name))
    done = _existing_ids(store, name)

    def bad(error: MalformedLineError) -> None:
        summary.bad_lines += 1
        log.warning("skipping a bad bench line: %s", error)

    progress.start("building prompts")
    appender = store.appender(name)
    try:
        for line in _lines(settings.dataset, bad):
            if line.instance_id in done:
                summary.already_there += 1
                progress.advance(skipped=1)
                continue
            try:
                record = build_instance(line, settings, templates, retriever)
            except PatchlineError as exc:
                summary.failed.append((line.instance_id, str(exc)))
                log.warning("%s: skipped: %s", line.instance_id, exc)
                progress.advance(failed=1)
                continue
            appender.write_record(record)
            done.add(line.instance_id)
            summary.written += 1
            progress.advance()
    finally:
        appender.close()
        progress.finish()
    return summary
