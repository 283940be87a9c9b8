"""Stage 1 (``gen_step1``): one file-localisation request per instance and pass.

The prompt shows the issue and the repository tree (:mod:`patchline.workflows.rollout.tree`). Items
(one instance with all its passes) run through the bounded process pool, so a large dataset streams:
memory holds the in-flight items only.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from patchline.core.custom_id import encode_pass_id
from patchline.core.datasets import SWEbenchInstance, iter_selected
from patchline.core.errors import InputError
from patchline.core.progress import NullProgress, Progress
from patchline.core.spec import RolloutStage
from patchline.core.store import open_artifact
from patchline.workflows.parallel import imap_bounded
from patchline.workflows.rollout.common import (
    ItemResult,
    StageSummary,
    drain,
    failure,
    failures_name,
    kind_of,
    pass_temperature,
    save_store,
    step_template,
)
from patchline.workflows.rollout.config import build_request, id_range, problem_statement, require
from patchline.workflows.rollout.outputs import KeyedRewrite
from patchline.workflows.rollout.records import FailureReason
from patchline.workflows.rollout.sources import FileSource, StructureNotFoundError
from patchline.workflows.templates import PromptTemplate

__all__ = ["STAGE", "Step1Item", "build_step1_requests", "run_step1", "step1_prompt"]

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


def _items(config: RolloutStage, template: PromptTemplate) -> Iterator[Step1Item]:
    passk = config.sampling.samples
    selected: set[str] | None = None
    wanted = id_range(config)
    if not wanted.is_all:
        everything = (cid for inst in iter_selected(config.dataset) for cid in _pass_ids(inst.instance_id, passk))
        selected = wanted.select(everything)
    for instance in iter_selected(config.dataset):
        ids = _pass_ids(instance.instance_id, passk)
        if selected is not None:
            ids = tuple(c for c in ids if c in selected)
        if ids:
            yield _item(config, template, instance, ids)


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
    """Write the step-1 request file (``--output_file``); instances without files become failure records."""
    require(config, "output_file")
    progress = progress or NullProgress()
    template = step_template(config, 1)
    out_store, out_name = open_artifact(config.output_file or "")
    fail_store = save_store(config)
    summary = StageSummary(STAGE, outputs=[out_store.uri(out_name), fail_store.uri(failures_name())])
    progress.start(STAGE)
    with KeyedRewrite(out_store, out_name) as requests, KeyedRewrite(fail_store, failures_name()) as failures:
        results = imap_bounded(
            build_step1_requests,
            _items(config, template),
            workers=config.workflow.num_workers,
            timeout=config.workflow.item_timeout_seconds,
        )
        drain(results, summary=summary, outputs=requests, failures=failures, progress=progress)
    progress.finish()
    return summary
