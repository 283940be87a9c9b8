"""Stage 3 (``proc_step2``): step-2 answers become samples, per-pass files, ``output.jsonl`` and predictions.

Each answer is processed in a worker (per-item time limit) into its ``samples/{custom_id}.jsonl``
record, written as soon as it is done; the record holds its row of the sample table (the patch checked
at the base commit and normalised). The aggregate files are then rebuilt, atomically, from every sample
file in ``--save_dir``: the samples folder is the stage's state, so reruns replace records and chunks run
with ``--start_file/--end_file`` add up, without duplicated lines. The rebuild writes the sample table
(``samples.jsonl``, failed passes included), ``selection.jsonl`` and, for the BugFixer, ``predictions.jsonl``
(the sample the selection strategy chose; default ``first-nonempty``) and ``predictions/sample_{k}.jsonl``.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from typing import IO

from patchline.core.custom_id import decode_pass_id
from patchline.core.datasets import SWEbenchInstance, selected_index
from patchline.core.errors import InputError
from patchline.core.fingerprint import check_answers_match
from patchline.core.jsonl import LineReport, dumps_line, iter_jsonl, iter_models
from patchline.core.layout import (
    ROLLOUT_OUTPUT,
    rollout_processed,
    rollout_processed_tests,
    rollout_step_file,
    sample_files,
)
from patchline.core.progress import NullProgress, Progress
from patchline.core.samples import SampleRecord
from patchline.core.spec import FIRST_NONEMPTY, RolloutStage, Selection
from patchline.core.store import ArtifactStore, open_artifact
from patchline.edits.normalize import Normalizer
from patchline.samples.outputs import SampleOutputs, SelectionCounts
from patchline.samples.selection import Strategy, resolve_strategy
from patchline.samples.table import sample_record
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
    FailureRecord,
    GroundTruth,
    ProcessedPatch,
    TestWriterSample,
)
from patchline.workflows.rollout.repofiles import RepoFiles
from patchline.workflows.rollout.samples import SampleWriter, iter_samples
from patchline.workflows.rollout.sources import FileSource, StructureNotFoundError
from patchline.workflows.rollout.step2 import Answer, instance_of, iter_answers, unknown_instance
from patchline.workflows.rollout.testwriter import TestWriterFailure, reproduction_from_answers

__all__ = ["STAGE", "Step3Item", "process_step3_item", "rebuild_aggregates", "run_step3"]


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


def _status(edits_found: int, patch: str) -> str:
    return "ok" if patch else ("no_edits" if not edits_found else "not_applied")


def _table_row(item: Step3Item, instance: SWEbenchInstance, files: RepoFiles, status: str, patch: str) -> SampleRecord:
    """The sample-table row of one pass: its patch checked against and normalised on the instance's files."""
    return sample_record(
        instance_id=instance.instance_id,
        sample=decode_pass_id(item.answer.custom_id, passk=declared_passk(item.config)).k,
        custom_id=item.answer.custom_id,
        status=status,
        model_patch=patch,
        read=files.read_text,
        normalizer=Normalizer(),
        facts=item.answer.facts,
    )


def _bugfixer_sample(item: Step3Item, instance: SWEbenchInstance) -> BugFixerSample:
    source = FileSource(item.config.repositories.structure_dir, item.config.repositories.repo_root)
    with source.open(instance.instance_id, instance.repo, instance.base_commit) as files:
        fix = fix_from_answer(item.answer.content, files)
        row = _table_row(item, instance, files, _status(fix.edits_found, fix.model_patch), fix.model_patch)
    processed = ProcessedPatch(
        model_name_or_path=item.model_name,
        instance_id=instance.instance_id,
        model_patch=fix.model_patch,
        raw_model_patch=fix.search_replace_text,
        original_file_content=fix.files.originals,
        edited_files=fix.files.paths,
        new_file_content=fix.files.new_contents,
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
        table=row,
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
        processed = made.processed(item.model_name, instance.instance_id)
        row = _table_row(item, instance, files, _status(made.edits_found, processed.test_patch), processed.test_patch)
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
        processed=processed,
        table=row,
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


def run_step3(config: RolloutStage, *, progress: Progress | None = None, hooks: bool = False) -> StageSummary:
    """Process the step-2 output into ``--save_dir``: samples, failures, then the aggregate files.

    Answers made for other requests than the run's request files in ``--save_dir`` (step 2's, and
    step 1's for the TestWriter's ``--step1_file``) are refused unless ``config.on_mismatch`` accepts them.
    ``hooks``: whether a ``module:function`` selection strategy may be imported here.
    """
    require(config, "input_file", "save_dir")
    strategy = resolve_strategy(config.workflow.strategy, config.workflow.selection, hooks=hooks)
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
    selection = Selected(strategy, config.workflow.strategy, config.model or DEFAULT_MODEL_NAME)
    summary.outputs = rebuild_aggregates(store, config.kind, passk=declared_passk(config), selection=selection)
    summary.outputs.append(store.uri(failures_name()))
    summary.notes.append(selection.counts.describe())
    summary.extra["bad_input_lines"] = len(report)
    return summary


@dataclass
class Selected:
    """How the rebuild chooses predictions: the strategy, its name, the fallback model name, and its counts."""

    strategy: Strategy
    name: str
    model_name: str
    counts: SelectionCounts = field(default_factory=SelectionCounts)


def _failed_rows(store: ArtifactStore, seen: set[str], passk: int | None) -> Iterator[SampleRecord]:
    """Rows for the passes that failed before they had a sample (their latest failure record)."""
    source = store.uri(failures_name())
    records = iter_jsonl(store.iter_lines(failures_name(), missing_ok=True), source=source)
    for _, failed in iter_models(records, FailureRecord, source=source):
        if failed.custom_id in seen:
            continue
        seen.add(failed.custom_id)
        decoded = decode_pass_id(failed.custom_id, passk=passk)
        status = f"failed: {failed.reason.value}"
        yield SampleRecord(instance_id=decoded.instance_id, sample=decoded.k, custom_id=failed.custom_id, status=status)


def _row_of(sample: BugFixerSample | TestWriterSample, k: int) -> SampleRecord:
    """A sample's table row (a sample file written before the table existed gets one without verdicts)."""
    if sample.table is not None:
        return sample.table
    patch = sample.model_patch if isinstance(sample, BugFixerSample) else sample.processed.test_patch
    return SampleRecord(
        instance_id=sample.instance_id, sample=k, custom_id=sample.custom_id, status="unchecked", model_patch=patch
    )


def rebuild_aggregates(
    store: ArtifactStore, kind: str, *, passk: int | None = None, selection: Selected | None = None
) -> list[str]:
    """Rewrite the per-pass files, ``output.jsonl``, the sample files and (BugFixer) predictions from ``samples/``."""
    per_pass: dict[int, IO[bytes]] = {}
    rows: dict[str, list[SampleRecord]] = {}
    name_of = rollout_processed if kind == "bugfixer" else rollout_processed_tests
    written: list[str] = []
    seen: set[str] = set()
    with ExitStack() as stack:
        output = stack.enter_context(store.atomic_writer(ROLLOUT_OUTPUT))
        for sample in iter_samples(store, kind):
            k = decode_pass_id(sample.custom_id, passk=passk).k
            if k not in per_pass:
                per_pass[k] = stack.enter_context(store.atomic_writer(name_of(k)))
                written.append(store.uri(name_of(k)))
            per_pass[k].write(dumps_line(sample.processed))
            output.write(dumps_line({"custom_id": sample.custom_id, "pass": k, **sample.processed.model_dump()}))
            rows.setdefault(sample.instance_id, []).append(_row_of(sample, k))
            seen.add(sample.custom_id)
    for row in _failed_rows(store, seen, passk):
        rows.setdefault(row.instance_id, []).append(row)
    written.append(store.uri(ROLLOUT_OUTPUT))
    written += _write_sample_files(store, kind, rows, selection)
    return written


def _write_sample_files(
    store: ArtifactStore, kind: str, rows: dict[str, list[SampleRecord]], selection: Selected | None
) -> list[str]:
    chosen = selection or Selected(
        resolve_strategy(FIRST_NONEMPTY, Selection(), hooks=False), FIRST_NONEMPTY, DEFAULT_MODEL_NAME
    )
    files = sample_files()
    outputs = SampleOutputs(
        store,
        files,
        strategy=chosen.strategy,
        strategy_name=chosen.name,
        model_name=chosen.model_name,
        predictions=kind == "bugfixer",
        model_of_sample=True,
    )
    with outputs:
        for instance_id in sorted(rows):
            outputs.write(instance_id, rows[instance_id])
        chosen.counts = outputs.finish(carry_over=False)
    names = [files.table, files.selection] + ([files.predictions] if kind == "bugfixer" else [])
    return [store.uri(name) for name in names]
