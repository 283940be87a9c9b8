"""Running a stage through ``patchline serve``: Start (idempotent by job id), then Watch until it ends."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import grpc

from patchline.client import ServiceClient, artifacts_of, job_phase, progress_of
from patchline.client.auth import ClientAuth
from patchline.core.errors import InputError, UnavailableError
from patchline.core.progress import Progress
from patchline.core.settings import ClientAuthFiles, client_auth_files_from_env
from patchline.core.spec import Phase, StageSettings
from patchline.pipeline.driver import StageOutcome
from patchline.pipeline.plan import StagePlan
from patchline.rpc.v1 import common_pb2

__all__ = ["run_remote_stage"]

# Refusals that only a change on the caller's side (the manifest, the credentials) can get past.
_CALLER_MUST_CHANGE = frozenset(
    {grpc.StatusCode.INVALID_ARGUMENT, grpc.StatusCode.UNAUTHENTICATED, grpc.StatusCode.PERMISSION_DENIED}
)


async def run_remote_stage(
    target: str,
    job_id: str,
    stage: StagePlan,
    settings: StageSettings,
    run_uri: str,
    progress: Progress,
    deadline: float,
    *,
    run_again: bool,
    auth: ClientAuthFiles | None = None,
) -> StageOutcome:
    """Run one stage on the services at ``target`` (with ``auth`` over the environment's credentials); a rerun
    re-attaches to the same job id."""
    credentials = ClientAuth.load(client_auth_files_from_env().merged(auth or ClientAuthFiles()))
    with _one_line_errors(target, stage.name, job_id, stage.operation.service):
        async with ServiceClient(target, auth=credentials) as client:
            await client.wait_until_reachable()
            await client.start_job(
                stage.operation.service, job_id, stage.operation.name, run_uri, settings, run_again=run_again
            )
            progress.start(f"{stage.name} ({target})", None)
            final: common_pb2.Job | None = None
            seen = 0
            async for job in client.watch(stage.operation.service, job_id, deadline=deadline):
                done = job.progress.succeeded + job.progress.failed + job.progress.skipped
                if done > seen:
                    progress.advance(int(done - seen))
                    seen = done
                final = job
        if final is None:
            return StageOutcome(Phase.FAILED, message=f"the watch of {job_id} on {target} ended without a state")
        phase = job_phase(final)
        if phase is Phase.RUNNING:  # the stream ended at a non-final state: the job was cancelled there
            return StageOutcome(Phase.FAILED, progress_of(final), message=f"cancelled on {target}: {final.message}")
        message = final.last_error if phase is Phase.FAILED else final.message
        return StageOutcome(phase, progress_of(final), artifacts=artifacts_of(final), message=message)


@contextlib.contextmanager
def _one_line_errors(target: str, stage: str, job_id: str, service: str) -> Iterator[None]:
    """A server's refusal (or a lost connection) as one line naming the stage and the server; a job that is
    in the way also says how to stop it."""
    try:
        yield
    except grpc.aio.AioRpcError as exc:
        kind = InputError if exc.code() in _CALLER_MUST_CHANGE else UnavailableError
        hint = ""
        if exc.code() == grpc.StatusCode.FAILED_PRECONDITION:
            hint = f" (to stop it: patchline jobs cancel --via {target} --service {service} {job_id})"
        raise kind(f"{stage} on {target}: {exc.code().name}: {exc.details()}{hint}") from None
