"""Translation between job snapshots and their protobuf messages."""

from __future__ import annotations

import time
from collections.abc import Mapping

from patchline.core.redact import Redactor
from patchline.pipeline.jobs import JobPhase, JobStatus
from patchline.rpc.v1 import common_pb2

__all__ = ["job_message"]

_PHASES = {
    JobPhase.PENDING: common_pb2.PHASE_PENDING,
    JobPhase.RUNNING: common_pb2.PHASE_RUNNING,
    JobPhase.SUCCEEDED: common_pb2.PHASE_SUCCEEDED,
    JobPhase.FAILED: common_pb2.PHASE_FAILED,
    JobPhase.CANCELLED: common_pb2.PHASE_CANCELLED,
}


def _count(counts: Mapping[str, float], *names: str) -> int:
    return int(sum(counts.get(name, 0) for name in names))


def job_message(status: JobStatus, redactor: Redactor | None = None) -> common_pb2.Job:
    """The Job message of a snapshot, every text in it passed through ``redactor``."""
    text = redactor.text if redactor is not None else str
    counts = status.counts
    end = status.finished_at or time.time()
    elapsed = end - status.started_at if status.started_at else 0.0
    completion = _count(counts, "completion_tokens") or _count(counts, "tokens")
    failed, skipped = _count(counts, "failed"), _count(counts, "skipped")
    if "succeeded" in counts:  # final counts of the operation's result
        succeeded = _count(counts, "succeeded")
    elif "ok" in counts:  # running counts of the executor
        succeeded = _count(counts, "ok")
    else:
        succeeded = max(_count(counts, "done") - failed - skipped, 0)
    progress = common_pb2.Progress(
        total=int(status.total or counts.get("total", 0)),
        succeeded=succeeded,
        failed=failed,
        in_flight=_count(counts, "in_flight"),
        pending=_count(counts, "pending"),
        skipped=skipped,
        prompt_tokens=_count(counts, "prompt_tokens"),
        completion_tokens=completion,
        tokens_per_second=completion / elapsed if elapsed > 0 else 0.0,
    )
    message = common_pb2.Job(
        job_id=status.job_id,
        operation=status.operation,
        phase=_PHASES[status.phase],
        progress=progress,
        artifacts=[common_pb2.Artifact(name=text(k), uri=text(v)) for k, v in sorted(status.artifacts.items())],
        last_error=text(status.last_error),
        message=text(status.message),
    )
    if status.started_at:
        message.started_at.FromNanoseconds(int(status.started_at * 1e9))
    if status.finished_at:
        message.finished_at.FromNanoseconds(int(status.finished_at * 1e9))
    return message
