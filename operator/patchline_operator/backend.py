"""The stage driver's cluster backend: service jobs and child InferenceRuns, one look per tick.

The driver (``patchline.pipeline.driver``) walks the plan with its rules; this backend only says where each
stage stands now. A stage that builds or processes files is a job on its service, started idempotently by
an id derived from the resource and the stage; a Rollout's inference stage is a child InferenceRun whose
engine is an endpoint at the Rollout's one model server, followed through the child's status; an
InferenceRun's own inference stage is a job on the gateway. Records live in the resource's
``status.stages`` (:class:`StatusBook`), so an operator restart continues where the last one stopped.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

import kopf

from patchline.client import artifacts_of, job_phase, progress_of
from patchline.core.spec import (
    EndpointEngine,
    InferenceRun,
    InferenceRunSpec,
    InferenceRunStatus,
    InferenceStage,
    ModelEndpoints,
    Phase,
    Rollout,
    StageSettings,
    StageStatus,
)
from patchline.pipeline.driver import StageOutcome
from patchline.pipeline.plan import StagePlan
from patchline_operator.jobs import follow_job, job_id, start_job
from patchline_operator.runtime import Runtime
from patchline_operator.server import model_target
from patchline_operator.status import as_body

__all__ = ["ROLLOUT_LABEL", "STAGE_LABEL", "ClusterBackend", "StatusBook", "child_name", "child_run"]

STAGE_LABEL = "patchline.dev/stage"
ROLLOUT_LABEL = "patchline.dev/rollout"


class StatusBook:
    """Stage records in a status object's ``stages`` list (in plan order, replaced by name)."""

    def __init__(self, status: InferenceRunStatus) -> None:
        self.status = status

    async def get(self, name: str) -> StageStatus | None:
        """The record of ``name`` as last written to the status."""
        return next((s for s in self.status.stages if s.name == name), None)

    async def put(self, record: StageStatus) -> None:
        """Replace (or append) the record of ``record.name``."""
        stages = [s for s in self.status.stages if s.name != record.name]
        index = next((i for i, s in enumerate(self.status.stages) if s.name == record.name), len(stages))
        stages.insert(index, record)
        self.status.stages = stages


def child_name(rollout: str, stage: str) -> str:
    """``{rollout}-{stage}`` as a DNS name (shortened with a hash past 63 characters)."""
    name = f"{rollout}-{stage.replace('_', '-')}".lower()
    if len(name) <= 63:
        return name
    return f"{name[:54].rstrip('-')}-{hashlib.sha256(name.encode()).hexdigest()[:8]}"


def child_run(rollout: Rollout, stage: StagePlan, settings: InferenceStage, namespace: str) -> dict[str, Any]:
    """The child InferenceRun of an inference stage: the stage's settings, the model as an endpoint engine."""
    target = settings.endpoints
    if target is None:
        raise ValueError(f"stage {stage.name} has no endpoints")
    engine = EndpointEngine(
        type="endpoint",
        urls=list(target.urls),
        model=target.model or rollout.spec.engine.model_name,
        flavor=target.flavor,
        thinking_processor=target.thinking_processor,
        api_key_set=target.api_key_set,
    )
    labels = {**rollout.metadata.labels, ROLLOUT_LABEL: rollout.metadata.name, STAGE_LABEL: stage.name}
    return {
        "apiVersion": rollout.api_version,
        "kind": "InferenceRun",
        "metadata": {"name": child_name(rollout.metadata.name, stage.name), "namespace": namespace, "labels": labels},
        "spec": {
            "engine": engine.to_manifest(),
            "input": settings.input,
            "output": settings.output,
            "executor": settings.executor.to_manifest(),
        },
    }


class ClusterBackend:
    """Where each stage of one resource stands on the cluster now (see the module docstring)."""

    def __init__(self, rt: Runtime, body: Mapping[str, Any], run: Rollout | InferenceRun, run_uri: str) -> None:
        self.rt, self.body, self.resource, self.run_uri = rt, body, run, run_uri
        self.namespace: str = body["metadata"]["namespace"]

    async def endpoints(self) -> ModelEndpoints | None:
        """The run's model endpoints now; None while its server has no ready pod."""
        return await model_target(self.rt.kube, self.resource, self.namespace, self.rt.config)

    async def run(self, stage: StagePlan, settings: StageSettings, *, new_attempt: bool) -> StageOutcome:
        """One look at ``stage``: started if it was not (or if this is a new attempt), its state and counts."""
        if isinstance(self.resource, Rollout) and isinstance(settings, InferenceStage):
            return await self._child(stage, settings, self.resource, new_attempt=new_attempt)
        return await self._job(stage, settings, new_attempt=new_attempt)

    async def _job(self, stage: StagePlan, settings: StageSettings, *, new_attempt: bool) -> StageOutcome:
        meta = self.body["metadata"]
        job = job_id(meta["namespace"], meta["name"], meta.get("uid", ""), stage.name)
        client = self.rt.services.client(stage.operation.service)

        def start() -> Any:
            return client.start_job(
                stage.operation.service, job, stage.operation.name, self.run_uri, settings, run_again=new_attempt
            )

        state = await (start_job(start) if new_attempt else follow_job(client, stage.operation.service, job, start))
        phase = job_phase(state)
        message = state.last_error if state.last_error else state.message
        return StageOutcome(phase, progress_of(state), artifacts=artifacts_of(state), message=message)

    async def _child(
        self, stage: StagePlan, settings: InferenceStage, rollout: Rollout, *, new_attempt: bool
    ) -> StageOutcome:
        child = child_run(rollout, stage, settings, self.namespace)
        kopf.adopt(child, owner=as_body(self.body))
        found, _ = await self.rt.kube.create_or_get(child, self.namespace)
        status = InferenceRunStatus.model_validate(found.get("status") or {})
        artifacts = {"requests": settings.input, "responses": settings.output}
        name = found["metadata"]["name"]
        if found["metadata"].get("deletionTimestamp"):
            return StageOutcome(Phase.RUNNING, message=f"waiting for the earlier attempt's InferenceRun {name} to go")
        # A child of other settings (the Rollout was edited), or a finished one when the stage runs again, is
        # replaced: its deletion cancels its job, and the next look creates the new one.
        other = InferenceRunSpec.model_validate(found["spec"]) != InferenceRunSpec.model_validate(child["spec"])
        if other or (new_attempt and status.phase.is_final):
            await self.rt.kube.delete_if_exists(child["apiVersion"], "InferenceRun", self.namespace, name)
            return StageOutcome(Phase.RUNNING, message=f"replacing InferenceRun {name} of an earlier attempt")
        phase = status.phase if status.phase.is_final else Phase.RUNNING
        return StageOutcome(phase, status.progress, artifacts=artifacts, message=status.message)
