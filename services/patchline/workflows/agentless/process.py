"""``--process_batch``: responses turned into ``output.jsonl``, per-sample files, the sample table, predictions.

Streaming and bounded: the response file is indexed by byte offset (:mod:`.responses`), instances are
processed in worker processes (``--num_threads``) through a bounded map, and each result is written
as soon as it arrives. Every output is written atomically; records of instances that this run did
not process are carried over from the previous files, so a rerun replaces records by instance_id and
never duplicates them. Each sample is a row of ``samples.jsonl``; ``predictions.jsonl`` holds the sample
the selection strategy chose (default ``agentless-majority``, the original's rerank) and
``selection.jsonl`` says why; with ``resample_invalid`` the next round's requests are written
(:mod:`.resample`).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from patchline.core import layout
from patchline.core.datasets import SWEbenchInstance, selected_index
from patchline.core.errors import InputError, PatchlineError, PreconditionError
from patchline.core.fingerprint import check_answers_match
from patchline.core.jsonl import LineReport
from patchline.core.progress import NullProgress, Progress
from patchline.core.spec import AgentlessStage
from patchline.core.store import ArtifactStore, open_artifact
from patchline.samples.outputs import SampleOutputs, SelectionCounts
from patchline.samples.selection import resolve_strategy
from patchline.workflows.agentless.instance import InstanceOutcome, process_instance
from patchline.workflows.agentless.outputs import OutputWriters
from patchline.workflows.agentless.records import (
    AGENTLESS_MODEL_NAME,
    EditLocsCount,
    LocRecord,
    SampleStatus,
    iter_loc_records,
)
from patchline.workflows.agentless.requests import write_run_files
from patchline.workflows.agentless.resample import ResampleReport, ResampleWriter, existing_rounds, resample_state
from patchline.workflows.agentless.responses import ResponseIndex, SampleAnswer
from patchline.workflows.agentless.sources import RepoSource
from patchline.workflows.parallel import ItemFailure, imap_bounded

__all__ = ["InstanceJob", "ProcessSummary", "process_responses"]


@dataclass(frozen=True, slots=True)
class InstanceJob:
    """What a worker needs to process one instance: its loc record, dataset row and answers."""

    loc: LocRecord
    instance: SWEbenchInstance
    settings: AgentlessStage
    answers: dict[int, SampleAnswer]
    resample_round: int | None = None


@dataclass(slots=True)
class ProcessSummary:
    """Counts of one ``--process_batch`` run (per sample status, per instance trouble)."""

    output_folder: str = ""
    instances: int = 0
    samples: int = 0
    patches: int = 0
    statuses: dict[str, int] = field(default_factory=dict)
    lenient_patches: int = 0
    leniency: dict[str, int] = field(default_factory=dict)
    dropped_edits: int = 0
    failed_instances: dict[str, str] = field(default_factory=dict)
    not_in_dataset: list[str] = field(default_factory=list)
    not_selected: list[str] = field(default_factory=list)  # left out by dataset.instances / dataset.limit
    response_lines: int = 0
    bad_lines: int = 0
    foreign_ids: int = 0
    predictions: int = 0
    edit_locs: EditLocsCount = field(default_factory=EditLocsCount)
    selection: SelectionCounts = field(default_factory=SelectionCounts)
    resample: ResampleReport = field(default_factory=ResampleReport)
    batch_output: str = ""

    def add(self, outcome: InstanceOutcome) -> None:
        """Count one processed instance."""
        self.instances += 1
        for row in outcome.samples:  # every sample of the table, resampled ones included
            self.samples += 1
            self.statuses[row.status] = self.statuses.get(row.status, 0) + 1
            self.patches += 1 if row.model_patch else 0
        for record in outcome.processed:
            self.lenient_patches += 1 if record.model_patch and record.leniency else 0
            for label in record.leniency:
                self.leniency[label] = self.leniency.get(label, 0) + 1
        self.dropped_edits += outcome.dropped_edits
        if outcome.failure:
            self.failed_instances[outcome.instance_id] = outcome.failure

    def describe(self) -> list[str]:
        """Human-readable summary lines."""
        statuses = ", ".join(f"{k}={v}" for k, v in sorted(self.statuses.items()))
        lines = [
            f"output folder: {self.output_folder}",
            f"response lines: {self.response_lines}; instances: {self.instances}; samples: {self.samples}",
            f"patches (non-empty model_patch): {self.patches}; predictions: {self.predictions}",
            f"sample status: {statuses or '-'}",
            f"patches only patchline's leniency could read: {self.lenient_patches}"
            + (f" ({', '.join(f'{k}={v}' for k, v in sorted(self.leniency.items()))})" if self.leniency else ""),
            f"edits dropped (file not in the prompt, unsafe or missing path): {self.dropped_edits}",
        ]
        lines += [f"instance failed: {iid}: {why}" for iid, why in sorted(self.failed_instances.items())[:20]]
        if self.not_in_dataset:
            lines.append(f"not in the dataset: {len(self.not_in_dataset)}: {', '.join(self.not_in_dataset[:10])}")
        if self.not_selected:
            shown = ", ".join(self.not_selected[:10])
            lines.append(f"not selected (dataset.instances / dataset.limit): {len(self.not_selected)}: {shown}")
        lines += self.edit_locs.describe()
        lines.append(self.selection.describe())
        lines += self.resample.describe(self.batch_output)
        if self.bad_lines or self.foreign_ids:
            lines.append(f"bad lines skipped: {self.bad_lines}; custom_ids not of the form id|i: {self.foreign_ids}")
        return lines

    def nothing_done(self, batch_output: str) -> PatchlineError | None:
        """Why this run made nothing of the answers (None when it did), as the error to exit with."""
        if not self.response_lines:
            return InputError(f"{batch_output}: no response line to process (the file is empty)")
        if not self.instances and self.not_selected and not self.not_in_dataset:
            return InputError(
                f"none of the loc file's instances is selected by dataset.instances / dataset.limit "
                f"({len(self.not_selected)} left out)"
            )
        if not self.instances:
            return InputError(f"none of the loc file's instances is in the dataset ({len(self.not_in_dataset)} not)")
        answered = self.samples - self.statuses.get(SampleStatus.NOT_REQUESTED, 0)
        answered -= self.statuses.get(SampleStatus.MISSING_RESPONSE, 0)
        if answered and not self.patches and self.statuses.get(SampleStatus.NO_EDITS, 0) == answered:
            return PreconditionError(
                f"none of the {answered} answers in {batch_output} holds a SEARCH/REPLACE edit: is it the response "
                "file of these repair requests?"
            )
        return None


def _run_instance(job: InstanceJob) -> InstanceOutcome:
    """Worker entry point (module level, so it can be sent to a process)."""
    return process_instance(job.loc, job.instance, job.settings, job.answers, resample_round=job.resample_round)


def _item_failure(job: InstanceJob, failure: ItemFailure[InstanceJob], settings: AgentlessStage) -> InstanceOutcome:
    """The records of an instance whose processing ran out of time or raised: every sample says which."""
    status = SampleStatus.TIMEOUT if failure.kind == "timeout" else SampleStatus.FAILED
    return InstanceOutcome.failed(job.loc.instance_id, settings, f"{failure.kind}: {failure.message}", status)


def _jobs(
    locs: list[LocRecord],
    index: dict[str, SWEbenchInstance],
    responses: ResponseIndex,
    settings: AgentlessStage,
    summary: ProcessSummary,
    resample_round: int | None,
) -> Iterator[InstanceJob]:
    for loc in locs:
        instance = index.get(loc.instance_id)
        if instance is None:
            reason = settings.dataset.missing_reason(loc.instance_id)
            (summary.not_selected if reason == "not_selected" else summary.not_in_dataset).append(loc.instance_id)
            continue
        yield InstanceJob(loc, instance, settings, responses.answers(loc.instance_id), resample_round)


def process_responses(
    settings: AgentlessStage,
    output_folder: str,
    batch_output: str,
    *,
    progress: Progress | None = None,
    hooks: bool = False,
) -> ProcessSummary:
    """Process every loc instance's answers from ``batch_output`` into the output folder's files.

    When the output folder holds the run's ``requests-repair.jsonl``, answers made for other requests
    (another run's response file) are refused unless ``on_mismatch`` accepts them. ``hooks``: whether a
    ``module:function`` selection strategy may be imported here (the user's own process).
    """
    progress = progress or NullProgress()
    RepoSource.of(settings).check()
    strategy_name = settings.workflow.strategy
    strategy = resolve_strategy(strategy_name, settings.workflow.selection, hooks=hooks)
    store = ArtifactStore(output_folder)
    answers_store, answers_name = open_artifact(batch_output)
    check_answers_match(
        answers_store,
        answers_name,
        store,
        layout.AGENTLESS_REQUESTS,
        policy=settings.on_mismatch,
        more_requests=list(existing_rounds(store)),
    )
    report = LineReport()
    loc_store, loc_name = open_artifact(settings.workflow.loc_file)
    locs = list({loc.instance_id: loc for loc in iter_loc_records(loc_store, loc_name, on_error=report)}.values())
    write_run_files(settings, store, locs)
    index = selected_index(settings.dataset)
    summary = ProcessSummary(output_folder=store.root, edit_locs=EditLocsCount.of(locs), batch_output=batch_output)
    summary.edit_locs.warn(loc_store.uri(loc_name))
    responses = ResponseIndex.open(batch_output, max_answer_bytes=settings.workflow.max_answer_bytes)
    sample_outputs = SampleOutputs(
        store, layout.sample_files(), strategy=strategy, strategy_name=strategy_name, model_name=AGENTLESS_MODEL_NAME
    )
    with responses, OutputWriters(store, settings) as writers, sample_outputs:
        summary.response_lines, summary.foreign_ids = responses.lines, responses.foreign_ids
        resampler = ResampleWriter(store, settings, resample_state(store, settings, responses))
        progress.start("process_batch", total=len(locs))
        jobs = _jobs(locs, index, responses, settings, summary, resampler.round)
        workers = max(settings.workflow.num_threads, 1)
        results = imap_bounded(
            _run_instance,
            jobs,
            workers=workers,
            timeout=settings.workflow.item_timeout_seconds,
            max_in_flight=2 * workers,
        )
        for job, outcome in results:
            if isinstance(outcome, ItemFailure):
                outcome = _item_failure(job, outcome, settings)
            writers.write(outcome)
            sample_outputs.write(outcome.instance_id, outcome.samples)
            resampler.add(outcome)
            summary.add(outcome)
            progress.advance(1, patches=sum(1 for r in outcome.processed if r.model_patch))
        writers.finish()
        summary.selection = sample_outputs.finish(carry_over=True)
        summary.predictions = summary.selection.predictions
        summary.resample = resampler.finish()
        summary.bad_lines = len(report) + len(responses.report)
    progress.finish()
    return summary
