"""``--batch_gen``: the repair requests of every instance of a loc file, appended to ``requests-repair.jsonl``.

Resumable: custom_ids already in the request file are not written again, and an instance whose
samples are all there is not even prepared; lines that other settings wrote are not taken for this
run's (:mod:`.provenance`). An instance without usable context (no files found, no
recognised location, no repository) gets no request; it is listed in the summary, never written as a
placeholder line (the original's placeholder later crashes its reader).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from patchline.core import layout
from patchline.core.batch import RequestLine, chat_body
from patchline.core.custom_id import encode_sample_id
from patchline.core.datasets import SWEbenchInstance, selected_index
from patchline.core.errors import InputError, PatchlineError
from patchline.core.jsonl import LineReport
from patchline.core.progress import NullProgress, Progress
from patchline.core.spec import AgentlessStage
from patchline.core.store import ArtifactStore, open_artifact
from patchline.workflows.agentless.prompt import open_instance_snapshot, prepare_instance, repair_template
from patchline.workflows.agentless.provenance import existing_request_ids
from patchline.workflows.agentless.records import EditLocsCount, LocRecord, iter_loc_records
from patchline.workflows.agentless.sources import RepoSource
from patchline.workflows.parallel import ItemFailure, imap_bounded

__all__ = ["BatchGenSummary", "generate_requests", "request_body", "write_run_files"]

log = logging.getLogger(__name__)


@dataclass(slots=True)
class BatchGenSummary:
    """What ``--batch_gen`` did: requests written, already present, and instances that got none (by reason)."""

    requests_file: str = ""
    instances: int = 0
    written: int = 0
    already_present: int = 0
    skipped: dict[str, list[str]] = field(default_factory=dict)
    bad_lines: int = 0
    edit_locs: EditLocsCount = field(default_factory=EditLocsCount)

    def skip(self, reason: str, instance_id: str) -> None:
        """Record that ``instance_id`` got no request, for ``reason``."""
        self.skipped.setdefault(reason, []).append(instance_id)

    def describe(self) -> list[str]:
        """Human-readable summary lines."""
        lines = [
            f"requests: {self.requests_file}",
            f"instances: {self.instances}; requests written: {self.written}; already present: {self.already_present}",
        ]
        for reason, ids in sorted(self.skipped.items()):
            shown = ", ".join(ids[:10]) + (f" (+{len(ids) - 10} more)" if len(ids) > 10 else "")
            lines.append(f"no request ({reason}): {len(ids)}: {shown}")
        lines += self.edit_locs.describe()
        if self.bad_lines:
            lines.append(f"bad input lines skipped: {self.bad_lines}")
        return lines

    def nothing_done(self, settings: AgentlessStage) -> PatchlineError | None:
        """Why no request is in the file after this run (None when there are requests), as the error to exit with."""
        if self.written or self.already_present:
            return None
        if not self.instances:
            loc_file = settings.workflow.loc_file
            return InputError(f"{loc_file}: no loc record to build requests from ({self.bad_lines} bad lines)")
        if len(self.skipped.get("not_in_dataset", [])) == self.instances:
            return InputError(
                f"none of the {self.instances} instances of {settings.workflow.loc_file} is in "
                f"{settings.dataset.source} (split {settings.dataset.split}): is it the loc file of this dataset?"
            )
        if len(self.skipped.get("not_selected", [])) == self.instances:
            return InputError(
                f"none of the {self.instances} instances of {settings.workflow.loc_file} is selected by "
                "dataset.instances / dataset.limit"
            )
        reasons = ", ".join(f"{reason}={len(ids)}" for reason, ids in sorted(self.skipped.items()))
        return PatchlineError(f"no request written: every instance was skipped ({reasons})")


@dataclass(frozen=True, slots=True)
class _Job:
    loc: LocRecord
    instance: SWEbenchInstance
    settings: AgentlessStage
    samples: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class _Prepared:
    prompt: str
    reason: str


def request_body(settings: AgentlessStage, prompt: str, sample: int) -> dict[str, Any]:
    """The chat completion body of one sample: one user message, sampling and thinking keys (SPEC §1)."""
    messages = [{"role": "user", "content": prompt}]
    temperature = settings.sample_temperature(sample)
    return chat_body(model=settings.model, messages=messages, sampling=settings.sampling, temperature=temperature)


def write_run_files(settings: AgentlessStage, store: ArtifactStore, locs: list[LocRecord]) -> None:
    """``args.json`` (the stage settings as applied, and the run folder) and ``used_locs.jsonl``, atomically."""
    args = {"output_folder": store.root, **settings.model_dump(mode="json")}
    store.write_text(layout.AGENTLESS_ARGS, json.dumps(args, indent=4) + "\n")
    with store.atomic_writer(layout.AGENTLESS_USED_LOCS) as out:
        for loc in locs:
            out.write((loc.model_dump_json() + "\n").encode("utf-8"))


def _prepare(job: _Job) -> _Prepared:
    """Build one instance's prompt (runs in a worker process)."""
    try:
        snapshot = open_instance_snapshot(job.settings, job.instance)
    except PatchlineError as exc:
        log.warning("%s: %s", job.loc.instance_id, exc)
        return _Prepared("", "no_repository")
    try:
        prepared = prepare_instance(job.loc, job.instance, snapshot, job.settings, repair_template(job.settings))
    finally:
        snapshot.close()
    return _Prepared(prepared.prompt, "" if prepared.prompt else "no_context")


def _jobs(
    locs: list[LocRecord],
    index: dict[str, SWEbenchInstance],
    existing: set[str],
    settings: AgentlessStage,
    summary: BatchGenSummary,
) -> Iterator[_Job]:
    wanted = range(settings.first_sample, settings.sampling.samples)
    for loc in locs:
        instance = index.get(loc.instance_id)
        if instance is None:
            summary.skip(settings.dataset.missing_reason(loc.instance_id), loc.instance_id)
            continue
        if not loc.found_files:
            summary.skip("no_files", loc.instance_id)
            continue
        missing = tuple(i for i in wanted if encode_sample_id(loc.instance_id, i) not in existing)
        summary.already_present += len(wanted) - len(missing)
        if missing:
            yield _Job(loc, instance, settings, missing)


def generate_requests(
    settings: AgentlessStage, output_folder: str, *, progress: Progress | None = None
) -> BatchGenSummary:
    """Append the missing repair requests of every loc instance to ``{output_folder}/requests-repair.jsonl``.

    Requests already there count only if these settings wrote them (:mod:`.provenance`);
    ``settings.on_mismatch`` says what to do with others (refuse, write the file over, keep them).
    """
    progress = progress or NullProgress()
    RepoSource.of(settings).check()
    store = ArtifactStore(output_folder)
    report = LineReport()
    loc_store, loc_name = open_artifact(settings.workflow.loc_file)
    locs = list(iter_loc_records(loc_store, loc_name, on_error=report))
    existing = existing_request_ids(
        settings,
        store,
        body_of_sample=lambda sample: request_body(settings, "", sample),
        policy=settings.on_mismatch,
        report=report,
    )
    write_run_files(settings, store, locs)
    index = selected_index(settings.dataset)
    name = layout.AGENTLESS_REQUESTS
    summary = BatchGenSummary(requests_file=store.uri(name), instances=len(locs), edit_locs=EditLocsCount.of(locs))
    summary.edit_locs.warn(loc_store.uri(loc_name))
    progress.start("batch_gen", total=len(locs))
    with store.appender(name) as out:
        jobs = _jobs(locs, index, existing, settings, summary)
        for job, outcome in imap_bounded(_prepare, jobs, workers=settings.workflow.num_threads):
            if isinstance(outcome, ItemFailure):
                log.warning("%s: %s", job.loc.instance_id, outcome.message)
                summary.skip("failed", job.loc.instance_id)
            elif not outcome.prompt:
                summary.skip(outcome.reason, job.loc.instance_id)
            else:
                for sample in job.samples:
                    custom_id = encode_sample_id(job.loc.instance_id, sample)
                    out.write_record(
                        RequestLine(custom_id=custom_id, body=request_body(settings, outcome.prompt, sample))
                    )
                    summary.written += 1
            progress.advance(1, requests=len(job.samples))
    store.seal(name)
    progress.finish()
    summary.bad_lines = len(report)
    return summary
