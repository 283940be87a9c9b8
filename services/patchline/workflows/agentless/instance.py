"""One instance of ``--process_batch``: rebuild its context, patch every sample, and produce its records and log.

Every sample also becomes a row of the sample table (checked at the base commit and normalised, SPEC §6b),
and an instance left without a valid sample gets the requests of the next resampling round, if one is due.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from patchline.core.batch import RequestLine
from patchline.core.custom_id import encode_sample_id
from patchline.core.datasets import SWEbenchInstance
from patchline.core.errors import PatchlineError
from patchline.core.samples import SampleRecord
from patchline.core.spec import AgentlessStage
from patchline.edits.normalize import FileReader, Normalizer
from patchline.samples.resample import estimate_tokens, needs_resampling, round_of, round_samples
from patchline.samples.table import sample_record
from patchline.workflows.agentless.prompt import open_instance_snapshot, prepare_instance, repair_template
from patchline.workflows.agentless.records import LocRecord, ProcessedRecord, RawOutputRecord, SampleStatus
from patchline.workflows.agentless.requests import request_body
from patchline.workflows.agentless.responses import SampleAnswer
from patchline.workflows.agentless.sample import SamplePatch, patch_sample

__all__ = ["InstanceOutcome", "process_instance"]


@dataclass(slots=True)
class InstanceOutcome:
    """Everything written for one instance: the raw record, one processed record per planned sample, the
    sample-table rows of every sample (resampled ones too), the log, and the next round's requests."""

    instance_id: str
    raw: RawOutputRecord
    processed: list[ProcessedRecord]
    log: str
    dropped_edits: int = 0
    failure: str = ""
    samples: list[SampleRecord] = field(default_factory=list)
    normalized: list[str] = field(default_factory=list)  # the normal form of each planned sample
    resample: list[RequestLine] = field(default_factory=list)
    resample_estimate: int = 0  # tokens each resample request is expected to use

    @classmethod
    def failed(cls, instance_id: str, settings: AgentlessStage, reason: str, status: str = "") -> InstanceOutcome:
        """Records for an instance that could not be processed at all (every sample gets ``status``)."""
        status = status or SampleStatus.NO_CONTEXT
        planned = range(settings.sampling.samples)
        processed = [ProcessedRecord(instance_id=instance_id, status=status) for _ in planned]
        samples = [
            SampleRecord(instance_id=instance_id, sample=i, custom_id=encode_sample_id(instance_id, i), status=status)
            for i in planned
        ]
        raw = RawOutputRecord(instance_id=instance_id, raw_output=[""], try_count=[0])
        outcome = cls(instance_id, raw, processed, f"{instance_id}: {reason}\n", failure=reason, samples=samples)
        outcome.normalized = ["" for _ in planned]
        return outcome


def _placeholder(sample: int, settings: AgentlessStage, answers: dict[int, SampleAnswer]) -> SamplePatch | None:
    if sample < settings.first_sample:
        return SamplePatch(SampleStatus.NOT_REQUESTED, notes=["greedy sample skipped (--skip_greedy)"])
    if sample not in answers:
        return SamplePatch(SampleStatus.MISSING_RESPONSE, notes=["no response line for this sample"])
    return None


def _traj(answer: SampleAnswer | None, prompt: str, patch: SamplePatch) -> dict[str, object]:
    return {
        "response": answer.content if answer else "",
        "reasoning_content": answer.reasoning if answer else "",
        "usage": answer.usage if answer else {},
        "prompt": prompt,
        "status": patch.status,
        "error": answer.failure if answer and answer.failure else None,
    }


def _log_sample(sample: int, patch: SamplePatch, row: SampleRecord) -> list[str]:
    lines = [
        f"--- sample {sample}: {patch.status} (edits found {patch.edits_found}, applied {patch.edits_applied}, "
        f"dropped {patch.dropped_edits}; files {', '.join(patch.files.paths) or '-'})"
    ]
    if patch.leniency:
        lines.append(f"    read only by patchline's leniency: {', '.join(patch.leniency)}")
    lines.extend(f"    {note}" for note in patch.notes)
    if row.model_patch and not row.valid:
        lines.append(f"    not valid: {row.apply_error or 'syntax errors in ' + ', '.join(row.syntax_errors)}")
    if patch.raw_model_patch:
        lines.append(patch.raw_model_patch.rstrip("\n"))
    return lines


def _sample_indices(settings: AgentlessStage, answers: dict[int, SampleAnswer]) -> list[int]:
    """The planned samples, then every answered sample of a resampling round."""
    planned = settings.sampling.samples
    return [*range(planned), *sorted(i for i in answers if i >= planned)]


def _resample(outcome: InstanceOutcome, settings: AgentlessStage, prompt: str, round_number: int | None) -> None:
    """The requests of resampling round ``round_number`` when the instance has no valid sample."""
    if round_number is None or not needs_resampling(outcome.samples):
        return
    selection = settings.workflow.selection
    indices = round_samples(round_number, planned=settings.sampling.samples, per_round=selection.resample_samples)
    outcome.resample = [
        RequestLine(custom_id=encode_sample_id(outcome.instance_id, i), body=request_body(settings, prompt, i))
        for i in indices
    ]
    outcome.resample_estimate = estimate_tokens(outcome.samples, max_tokens=settings.sampling.max_tokens)


def _row(
    iid: str,
    sample: int,
    patch: SamplePatch,
    answer: SampleAnswer | None,
    read: FileReader,
    settings: AgentlessStage,
    normalizer: Normalizer,
) -> SampleRecord:
    """The sample-table row: the patch checked against and normalised on the shown files at the base commit."""
    return sample_record(
        instance_id=iid,
        sample=sample,
        custom_id=encode_sample_id(iid, sample),
        status=patch.status,
        model_patch=patch.model_patch,
        read=read,
        normalizer=normalizer,
        facts=answer.facts if answer is not None else None,
        round_number=round_of(
            sample, planned=settings.sampling.samples, per_round=settings.workflow.selection.resample_samples
        ),
    )


def process_instance(
    loc: LocRecord,
    instance: SWEbenchInstance,
    settings: AgentlessStage,
    answers: dict[int, SampleAnswer],
    *,
    resample_round: int | None = None,
) -> InstanceOutcome:
    """Patch every sample of one instance; an instance whose files cannot be read fails as data, not an exception."""
    iid = loc.instance_id
    try:
        snapshot = open_instance_snapshot(settings, instance)
    except PatchlineError as exc:
        return InstanceOutcome.failed(iid, settings, f"no repository: {exc}")
    try:
        prepared = prepare_instance(loc, instance, snapshot, settings, repair_template(settings))
    finally:
        snapshot.close()
    if not prepared.prompt:
        return InstanceOutcome.failed(iid, settings, "no usable context (no file or location could be shown)")
    raw = RawOutputRecord(instance_id=iid, all_generations=[[]], prev_content=[[]], file_names=[[]])
    outcome = InstanceOutcome(iid, raw, [], "")
    log_lines = [f"================ repairing {iid} ================"]
    log_lines += [f"shown: {seg.path} ranges {list(seg.ranges)}" for seg in prepared.context.files]
    log_lines += [f"missing file: {path}" for path in prepared.context.missing_files]
    normalizer = Normalizer()  # shared by the instance's samples: parses and unchanged statements once
    shown = {segment.path: segment.content for segment in prepared.context.files}
    for sample in _sample_indices(settings, answers):
        answer = answers.get(sample)
        patch = _placeholder(sample, settings, answers) or patch_sample(
            answers[sample], prepared.context, compat=settings.workflow.compat_newlines, parses=normalizer.parses
        )
        row = _row(iid, sample, patch, answer, shown.get, settings, normalizer)
        outcome.samples.append(row)
        outcome.dropped_edits += patch.dropped_edits
        log_lines += _log_sample(sample, patch, row)
        if sample >= settings.sampling.samples:
            continue  # a resampled sample: in the table, not in the original's per-sample layout
        outcome.normalized.append(row.normalized_patch)
        content = answer.content if answer is not None else ""
        raw.raw_output.append(content)
        raw.all_generations[0].append(content)
        raw.try_count.append(sample + 1)
        raw.traj.append(_traj(answer, prepared.prompt, patch))
        raw.prev_content[0].append(patch.files.originals or "")
        raw.file_names[0].append(patch.files.paths or "")
        outcome.processed.append(
            ProcessedRecord(
                instance_id=iid,
                model_patch=patch.model_patch,
                raw_model_patch=patch.raw_model_patch,
                original_file_content=patch.files.originals,
                edited_files=patch.files.paths,
                new_file_content=patch.files.new_contents,
                status=patch.status,
                leniency=patch.leniency,
            )
        )
    outcome.log = "\n".join(log_lines) + "\n"
    _resample(outcome, settings, prepared.prompt, resample_round)
    return outcome
