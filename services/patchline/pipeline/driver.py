"""The stage driver: walks a run's plan with the rules written once, whatever runs the stages.

The rules:

- A stage whose record says Succeeded with the settings planned now is done: it is skipped, now and on every
  rerun. The record keeps a digest of the settings that decide the stage's outputs
  (``patchline.core.spec.identity``: concurrency, retries, worker counts and the rerun policy are not among
  them); a record written with other settings is not reused.
- Any other stage runs (again): a stage that failed in an earlier run is retried, a stage whose settings
  changed runs with the new ones, and every stage after a stage that ran is run too (its inputs may have
  changed). The operations resume from their artifacts, so only unfinished items are redone, and lines made
  with other settings are refused, restarted or accepted as ``onMismatch`` says.
- A stage succeeds when its operation finished and at least one of its items succeeded (items done by an
  earlier run count) or is pending for a following round; it fails when the operation failed, or when no
  item succeeded and none is pending: later stages would only see nothing. The first failed stage ends
  the run; its record says why.
- A stage that talks to the model waits for the model's endpoints; the model is asked for only when such a
  stage is reached (it is costly, and an oracle may read what earlier stages wrote).
- Rounds (:class:`RoundsPlan`) run while the stage before them reports pending items.

Two backends run the stages: in this process or through ``patchline serve`` (``patchline.pipeline.local``),
and on a cluster, as service jobs and child InferenceRuns (``patchline_operator.backend``). A backend
either runs a stage to its end or, on a cluster, takes one look at it and reports it still running; the
driver is then called again on the next look. Stage records live in a :class:`StageBook`: files in the run
root locally, ``status.stages`` on a cluster, the same :class:`StageStatus` model in both.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Protocol

from patchline.core.spec import InferenceStage, ModelEndpoints, Phase, ProgressCounts, StageSettings, StageStatus
from patchline.core.spec.identity import settings_digest
from patchline.pipeline.plan import PlanItem, RoundsPlan, StagePlan

__all__ = [
    "DriveResult",
    "StageBackend",
    "StageBook",
    "StageOutcome",
    "counts_from",
    "drive",
    "judge",
]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class StageOutcome:
    """What a backend saw of one stage: still running, finished, or failed (with the operation's counts)."""

    phase: Phase
    counts: ProgressCounts = field(default_factory=ProgressCounts)
    artifacts: Mapping[str, str] = field(default_factory=dict)
    message: str = ""


class StageBackend(Protocol):
    """What runs the stages: the model's endpoints, and one stage (to its end, or one look on a cluster)."""

    async def endpoints(self) -> ModelEndpoints | None:
        """The model's endpoints, starting the model if needed; None while it is not ready."""
        ...

    async def run(self, stage: StagePlan, settings: StageSettings, *, new_attempt: bool) -> StageOutcome:
        """Run ``stage`` with ``settings`` (its planned settings, endpoints filled in).

        ``new_attempt``: the stage has no running record, so its work starts now, even where a job of an
        earlier attempt has finished (a backend that follows jobs across looks must not take that one's result).
        """
        ...


class StageBook(Protocol):
    """Where stage records are kept."""

    async def get(self, name: str) -> StageStatus | None:
        """The record of stage ``name``, if it ran before."""
        ...

    async def put(self, record: StageStatus) -> None:
        """Keep the record of a stage (replacing an earlier one)."""
        ...


@dataclass
class DriveResult:
    """Where a run stands after one walk: Succeeded, Failed, Running or Provisioning, at which stage, why."""

    phase: Phase
    stage: str = ""
    message: str = ""
    records: list[StageStatus] = field(default_factory=list)
    reused: set[str] = field(default_factory=set)  # stages done by an earlier run (skipped now)
    endpoints: ModelEndpoints | None = None


def counts_from(counts: Mapping[str, float], *, total: int | None = None) -> ProgressCounts:
    """Status counts from an operation's counts: items done by an earlier run (skipped) count as succeeded."""
    progress = ProgressCounts(
        total=int(counts["total"]) if counts.get("total") else total,
        succeeded=int(counts.get("succeeded", 0) + counts.get("skipped", 0)),
        failed=int(counts.get("failed", 0)),
        pending=int(counts.get("pending", 0)),
        tokens=int(counts.get("prompt_tokens", 0) + counts.get("completion_tokens", 0)),
    )
    progress.summary = progress.render()
    return progress


def judge(outcome: StageOutcome) -> tuple[Phase, str]:
    """The phase a stage ends in, by the rules above, and the message its record keeps."""
    if outcome.phase is not Phase.SUCCEEDED:
        return outcome.phase, outcome.message
    counts = outcome.counts
    if counts.succeeded == 0 and counts.pending == 0:
        items = counts.total if counts.total is not None else counts.failed
        what = f"none of {items} items succeeded" if items else "there was nothing to work on"
        return Phase.FAILED, f"{what}: {outcome.message}" if outcome.message else what
    return Phase.SUCCEEDED, outcome.message


def _now() -> datetime:
    return datetime.now(UTC)


class _Walk:
    """One walk of a plan: the driver's state between stages."""

    def __init__(self, book: StageBook, backend: StageBackend) -> None:
        self.book, self.backend = book, backend
        self.result = DriveResult(Phase.RUNNING)
        self.last: StageStatus | None = None
        self.ran_one = False  # a stage of this walk ran: every later one runs too

    def _reusable(self, plan: StagePlan, record: StageStatus | None, digest: str) -> StageStatus | None:
        """``record`` when it says the stage is done with these settings and no earlier stage of the walk ran."""
        if record is None or record.phase is not Phase.SUCCEEDED:
            return None
        if self.ran_one:
            log.info("stage %s: runs again after an earlier stage ran (it resumes from its artifacts)", plan.name)
            return None
        if record.settings_digest not in ("", digest):
            log.info("stage %s: its settings changed since it succeeded; it runs again with the new ones", plan.name)
            return None
        return record

    async def stage(self, plan: StagePlan) -> bool:
        """Skip, wait for or run one stage; True when the walk goes on to the next."""
        record = await self.book.get(plan.name)
        digest = settings_digest(plan.settings)
        done = self._reusable(plan, record, digest)
        if done is not None:
            self._keep(done, reused=True)
            return True
        self.ran_one = True
        settings = plan.settings
        if isinstance(settings, InferenceStage):
            endpoints = self.result.endpoints = await self.backend.endpoints()
            if endpoints is None:
                self._stop(Phase.PROVISIONING, plan.name, f"{plan.name}: waiting for the model server")
                return False
            settings = settings.model_copy(update={"endpoints": endpoints})
        # Still the attempt a running record is about: the same settings (a changed one starts anew).
        same_attempt = record is not None and record.phase is Phase.RUNNING and record.settings_digest in ("", digest)
        started = (record.started_at if record is not None and same_attempt else None) or _now()
        log.info("stage %s: %s", plan.name, plan.operation.name)
        outcome = await self.backend.run(plan, settings, new_attempt=not same_attempt)
        phase, message = judge(outcome)
        new = StageStatus(
            name=plan.name,
            operation=plan.operation.name,
            phase=phase,
            started_at=started,
            finished_at=None if phase is Phase.RUNNING else _now(),
            counts=outcome.counts,
            artifacts=dict(outcome.artifacts),
            message=message,
            settings_digest=digest,
        )
        await self.book.put(new)
        self._keep(new, reused=False)
        if phase is Phase.SUCCEEDED:
            return True
        self._stop(phase, plan.name, f"{plan.name}: {message}" if message else plan.name)
        return False

    async def rounds(self, plan: RoundsPlan) -> bool:
        """Rounds while the stage before reports pending items; True when the walk goes on."""
        number = 0
        while self.last is not None and self.last.counts.pending > 0 and number < plan.max_rounds:
            for stage in plan.stages_of(number):
                if not await self.stage(stage):
                    return False
            number += 1
        return True

    def _keep(self, record: StageStatus, *, reused: bool) -> None:
        self.result.records.append(record)
        if reused:
            self.result.reused.add(record.name)
        self.last = record

    def _stop(self, phase: Phase, stage: str, message: str) -> None:
        self.result.phase, self.result.stage, self.result.message = phase, stage, message


async def drive(plan: Sequence[PlanItem], book: StageBook, backend: StageBackend) -> DriveResult:
    """Walk ``plan`` as far as its stages finish now; see the module docstring for the rules."""
    walk = _Walk(book, backend)
    for item in plan:
        going_on = await (walk.rounds(item) if isinstance(item, RoundsPlan) else walk.stage(item))
        if not going_on:
            return walk.result
    done = [r for r in walk.result.records]
    walk.result.phase, walk.result.stage = Phase.SUCCEEDED, ""
    walk.result.message = f"{len(done)} stages succeeded"
    return walk.result
