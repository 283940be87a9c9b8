"""Jobs: operations running as asyncio tasks, tracked by id, watchable, cancellable.

A job's durable state is its artifacts; the manager only keeps what is running now. Starting a job
that is running or has succeeded returns it; starting one that failed, was cancelled, or that a
restarted process has never seen runs the operation again, which resumes from the artifacts.
"""

from __future__ import annotations

import asyncio
import enum
import logging
import threading
import time
import traceback
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from patchline.core.errors import InputError, PatchlineError, PreconditionError
from patchline.core.redact import Redactor
from patchline.core.spec import StageSettings
from patchline.core.store import ArtifactStore
from patchline.pipeline.operations import HostServices, Operation, OperationContext, OperationResult

__all__ = ["JobCancelled", "JobManager", "JobPhase", "JobStatus"]

log = logging.getLogger(__name__)

MAX_JOB_ID = 512  # job ids are names (`{run}-{stage}-{hash}`), logged and returned: bounded, printable


class JobCancelled(Exception):
    """Raised inside a blocking operation when its job was cancelled (through its progress)."""


class JobPhase(enum.Enum):
    """Life of a job; the last three are terminal."""

    PENDING = "Pending"
    RUNNING = "Running"
    SUCCEEDED = "Succeeded"
    FAILED = "Failed"
    CANCELLED = "Cancelled"

    @property
    def terminal(self) -> bool:
        """True once the job will not change any more."""
        return self in (JobPhase.SUCCEEDED, JobPhase.FAILED, JobPhase.CANCELLED)


@dataclass(frozen=True)
class JobStatus:
    """A snapshot of one job."""

    job_id: str
    operation: str
    phase: JobPhase = JobPhase.PENDING
    counts: Mapping[str, float] = field(default_factory=dict)
    total: int | None = None
    artifacts: Mapping[str, str] = field(default_factory=dict)
    message: str = ""
    last_error: str = ""
    started_at: float = 0.0
    finished_at: float = 0.0
    version: int = 0


class _JobProgress:
    """The Progress a running operation reports to; thread-safe, and the way a blocking job sees a cancel."""

    def __init__(self, job: _Job) -> None:
        self._job = job

    def start(self, description: str, total: int | None = None) -> None:
        self._job.update(message=description, total=total)

    def advance(self, n: int = 1, **counters: float) -> None:
        if self._job.blocking and self._job.cancel_requested.is_set():
            raise JobCancelled(self._job.status.job_id)
        self._job.add(done=n, **counters)

    def finish(self) -> None:
        """Nothing to release: the job's status already holds the counts."""


class _Job:
    def __init__(
        self,
        status: JobStatus,
        loop: asyncio.AbstractEventLoop,
        redactor: Redactor,
        request: tuple[str, StageSettings],  # (run root, settings) it was started with
    ) -> None:
        self.status = status
        self.loop = loop
        self.redactor = redactor
        self.lock = threading.Lock()
        self.changed = asyncio.Condition()
        self.cancel_requested = threading.Event()
        self.task: asyncio.Task[None] | None = None
        self.blocking = False  # runs in a worker thread: cancelled through its progress reports
        self.request = request

    def update(self, **changes: Any) -> None:
        # Every text a job reports passes here: a key quoted by an error never reaches Get or Watch.
        for name in ("message", "last_error"):
            if name in changes:
                changes[name] = self.redactor.text(changes[name])
        with self.lock:
            self.status = replace(self.status, version=self.status.version + 1, **changes)
        self._notify()

    def add(self, *, done: int, **counters: float) -> None:
        with self.lock:
            counts = dict(self.status.counts)
            counts["done"] = counts.get("done", 0) + done
            for key, value in counters.items():
                counts[key] = counts.get(key, 0) + value
            self.status = replace(self.status, counts=counts, version=self.status.version + 1)
        self._notify()

    def _notify(self) -> None:
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is self.loop:
            self.loop.create_task(self._wake())
        elif not self.loop.is_closed():
            asyncio.run_coroutine_threadsafe(self._wake(), self.loop)

    async def _wake(self) -> None:
        async with self.changed:
            self.changed.notify_all()


class JobManager:
    """Runs operations as jobs on the current event loop."""

    def __init__(
        self,
        operations: Mapping[str, Operation[Any]],
        *,
        store_factory: type[ArtifactStore] = ArtifactStore,
        services: HostServices | None = None,
        redactor: Redactor | None = None,
    ) -> None:
        self._operations = dict(operations)
        self._jobs: dict[str, _Job] = {}
        self._store_factory = store_factory
        self._services = services or HostServices()
        self._redactor = redactor or Redactor()

    @property
    def operations(self) -> list[str]:
        """Names of the operations this manager can run."""
        return sorted(self._operations)

    def start(
        self, job_id: str, operation: str, run_uri: str, settings: StageSettings, *, run_again: bool = False
    ) -> JobStatus:
        """Start a job, idempotently by id: a running job of this id with the same request is returned, and so
        is a succeeded one with the same request unless ``run_again``.

        A failed or cancelled job, a succeeded one with ``run_again`` and a finished one with another request
        run again; the operation resumes from its artifacts. A running one with another request is a
        PreconditionError: two jobs of one id would write the same files.
        """
        if not job_id:
            raise InputError("a job needs a job_id")
        if len(job_id) > MAX_JOB_ID or not job_id.isprintable():
            raise InputError(f"job_id: at most {MAX_JOB_ID} printable characters")
        existing = self._jobs.get(job_id)
        if existing is not None:
            if existing.status.operation != operation:
                raise PreconditionError(f"job {job_id} exists with operation {existing.status.operation}")
            same = existing.request == (run_uri, settings)
            if not existing.status.phase.terminal:
                if not same:
                    raise PreconditionError(
                        f"job {job_id} is running with other settings or another run root; "
                        "wait for it to end or cancel it, then start it again"
                    )
                return existing.status
            if same and existing.status.phase is JobPhase.SUCCEEDED and not run_again:
                return existing.status
        op = self._operations.get(operation)
        if op is None:
            raise InputError(
                f"unknown operation {operation!r}; this service runs: {', '.join(self.operations) or 'nothing'}"
            )
        store = self._store_factory(run_uri)
        redactor = self._redactor + Redactor(op.secrets_of(settings, self._services))
        status = JobStatus(job_id, operation, started_at=time.time())
        job = _Job(status, asyncio.get_running_loop(), redactor, (run_uri, settings))
        context = op.context(store, settings, _JobProgress(job), self._services)
        job.blocking = op.run_async is None
        self._jobs[job_id] = job
        job.task = asyncio.create_task(self._run(job, op, context), name=f"job:{job_id}")
        log.info("job started", extra={"job_id": job_id, "operation": operation})
        return job.status

    def count(self, phase: JobPhase) -> int:
        """How many jobs this process knows in ``phase``."""
        return sum(1 for job in self._jobs.values() if job.status.phase is phase)

    def get(self, job_id: str) -> JobStatus:
        """The current status; a job this process has never run is a PreconditionError."""
        return self._job(job_id).status

    async def watch(self, job_id: str) -> AsyncIterator[JobStatus]:
        """Yield the status now and after every change, until the job is terminal."""
        job = self._job(job_id)
        seen = -1
        while True:
            status = job.status
            if status.version != seen:
                seen = status.version
                yield status
            if status.phase.terminal:
                return
            async with job.changed:
                if job.status.version == seen:
                    await job.changed.wait()

    async def cancel(self, job_id: str, *, grace: float = 5.0) -> JobStatus:
        """Ask a job to stop; its finished items stay in its artifacts. Returns the final status.

        A blocking operation sees the request at its next progress report and stops there; one that
        does not report within ``grace`` seconds is abandoned by its task (its thread ends on its own).
        """
        job = self._job(job_id)
        if job.status.phase.terminal or job.task is None:
            return job.status
        job.cancel_requested.set()
        done: set[asyncio.Task[None]] = set()
        if job.blocking:
            done, _ = await asyncio.wait({job.task}, timeout=grace)
        if not done:
            job.task.cancel()
            await asyncio.gather(job.task, return_exceptions=True)
        return job.status

    async def shutdown(self, *, grace: float = 5.0) -> None:
        """Cancel every running job at once (their artifacts already hold what they finished)."""
        running = [job_id for job_id, job in self._jobs.items() if not job.status.phase.terminal]
        await asyncio.gather(*(self.cancel(job_id, grace=grace) for job_id in running))

    def _job(self, job_id: str) -> _Job:
        job = self._jobs.get(job_id)
        if job is None:
            raise PreconditionError(f"no job {job_id!r} here; Start it again to resume it from its artifacts")
        return job

    async def _run(self, job: _Job, op: Operation[Any], context: OperationContext[Any]) -> None:
        job.update(phase=JobPhase.RUNNING)
        try:
            result = await self._call(op, context)
        except (asyncio.CancelledError, JobCancelled):
            # Cancellation of an async operation arrives as CancelledError; it ends here on purpose.
            job.update(phase=JobPhase.CANCELLED, finished_at=time.time(), message="cancelled")
            log.info("job cancelled", extra={"job_id": job.status.job_id})
            return
        except PatchlineError as exc:
            job.update(phase=JobPhase.FAILED, finished_at=time.time(), last_error=str(exc))
            log.warning("job failed: %s", job.status.last_error, extra={"job_id": job.status.job_id})
            return
        except Exception as exc:
            job.update(phase=JobPhase.FAILED, finished_at=time.time(), last_error=f"{type(exc).__name__}: {exc}")
            trace = job.redactor.text("".join(traceback.format_exception(exc)))
            log.error("job crashed: %s", trace, extra={"job_id": job.status.job_id})
            return
        counts = {**job.status.counts, **result.counts}
        job.update(
            phase=JobPhase.SUCCEEDED,
            finished_at=time.time(),
            artifacts=dict(result.artifacts),
            counts=counts,
            message=result.message or job.status.message,
        )
        log.info("job succeeded: %s", result.message, extra={"job_id": job.status.job_id})

    @staticmethod
    async def _call(op: Operation[Any], context: OperationContext[Any]) -> OperationResult:
        if op.run_async is not None:
            return await op.run_async(context)
        if op.run is None:
            raise PreconditionError(f"operation {op.ref.name} has nothing to run")
        return await asyncio.to_thread(op.run, context)
