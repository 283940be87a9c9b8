"""Pieces every rollout stage shares: the per-kind strategy, stage summaries, failure writing, templates."""

from __future__ import annotations

import collections
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

from patchline.core.custom_id import decode_pass_id
from patchline.core.errors import InputError, PatchlineError, PreconditionError, UnavailableError, UnsafePathError
from patchline.core.layout import ROLLOUT_FAILURES
from patchline.core.progress import Progress
from patchline.core.spec import RolloutStage, RolloutWorkflow
from patchline.core.store import ArtifactStore, open_artifact
from patchline.workflows.parallel import ItemFailure, imap_bounded
from patchline.workflows.rollout.config import declared_passk, require
from patchline.workflows.rollout.outputs import KeyedRewrite
from patchline.workflows.rollout.records import FailureReason, FailureRecord
from patchline.workflows.templates import PromptTemplate, load_template

__all__ = [
    "PACKAGE",
    "HasCustomIds",
    "ItemResult",
    "Kind",
    "RecordSink",
    "StageSummary",
    "drain",
    "failure",
    "failures_name",
    "kind_of",
    "pass_temperature",
    "save_store",
    "step_template",
]

PACKAGE = "patchline.workflows.rollout"

ItemT = TypeVar("ItemT", bound="HasCustomIds")


@dataclass(frozen=True)
class Kind:
    """What distinguishes the BugFixer from the TestWriter in stages 1 and 2."""

    name: str
    show_tests: bool
    fixed_pass_temperatures: bool  # TestWriter: pass 0 at 0.0, other passes at 1.0 (when passk > 1)


_KINDS = {
    "bugfixer": Kind("bugfixer", show_tests=False, fixed_pass_temperatures=False),
    "testwriter": Kind("testwriter", show_tests=True, fixed_pass_temperatures=True),
}


def kind_of(config: RolloutStage) -> Kind:
    """The strategy of the configured rollout."""
    return _KINDS[config.kind]


def step_template(config: RolloutStage, step: int) -> PromptTemplate:
    """The step's prompt template: ``{kind}_step{step}.txt`` shipped, or the user's ``--prompt-template``."""
    return load_template(PACKAGE, f"{config.kind}_step{step}.txt", override=config.workflow.templates_dir)


def pass_temperature(config: RolloutStage, custom_id: str, *, passk: int | None = None) -> float:
    """The sampling temperature of a pass: ``--temp``, except the TestWriter's fixed rule for passk > 1."""
    effective = passk if passk is not None else declared_passk(config)
    if not kind_of(config).fixed_pass_temperatures or effective == 1:
        return config.sampling.temperature
    pass_id = decode_pass_id(custom_id, passk=effective)
    if effective is None and pass_id.instance_id == custom_id:
        return config.sampling.temperature  # no pass suffix: a passk-1 file
    return 0.0 if pass_id.k == 0 else 1.0


def save_store(config: RolloutStage) -> ArtifactStore:
    """Where ``failures.jsonl`` (and stage 3's files) go: ``--save_dir``, else the output file's folder."""
    if config.save_dir:
        return ArtifactStore(config.save_dir)
    require(config, "output_file")
    store, _ = open_artifact(config.output_file or "")
    return store


def failure(custom_id: str, reason: FailureReason, stage: str, details: str = "", **extra: Any) -> FailureRecord:
    """A failure record."""
    return FailureRecord(custom_id=custom_id, reason=reason, stage=stage, details=details[:2000], **extra)


@dataclass
class ItemResult:
    """What a worker made of one item: output lines keyed by custom_id, and failure records.

    ``without_edits`` counts written answers in which no edit was found at all (stage 3): when that is
    every answer, the response file is likely of another kind (step-1 answers list files).
    """

    lines: list[tuple[str, bytes]] = field(default_factory=list)
    failures: list[FailureRecord] = field(default_factory=list)
    reasoning_only: int = 0
    without_edits: int = 0


class RecordSink(Protocol):
    """Where a stage's records go: a keyed file, or the samples folder."""

    def write_raw(self, custom_id: str, line: bytes) -> None:
        """Store the record of ``custom_id``."""
        ...

    def touch(self, custom_id: str) -> None:
        """Forget the old record of ``custom_id`` (this run failed it)."""
        ...


class HasCustomIds(Protocol):
    """An item of a stage: it knows the custom_ids it stands for."""

    @property
    def custom_ids(self) -> tuple[str, ...]:
        """The custom_ids this item writes records for."""
        ...


@dataclass
class StageSummary:
    """What a stage did, for the CLI's summary line and for tests.

    ``items`` are what the stage works through (``unit``: instances in stage 1, answers later); ``written``
    and the failures count custom_ids, which stage 1 has one per pass of an instance.
    """

    stage: str
    items: int = 0
    written: int = 0
    failures: collections.Counter[str] = field(default_factory=collections.Counter)
    reasoning_only: int = 0
    outputs: list[str] = field(default_factory=list)
    extra: dict[str, int] = field(default_factory=dict)
    unit: str = "answers"
    first_failure: str = ""
    without_edits: int = 0
    notes: list[str] = field(default_factory=list)  # lines printed after the summary line (selection)

    @property
    def failed(self) -> int:
        """How many custom_ids failed."""
        return sum(self.failures.values())

    def describe(self) -> str:
        """One line for the command line: items, then what became of their custom_ids."""
        reasons = ", ".join(f"{k}={v}" for k, v in sorted(self.failures.items()))
        bad = self.extra.get("bad_input_lines", 0)
        extra = "".join(f" {k}={v}" for k, v in sorted(self.extra.items()) if k != "bad_input_lines")
        text = f"{self.stage}: {self.items} {self.unit}"
        if bad:
            text += f" (+{bad} unreadable input line{'s' if bad != 1 else ''}, skipped)"
        if self.written + self.failed != self.items:
            text += f", {self.written + self.failed} custom_ids"
        text += f": {self.written} written, {self.failed} failed"
        if reasons:
            text += f" ({reasons})"
        if self.reasoning_only:
            text += f", {self.reasoning_only} answers were reasoning only"
        notes = "".join(f"\n  {note}" for note in self.notes)
        return text + extra + notes + "".join(f"\n  -> {uri}" for uri in self.outputs)

    def nothing_done(self, source: str) -> PatchlineError | None:
        """Why this run produced nothing useful from ``source``, as the error to exit with (None when it did)."""
        if not self.items and not self.failed:
            return InputError(
                f"{self.stage}: nothing to do: {source} gave no {self.unit} (empty, or outside --start_file/--end_file)"
            )
        if not self.written:
            first = f"; first: {self.first_failure}" if self.first_failure else ""
            reasons = ", ".join(f"{k}={v}" for k, v in sorted(self.failures.items()))
            return PatchlineError(f"{self.stage}: nothing written: all {self.failed} failed ({reasons}){first}")
        if self.without_edits == self.written and self.stage == "proc_step2":
            return PreconditionError(
                f"{self.stage}: none of the {self.written} answers in {source} holds a SEARCH/REPLACE edit: is it "
                "the step-2 response file? (step-1 answers list files)"
            )
        return None


def drain(
    results: Iterable[tuple[ItemT, ItemResult | ItemFailure[ItemT]]],
    *,
    summary: StageSummary,
    outputs: RecordSink,
    failures: KeyedRewrite,
    progress: Progress,
) -> None:
    """Write each item's lines and failures as they come; a worker crash or timeout fails its custom_ids."""
    for item, outcome in results:
        summary.items += 1
        if isinstance(outcome, ItemFailure):
            reason = FailureReason.TIMEOUT if outcome.kind == "timeout" else FailureReason.EXCEPTION
            outcome = ItemResult(failures=[failure(c, reason, summary.stage, outcome.message) for c in item.custom_ids])
        for custom_id, line in outcome.lines:
            try:
                outputs.write_raw(custom_id, line)
            except (OSError, UnavailableError, UnsafePathError) as exc:
                outcome.failures.append(failure(custom_id, FailureReason.SAVE_ERROR, summary.stage, str(exc)))
                continue
            failures.touch(custom_id)
            summary.written += 1
        for record in outcome.failures:
            failures.write(record.custom_id, record)
            outputs.touch(record.custom_id)
            summary.failures[record.reason.value] += 1
            if not summary.first_failure:
                summary.first_failure = f"{record.custom_id}: {record.reason.value}: {record.details}"[:300]
        summary.reasoning_only += outcome.reasoning_only
        summary.without_edits += outcome.without_edits
        progress.advance(1, failed=len(outcome.failures))


@dataclass
class StageWriters:
    """Where a processing stage puts each item's outcome: its summary, output lines, failures and progress."""

    summary: StageSummary
    outputs: RecordSink
    failures: KeyedRewrite
    progress: Progress


def process_items(
    fn: Callable[[ItemT], ItemResult],
    items: Iterable[ItemT],
    workflow: RolloutWorkflow,
    to: StageWriters,
    *,
    total: int,
) -> None:
    """Run ``fn`` over the ``total`` items with the workflow's workers and per-item time limit, :func:`drain`
    their outcomes into ``to``, and show the progress."""
    to.progress.start(to.summary.stage, total=total)
    results = imap_bounded(fn, items, workers=workflow.num_workers, timeout=workflow.item_timeout_seconds)
    drain(results, summary=to.summary, outputs=to.outputs, failures=to.failures, progress=to.progress)
    to.progress.finish()


def failures_name() -> str:
    """The failure file name (from the layout)."""
    return ROLLOUT_FAILURES
