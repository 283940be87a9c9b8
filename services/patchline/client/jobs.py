"""Job messages read back as the run spec's status types: phase and counts, one mapping for every client."""

from __future__ import annotations

from patchline.core.spec import Phase, ProgressCounts
from patchline.rpc.v1 import common_pb2

__all__ = ["artifacts_of", "job_phase", "progress_of"]

_PHASES = {
    common_pb2.PHASE_SUCCEEDED: Phase.SUCCEEDED,
    common_pb2.PHASE_FAILED: Phase.FAILED,
}


def job_phase(job: common_pb2.Job) -> Phase:
    """Succeeded, Failed, or Running for every other state (pending, running, cancelled: not final yet)."""
    return _PHASES.get(job.phase, Phase.RUNNING)


def progress_of(job: common_pb2.Job) -> ProgressCounts:
    """Status counts of a job: items done by an earlier attempt (skipped) count as succeeded."""
    p = job.progress
    counts = ProgressCounts(
        total=int(p.total) if p.total else None,
        succeeded=int(p.succeeded + p.skipped),
        failed=int(p.failed),
        in_flight=int(p.in_flight),
        pending=int(p.pending),
        tokens=int(p.prompt_tokens + p.completion_tokens),
        tokens_per_second=round(float(p.tokens_per_second), 3),
    )
    counts.summary = counts.render()
    return counts


def artifacts_of(job: common_pb2.Job) -> dict[str, str]:
    """The job's artifact URIs by name."""
    return {a.name: a.uri for a in job.artifacts}
