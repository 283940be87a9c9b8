"""The stage driver's local backend: stages in this process, or on ``patchline serve`` (``--via``).

The model is started when the first stage that needs it is reached, and stopped when the run ends.
Through ``--via`` every stage is a job on the services, started idempotently by an id derived from the run
root and the stage, so a rerun re-attaches to a job still running there.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
from collections.abc import Awaitable, Callable
from types import TracebackType
from typing import Any

from patchline.core.access import absolute_local_paths
from patchline.core.errors import InputError, PatchlineError
from patchline.core.progress import Progress
from patchline.core.settings import ClientAuthFiles, KeySets
from patchline.core.spec import InferenceRun, ModelEndpoints, Phase, Rollout, StageSettings
from patchline.core.store import ArtifactStore
from patchline.pipeline.driver import StageOutcome, counts_from
from patchline.pipeline.engines import ServedModel, engine_for, serve_engine
from patchline.pipeline.operations import HostServices, Operation
from patchline.pipeline.plan import StagePlan

__all__ = ["LocalBackend", "stage_job_id"]


def stage_job_id(run: Rollout | InferenceRun, run_uri: str, stage: str) -> str:
    """``{run}-{stage}-{hash of the run root}``: one job per stage and run root on the services."""
    digest = hashlib.sha256(run_uri.encode()).hexdigest()[:10]
    return f"{run.metadata.name}-{stage}-{digest}"


class LocalBackend:
    """Runs stages in process (``via`` None) or on the services at ``via``; use as ``async with``."""

    def __init__(
        self,
        run: Rollout | InferenceRun,
        *,
        store: ArtifactStore,
        progress: Progress,
        via: str | None = None,
        endpoint_override: str | None = None,
        watch_deadline_s: float = 7 * 24 * 3600.0,
        on_server: Callable[[tuple[str, ...]], Awaitable[None]] | None = None,
        key_sets: KeySets | None = None,
        auth: ClientAuthFiles | None = None,
    ) -> None:
        self._run, self._store, self._progress = run, store, progress
        self._via, self._watch_deadline_s, self._on_server = via, watch_deadline_s, on_server
        self._services = HostServices(key_sets=key_sets or KeySets(), selection_hooks=True)
        self._auth = auth or ClientAuthFiles()
        self._engine = engine_for(run, endpoint_override=endpoint_override)
        self._stack = contextlib.AsyncExitStack()
        self._served: ServedModel | None = None

    async def __aenter__(self) -> LocalBackend:
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self._stack.aclose()

    async def endpoints(self) -> ModelEndpoints:
        """The model's endpoints; the model (oracle, SGLang) is started on the first call."""
        if self._served is None:
            self._served = await self._stack.enter_async_context(
                serve_engine(self._run, self._engine, run_uri=self._store.root, key_sets=self._services.key_sets)
            )
            if self._served.server_args and self._on_server is not None:
                await self._on_server(self._served.server_args)
        return self._served.endpoints

    async def run(self, stage: StagePlan, settings: StageSettings, *, new_attempt: bool = True) -> StageOutcome:
        """Run the stage to its end: a failed operation is a Failed outcome with its reason.

        In process every call does the work; on the services a new attempt runs a succeeded job of the stage's
        id again, and a call that is not re-attaches to the job.
        """
        try:
            if self._via is not None:
                return await self._remote(stage, settings, self._via, run_again=new_attempt)
            return await self._in_process(stage, settings)
        finally:
            self._progress.finish()

    async def _in_process(self, stage: StagePlan, settings: StageSettings) -> StageOutcome:
        from patchline.pipeline.registry import OPERATIONS  # the workflows load only when a stage runs here

        operation: Operation[Any] | None = OPERATIONS.get(stage.operation.name)
        if operation is None:
            raise InputError(f"stage {stage.name}: unknown operation {stage.operation.name}")
        context = operation.context(self._store, settings, self._progress, self._services)
        try:
            if operation.run_async is not None:
                result = await operation.run_async(context)
            elif operation.run is not None:
                result = await asyncio.to_thread(operation.run, context)
            else:
                raise InputError(f"operation {operation.ref.name} has nothing to run")
        except PatchlineError as exc:
            return StageOutcome(Phase.FAILED, message=str(exc))
        return StageOutcome(
            Phase.SUCCEEDED, counts_from(result.counts), artifacts=dict(result.artifacts), message=result.message
        )

    async def _remote(self, stage: StagePlan, settings: StageSettings, target: str, *, run_again: bool) -> StageOutcome:
        from patchline.pipeline.remote import run_remote_stage  # imports gRPC only when asked for

        job_id = stage_job_id(self._run, self._store.root, stage.name)
        # The services resolve relative paths below their store: send the paths as this folder means them.
        here = os.getcwd()
        root = self._store.root
        run_uri = root if "://" in root else os.path.normpath(os.path.join(here, root))
        sent = absolute_local_paths(settings, base=here)
        return await run_remote_stage(
            target,
            job_id,
            stage,
            sent,
            run_uri,
            self._progress,
            self._watch_deadline_s,
            run_again=run_again,
            auth=self._auth,
        )
