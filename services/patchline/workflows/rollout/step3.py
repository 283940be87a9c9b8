"""Stage 3 (``proc_step2``): step-2 answers become samples, per-pass files, ``output.jsonl`` and predictions.

Each answer is processed in a worker (per-item time limit) into its ``samples/{custom_id}.jsonl``
record, written as soon as it is done. The aggregate files are then rebuilt, atomically, from every
sample file in ``--save_dir``: the samples folder is the stage's state, so reruns replace records and
chunks run with ``--start_file/--end_file`` add up, without duplicated lines.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from typing import IO

from patchline.core.custom_id import decode_pass_id
from patchline.core.datasets import SWEbenchInstance, selected_index
from patchline.core.errors import InputError
from patchline.core.fingerprint import check_answers_match
from patchline.core.jsonl import LineReport, dumps_line
from patchline.core.layout import (
    PREDICTIONS,
    rollout_output,
    rollout_processed,
    rollout_processed_tests,
    rollout_step_file,
)
from patchline.core.predictions import Prediction
from patchline.core.progress import NullProgress, Progress
from patchline.core.spec import RolloutStage
from patchline.core.store import ArtifactStore, open_artifact
from patchline.workflows.rollout.bugfixer import fix_from_answer
from patchline.workflows.rollout.common import (
    ItemResult,
    StageSummary,
    StageWriters,
    failure,
    failures_name,
    process_items,
)
from patchline.workflows.rollout.config import declared_passk, require
from patchline.workflows.rollout.outputs import KeyedRewrite
from patchline.workflows.rollout.records import (
    BugFixerSample,
    FailureReason,
    GroundTruth,
    ProcessedPatch,
    TestWriterSample,
)
from patchline.workflows.rollout.samples import SampleWriter, iter_samples
from patchline.workflows.rollout.sources import FileSource, StructureNotFoundError
from patchline.workflows.rollout.step2 import Answer, instance_of, iter_answers, unknown_instance
from patchline.workflows.rollout.testwriter import TestWriterFailure, reproduction_from_answers

__all__ = ["STAGE", "Step3Item", "process_step3_item", "rebuild_aggregates", "run_step3"]

log = logging.getLogger(__name__)

STAGE = "proc_step2"
DEFAULT_MODEL_NAME = "patchline"


@dataclass(frozen=True)
class Step3Item:
    """One step-2 answer (and, for the TestWriter, its step-1 answer) to process."""

    config: RolloutStage
    answer: Answer
    step1: Answer | None
    instance: SWEbenchInstance | None
    model_name: str

    @property
    def custom_ids(self) -> tuple[str, ...]:
        """The custom_id this item stands for."""
        return (self.answer.custom_id,)


def _gold_files(patch: str) -> list[str]:
    return list(dict.fromkeys(line[6:].strip() for line in patch.splitlines() if line.startswith("+++ b/")))


def _bugfixer_sample(item: Step3Item, instance: SWEbenchInstance) -> BugFixerSample:
    source = FileSource(item.config.repositories.structure_dir, item.config.repositories.repo_root)
    with source.open(instance.instance_id, instance.repo, instance.base_commit) as files:
        fix = fix_from_answer(item.answer.content, files)
    processed = ProcessedPatch(
        model_name_or_path=item.model_name,
        instance_id=instance.instance_id,
        model_patch=fix.model_patch,
        raw_model_patch=fix.search_replace_text,
        original_file_content=fix.original_file_content,
        edited_files=fix.edited_files,
        new_file_content=fix.new_file_content,
    )
    return BugFixerSample(
        instance_id=instance.instance_id,
        custom_id=item.answer.custom_id,
        model_patch=fix.model_patch,
        search_replace_text=fix.search_replace_text,
        raw_output=item.answer.content,
        gt_results=GroundTruth(
            instance_id=instance.instance_id, found_files=_gold_files(instance.patch), gt_patch=instance.patch
        ),
        edits_found=fix.edits_found,
        edits_applied=fix.edits_applied,
        processed=processed,
    )


def _testwriter_sample(item: Step3Item, instance: SWEbenchInstance) -> TestWriterSample:
    custom_id = item.answer.custom_id
    if item.step1 is None:
        raise TestWriterFailure(FailureReason.STEP1_ANSWER_MISSING, "no step-1 answer in --step1_file")
    if not item.step1.ok:
        raise TestWriterFailure(FailureReason.STEP1_REQUEST_FAILED, item.step1.status)
    source = FileSource(item.config.repositories.structure_dir, item.config.repositories.repo_root)
    with source.open(instance.instance_id, instance.repo, instance.base_commit) as files:
        made = reproduction_from_answers(item.step1.content, item.answer.content, files)
    return TestWriterSample(
        custom_id=custom_id,
        instance_id=instance.instance_id,
        raw_answer=item.answer.content,
        search_replace_text=made.search_replace_text,
        model_found_files=made.model_found_files,
        found_files=[made.target_file],
        target_file=made.target_file,
        edits_found=made.edits_found,
        edits_applied=made.edits_applied,
        processed=made.processed(item.model_name, instance.instance_id),
    )


def process_step3_item(item: Step3Item) -> ItemResult:
    """The sample record of one answer, or its failure (runs in a worker)."""
    custom_id = item.answer.custom_id
    result = ItemResult(reasoning_only=int(item.answer.reasoning_only))
    if item.instance is None:
        result.failures.append(unknown_instance(custom_id, declared_passk(item.config), STAGE))
        return result
    if not item.answer.ok:
        result.failures.append(failure(custom_id, FailureReason.STEP2_REQUEST_FAILED, STAGE, item.answer.status))
        return result
    try:
        if item.config.kind == "bugfixer":
            sample: BugFixerSample | TestWriterSample = _bugfixer_sample(item, item.instance)
        else:
            sample = _testwriter_sample(item, item.instance)
    except (StructureNotFoundError, InputError) as exc:
        result.failures.append(failure(custom_id, FailureReason.STRUCTURE_NOT_FOUND, STAGE, str(exc)))
        return result
    except TestWriterFailure as exc:
        result.failures.append(failure(custom_id, exc.reason, STAGE, exc.details, **exc.extra))
        return result
    result.lines.append((custom_id, dumps_line(sample)))
    result.without_edits = int(sample.edits_found == 0)
    return result


def _step1_answers(config: RolloutStage, wanted: set[str], report: LineReport) -> dict[str, Answer]:
    if config.kind != "testwriter":
        return {}
    require(config, "step1_file")
    store, name = open_artifact(config.step1_file or "")
    return {a.custom_id: a for a in iter_answers(store, name, config, report=report) if a.custom_id in wanted}


def _items(config: RolloutStage, answers: Iterable[Answer], report: LineReport) -> Iterator[Step3Item]:
    index = selected_index(config.dataset)
    if config.kind == "testwriter":
        # The step-1 answers of the selected ids are needed per item: file lists, small by nature.
        selected = list(answers)
        step1 = _step1_answers(config, {a.custom_id for a in selected}, report)
        answers = selected
    else:
        step1 = {}
    for answer in answers:
        yield Step3Item(
            config=config,
            answer=answer,
            step1=step1.get(answer.custom_id),
            instance=instance_of(index, answer.custom_id, declared_passk(config)),
            model_name=answer.model or config.model or DEFAULT_MODEL_NAME,
        )


def run_step3(config: RolloutStage, *, progress: Progress | None = None) -> StageSummary:
    """Process the step-2 output into ``--save_dir``: samples, failures, then the aggregate files.

    Answers made for other requests than the run's request files in ``--save_dir`` (step 2's, and
    step 1's for the TestWriter's ``--step1_file``) are refused unless ``config.on_mismatch`` accepts them.
    """
    require(config, "input_file", "save_dir")
    progress = progress or NullProgress()
    store = ArtifactStore(config.save_dir or "")
    summary = StageSummary(STAGE)
    report = LineReport()
    in_store, in_name = open_artifact(config.input_file or "")
    check_answers_match(in_store, in_name, store, rollout_step_file("requests", 2), policy=config.on_mismatch)
    if config.kind == "testwriter" and config.step1_file:
        step1_store, step1_name = open_artifact(config.step1_file)
        check_answers_match(step1_store, step1_name, store, rollout_step_file("requests", 1), policy=config.on_mismatch)
    answers = iter_answers(in_store, in_name, config, report=report)
    with SampleWriter(store) as samples, KeyedRewrite(store, failures_name()) as failures:
        writers = StageWriters(summary, samples, failures, progress)
        process_items(process_step3_item, _items(config, answers, report), config.workflow, writers, total=len(answers))
    summary.outputs = rebuild_aggregates(store, config.kind, passk=declared_passk(config))
    summary.outputs.append(store.uri(failures_name()))
    summary.extra["bad_input_lines"] = len(report)
    return summary


def rebuild_aggregates(store: ArtifactStore, kind: str, *, passk: int | None = None) -> list[str]:
    """Rewrite the per-pass files, ``output.jsonl`` and ``predictions.jsonl`` from ``samples/``."""
    per_pass: dict[int, IO[bytes]] = {}
    best: dict[str, tuple[int, Prediction]] = {}
    name_of = rollout_processed if kind == "bugfixer" else rollout_processed_tests
    written: list[str] = []
    with ExitStack() as stack:
        output = stack.enter_context(store.atomic_writer(rollout_output()))
        for sample in iter_samples(store, kind):
            k = decode_pass_id(sample.custom_id, passk=passk).k
            if k not in per_pass:
                per_pass[k] = stack.enter_context(store.atomic_writer(name_of(k)))
                written.append(store.uri(name_of(k)))
            per_pass[k].write(dumps_line(sample.processed))
            output.write(dumps_line({"custom_id": sample.custom_id, "pass": k, **sample.processed.model_dump()}))
            if isinstance(sample, BugFixerSample):
                _keep_best(best, k, sample)
    written.append(store.uri(rollout_output()))
    if kind == "bugfixer":
        with store.atomic_writer(PREDICTIONS) as out:
            for _, prediction in sorted(best.values(), key=lambda pair: pair[1].instance_id):
                out.write(dumps_line(prediction))
        written.append(store.uri(PREDICTIONS))
    return written


def _keep_best(best: dict[str, tuple[int, Prediction]], k: int, sample: BugFixerSample) -> None:
    """Per instance: the lowest pass with a non-empty patch, else the lowest pass."""
    current = best.get(sample.instance_id)
    rank = (0 if sample.model_patch else 1, k)
    if current is not None:
        current_rank = (0 if current[1].model_patch else 1, current[0])
        if current_rank <= rank:
            return
    prediction = Prediction(
        instance_id=sample.instance_id,
        model_name_or_path=sample.processed.model_name_or_path,
        model_patch=sample.model_patch,
    )
    best[sample.instance_id] = (k, prediction)
