"""One instance of ``--process_batch``: rebuild its context, patch every sample, and produce its records and log."""

from __future__ import annotations

from dataclasses import dataclass

from patchline.core.datasets import SWEbenchInstance
from patchline.core.errors import PatchlineError
from patchline.core.spec import AgentlessStage
from patchline.workflows.agentless.prompt import open_instance_snapshot, prepare_instance, repair_template
from patchline.workflows.agentless.records import LocRecord, ProcessedRecord, RawOutputRecord, SampleStatus
from patchline.workflows.agentless.responses import SampleAnswer
from patchline.workflows.agentless.sample import SamplePatch, patch_sample

__all__ = ["InstanceOutcome", "process_instance"]


@dataclass(slots=True)
class InstanceOutcome:
    """Everything written for one instance: the raw record, one processed record per sample, the log."""

    instance_id: str
    raw: RawOutputRecord
    processed: list[ProcessedRecord]
    log: str
    dropped_edits: int = 0
    failure: str = ""

    @classmethod
    def failed(cls, instance_id: str, settings: AgentlessStage, reason: str, status: str = "") -> InstanceOutcome:
        """Records for an instance that could not be processed at all (every sample gets ``status``)."""
        status = status or SampleStatus.NO_CONTEXT
        processed = [ProcessedRecord(instance_id=instance_id, status=status) for _ in range(settings.sampling.samples)]
        raw = RawOutputRecord(instance_id=instance_id, raw_output=[""], try_count=[0])
        return cls(instance_id, raw, processed, f"{instance_id}: {reason}\n", failure=reason)


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


def _log_sample(sample: int, patch: SamplePatch) -> list[str]:
    lines = [
        f"--- sample {sample}: {patch.status} (edits found {patch.edits_found}, applied {patch.edits_applied}, "
        f"dropped {patch.dropped_edits}; files {', '.join(patch.edited_files) or '-'})"
    ]
    if patch.leniency:
        lines.append(f"    read only by patchline's leniency: {', '.join(patch.leniency)}")
    lines.extend(f"    {note}" for note in patch.notes)
    if patch.raw_model_patch:
        lines.append(patch.raw_model_patch.rstrip("\n"))
    return lines


def process_instance(
    loc: LocRecord, instance: SWEbenchInstance, settings: AgentlessStage, answers: dict[int, SampleAnswer]
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
    processed: list[ProcessedRecord] = []
    log_lines = [f"================ repairing {iid} ================"]
    log_lines += [f"shown: {seg.path} ranges {list(seg.ranges)}" for seg in prepared.context.files]
    log_lines += [f"missing file: {path}" for path in prepared.context.missing_files]
    dropped = 0
    for sample in range(settings.sampling.samples):
        answer = answers.get(sample)
        patch = _placeholder(sample, settings, answers) or patch_sample(
            answers[sample], prepared.context, compat=settings.workflow.compat_newlines
        )
        dropped += patch.dropped_edits
        content = answer.content if answer is not None else ""
        raw.raw_output.append(content)
        raw.all_generations[0].append(content)
        raw.try_count.append(sample + 1)
        raw.traj.append(_traj(answer, prepared.prompt, patch))
        raw.prev_content[0].append(patch.original_contents or "")
        raw.file_names[0].append(patch.edited_files or "")
        processed.append(
            ProcessedRecord(
                instance_id=iid,
                model_patch=patch.model_patch,
                raw_model_patch=patch.raw_model_patch,
                original_file_content=patch.original_contents,
                edited_files=patch.edited_files,
                new_file_content=patch.new_contents,
                status=patch.status,
                leniency=patch.leniency,
            )
        )
        log_lines += _log_sample(sample, patch)
    return InstanceOutcome(iid, raw, processed, "\n".join(log_lines) + "\n", dropped_edits=dropped)
