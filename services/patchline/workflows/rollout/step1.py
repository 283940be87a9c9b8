"""Stage 1 (``gen_step1``): one file-localisation request per instance and pass.

The prompt shows the issue and the repository tree (:mod:`patchline.workflows.rollout.tree`). Items
(one instance with all its passes) run through the bounded process pool, so a large dataset streams:
memory holds the in-flight items only.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from patchline.core.custom_id import encode_pass_id
from patchline.core.datasets import SWEbenchInstance, iter_selected
from patchline.core.errors import InputError
from patchline.core.fingerprint import body_settings
from patchline.core.progress import NullProgress, Progress
from patchline.core.spec import RolloutStage
from patchline.core.store import open_artifact
from patchline.workflows.rollout.common import (
    ItemResult,
    StageSummary,
    StageWriters,
    failure,
    failures_name,
    kind_of,
    pass_temperature,
    process_items,
    save_store,
    step_template,
)
from patchline.workflows.rollout.config import build_request, id_range, problem_statement, require
from patchline.workflows.rollout.outputs import KeyedRewrite, check_kept_requests
from patchline.workflows.rollout.records import FailureReason
from patchline.workflows.rollout.sources import FileSource, StructureNotFoundError
from patchline.workflows.templates import PromptTemplate

__all__ = ["STAGE", "Step1Item", "build_step1_requests", "request_settings", "run_step1", "step1_prompt"]

STAGE = "gen_step1"


@dataclass(frozen=True)
class Step1Item:
    """One instance and the custom_ids of its passes to write (picklable, for worker processes)."""

    config: RolloutStage
    template: PromptTemplate
    instance_id: str
    repo: str
    base_commit: str
    problem_statement: str
    custom_ids: tuple[str, ...]


def step1_prompt(template: PromptTemplate, problem_statement: str, tree: str) -> str:
    """The step-1 prompt text."""
    return template.render(problem_statement=problem_statement, structure=tree).strip()


def build_step1_requests(item: Step1Item) -> ItemResult:
    """The request line of each pass of an item, or failures when its files are missing (runs in a worker)."""
    config = item.config
    source = FileSource(config.repositories.structure_dir, config.repositories.repo_root)
    try:
        with source.open(item.instance_id, item.repo, item.base_commit) as files:
            tree = files.tree(show_tests=kind_of(config).show_tests)
    except (StructureNotFoundError, InputError) as exc:
        return ItemResult(
            failures=[failure(c, FailureReason.STRUCTURE_NOT_FOUND, STAGE, str(exc)) for c in item.custom_ids]
        )
    prompt = step1_prompt(item.template, problem_statement(config, item.problem_statement), tree)
    result = ItemResult()
    for custom_id in item.custom_ids:
        temperature = pass_temperature(config, custom_id, passk=config.sampling.samples)
        request = build_request(custom_id, prompt, temperature=temperature, settings=config)
        result.lines.append((custom_id, (request.model_dump_json() + "\n").encode("utf-8")))
    return result


def _pass_ids(instance_id: str, passk: int) -> tuple[str, ...]:
    return tuple(encode_pass_id(instance_id, k, passk) for k in range(passk))


def _run_ids(config: RolloutStage) -> dict[str, tuple[str, ...]]:
    """instance_id -> the custom_ids this run writes for it: every pass, within ``--start_file/--end_file``."""
    passk = config.sampling.samples
    passes = {inst.instance_id: _pass_ids(inst.instance_id, passk) for inst in iter_selected(config.dataset)}
    selected = id_range(config).select(cid for ids in passes.values() for cid in ids)
    chosen = {iid: tuple(c for c in ids if c in selected) for iid, ids in passes.items()}
    return {iid: ids for iid, ids in chosen.items() if ids}


def _items(config: RolloutStage, template: PromptTemplate, selected: dict[str, tuple[str, ...]]) -> Iterator[Step1Item]:
    for instance in iter_selected(config.dataset):
        ids = selected.get(instance.instance_id)
        if ids:
            yield _item(config, template, instance, ids)


def request_settings(config: RolloutStage, custom_id: str) -> dict[str, Any]:
    """The body (without messages) this config writes for ``custom_id``: what an existing line is compared by."""
    temperature = pass_temperature(config, custom_id, passk=config.sampling.samples)
    return body_settings(build_request(custom_id, "", temperature=temperature, settings=config).body)


def _item(
    config: RolloutStage, template: PromptTemplate, instance: SWEbenchInstance, ids: tuple[str, ...]
) -> Step1Item:
    return Step1Item(
        config=config,
        template=template,
        instance_id=instance.instance_id,
        repo=instance.repo,
        base_commit=instance.base_commit,
        problem_statement=instance.problem_statement,
        custom_ids=ids,
    )


def run_step1(config: RolloutStage, *, progress: Progress | None = None) -> StageSummary:
    """Write the step-1 request file (``--output_file``); instances without files become failure records.

    Lines of the file this run does not write are kept only if they are this run's kind of request
    (:func:`check_kept_requests`; ``config.on_mismatch`` says otherwise).
    """
    require(config, "output_file")
    progress = progress or NullProgress()
    template = step_template(config, 1)
    out_store, out_name = open_artifact(config.output_file or "")
    selected = _run_ids(config)
    check_kept_requests(
        out_store,
        out_name,
        this_run={cid for ids in selected.values() for cid in ids},
        covers_all=id_range(config).is_all,
        expected=lambda custom_id: request_settings(config, custom_id),
        policy=config.on_mismatch,
    )
    fail_store = save_store(config)
    summary = StageSummary(STAGE, outputs=[out_store.uri(out_name), fail_store.uri(failures_name())], unit="instances")
    with KeyedRewrite(out_store, out_name) as requests, KeyedRewrite(fail_store, failures_name()) as failures:
        writers = StageWriters(summary, requests, failures, progress)
        process_items(
            build_step1_requests, _items(config, template, selected), config.workflow, writers, total=len(selected)
        )
    return summary
