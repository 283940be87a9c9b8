"""Rollout handlers: the workflow's stages in order, on the services and as child InferenceRuns, one server.

The stages are the local runner's (``plan_rollout``). A stage that builds or processes files is a job on
its service (PromptBuilder, PatchProcessor, Retrieval), started idempotently by a derived id; a plain
inference stage is a child InferenceRun whose engine is an endpoint pointing at the Rollout's one model
server, followed through the child's status. ``status.stages`` is the state: each tick resumes at the
first stage not Succeeded, so an operator restart continues where the last one stopped.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Mapping
from typing import Any

import kopf

from patchline.core.errors import InputError, PatchlineError
from patchline.core.spec import (
    ConditionType,
    EndpointEngine,
    InferenceRunStatus,
    Phase,
    ProgressCounts,
    Rollout,
    RolloutStatus,
    ServedEngine,
    SGLangEngine,
    StageStatus,
    parse_manifest,
)
from patchline.pipeline.plan import StagePlan, plan_rollout
from patchline_operator.jobs import artifacts_of, endpoints_params, follow_job, is_failed, is_succeeded, job_id
from patchline_operator.jobs import progress_of as job_progress
from patchline_operator.kube import KINDS
from patchline_operator.runtime import Runtime
from patchline_operator.server import ModelTarget, delete_server, ensure_server, model_target
from patchline_operator.status import as_body, now, publish, with_condition

__all__ = ["GROUP", "PLURAL", "VERSION", "child_name", "child_run", "reconcile_rollout"]

log = logging.getLogger(__name__)

GROUP, VERSION, PLURAL = "patchline.dev", "v1alpha1", "rollouts"
REF = KINDS[("patchline.dev/v1alpha1", "Rollout")]
STAGE_LABEL = "patchline.dev/stage"
ROLLOUT_LABEL = "patchline.dev/rollout"


def load_rollout(body: Mapping[str, Any]) -> Rollout:
    """The validated Rollout (raises InputError naming the field)."""
    meta = body.get("metadata") or {}
    run = parse_manifest(dict(body), source=f"Rollout {meta.get('namespace')}/{meta.get('name')}")
    if not isinstance(run, Rollout):
        raise InputError(f"expected a Rollout, got {run.kind}")
    return run


def child_name(rollout: str, stage: str) -> str:
    """``{rollout}-{stage}`` as a DNS name (shortened with a hash past 63 characters)."""
    name = f"{rollout}-{stage.replace('_', '-')}".lower()
    if len(name) <= 63:
        return name
    return f"{name[:54].rstrip('-')}-{hashlib.sha256(name.encode()).hexdigest()[:8]}"


def child_run(rollout: Rollout, plan: StagePlan, target: ModelTarget, namespace: str) -> dict[str, Any]:
    """The child InferenceRun of an inference stage: the Rollout's server as an endpoint, the stage's files."""
    engine = EndpointEngine(
        type="endpoint",
        urls=list(target.urls),
        model=target.model,
        api_key_env=target.api_key_env,
        flavor="sglang" if isinstance(rollout.spec.engine, SGLangEngine) else "openai",
    )
    labels = {**rollout.metadata.labels, ROLLOUT_LABEL: rollout.metadata.name, STAGE_LABEL: plan.name}
    return {
        "apiVersion": rollout.api_version,
        "kind": "InferenceRun",
        "metadata": {"name": child_name(rollout.metadata.name, plan.name), "namespace": namespace, "labels": labels},
        "spec": {
            "engine": engine.to_manifest(),
            "input": plan.params["input"],
            "output": plan.params["output"],
            "executor": rollout.spec.executor.to_manifest(),
        },
    }


def _stages(plans: list[StagePlan], status: RolloutStatus) -> list[StageStatus]:
    known = {s.name: s for s in status.stages}
    return [known.get(p.name, StageStatus(name=p.name)).model_copy(deep=True) for p in plans]


def _finish_stage(stage: StageStatus, *, ok: bool | None, counts: ProgressCounts, message: str) -> None:
    stage.counts, stage.message = counts, message
    stage.started_at = stage.started_at or now()
    if ok is None:
        stage.phase = Phase.RUNNING
        return
    stage.phase = Phase.SUCCEEDED if ok else Phase.FAILED
    stage.finished_at = now()


async def _service_stage(
    rt: Runtime, body: Mapping[str, Any], plan: StagePlan, run_uri: str, target: ModelTarget | None, stage: StageStatus
) -> Phase:
    meta = body["metadata"]
    params = dict(plan.params)
    if plan.needs_model and target is not None:
        params = endpoints_params(params, target.urls, target.model, target.api_key_env)
    job = job_id(meta["namespace"], meta["name"], meta.get("uid", ""), plan.name)
    client = rt.services.client(plan.service)
    state = await follow_job(
        client, plan.service, job, lambda: client.start_job(plan.service, job, plan.operation, run_uri, params)
    )
    done = True if is_succeeded(state) else False if is_failed(state) else None
    _finish_stage(stage, ok=done, counts=job_progress(state), message=state.last_error or state.message)
    stage.artifacts = {**stage.artifacts, **artifacts_of(state)}
    return stage.phase


async def _inference_stage(
    rt: Runtime, body: Mapping[str, Any], rollout: Rollout, plan: StagePlan, target: ModelTarget, stage: StageStatus
) -> Phase:
    namespace = body["metadata"]["namespace"]
    child = child_run(rollout, plan, target, namespace)
    kopf.adopt(child, owner=as_body(body))
    found, _ = await rt.kube.create_or_get(child, namespace)
    child_status = InferenceRunStatus.model_validate(found.get("status") or {})
    phase = child_status.phase
    done = True if phase == Phase.SUCCEEDED else False if phase == Phase.FAILED else None
    _finish_stage(stage, ok=done, counts=child_status.progress, message=child_status.message)
    stage.artifacts = {**stage.artifacts, "responses": plan.params["output"]}
    return stage.phase


async def _advance(rt: Runtime, body: Mapping[str, Any], rollout: Rollout, new: RolloutStatus) -> None:
    """Run stages in order as far as they finish now; stop at one still running, failed or waiting."""
    namespace = body["metadata"]["namespace"]
    run_uri = rollout.output_uri(rt.config.store_uri)
    plans = plan_rollout(rollout, run_uri=run_uri)
    new.stages = _stages(plans, new)
    for plan, stage in zip(plans, new.stages, strict=True):
        if stage.phase == Phase.SUCCEEDED:
            continue
        new.current_stage = plan.name
        target = await model_target(rt.kube, rollout, namespace, rt.config) if plan.needs_model else None
        if plan.needs_model and target is None:
            new.phase, new.message = Phase.PROVISIONING, f"{plan.name}: waiting for the model server"
            new.conditions = with_condition(new.conditions, ConditionType.SERVER_READY, False, "Provisioning")
            return
        if target is not None:
            new.endpoints, new.model = list(target.urls), target.model
        if plan.is_inference and target is not None:
            outcome = await _inference_stage(rt, body, rollout, plan, target, stage)
        else:
            outcome = await _service_stage(rt, body, plan, run_uri, target, stage)
        new.progress = stage.counts
        if outcome != Phase.SUCCEEDED:
            new.phase = Phase.FAILED if outcome == Phase.FAILED else Phase.RUNNING
            new.message = f"{plan.name}: {stage.message}" if stage.message else plan.name
            return
    new.phase, new.current_stage = Phase.SUCCEEDED, ""
    new.message = f"{len(plans)} stages succeeded"


def _conditions(new: RolloutStatus, rollout: Rollout) -> None:
    if isinstance(rollout.spec.engine, ServedEngine) and new.endpoints:
        new.conditions = with_condition(new.conditions, ConditionType.SERVER_READY, True, "PodsReady")
    if new.phase == Phase.SUCCEEDED:
        new.conditions = with_condition(new.conditions, ConditionType.PROGRESSING, False, "Finished")
        new.conditions = with_condition(new.conditions, ConditionType.COMPLETE, True, "Succeeded", new.message)
    elif new.phase == Phase.FAILED:
        new.conditions = with_condition(new.conditions, ConditionType.PROGRESSING, False, "StageFailed", new.message)
        new.conditions = with_condition(new.conditions, ConditionType.FAILED, True, "StageFailed", new.message)
    elif new.phase == Phase.RUNNING:
        new.conditions = with_condition(new.conditions, ConditionType.PROGRESSING, True, "Running", new.message)


async def fail_rollout(rt: Runtime, body: Mapping[str, Any], reason: str, message: str) -> None:
    """Phase Failed with the reason and a warning Event."""
    old = RolloutStatus.model_validate(body.get("status") or {})
    new = old.model_copy(deep=True)
    new.phase, new.message = Phase.FAILED, message
    new.conditions = with_condition(new.conditions, ConditionType.FAILED, True, reason, message)
    await publish(rt.kube, REF, body, old, new)


async def reconcile_rollout(rt: Runtime, body: Mapping[str, Any]) -> bool:
    """One look at the Rollout: advance its stages and write the status. True once it is finished."""
    try:
        rollout = load_rollout(body)
        old = RolloutStatus.model_validate(body.get("status") or {})
        if old.phase.is_final:
            return True
        new = old.model_copy(deep=True)
        new.output_uri = rollout.output_uri(rt.config.store_uri)
        await _advance(rt, body, rollout, new)
    except InputError as exc:
        await fail_rollout(rt, body, "InvalidSpec", str(exc))
        return True
    _conditions(new, rollout)
    await publish(rt.kube, REF, body, old, new)
    if new.current_stage != old.current_stage and new.current_stage:
        kopf.info(as_body(body), reason="Stage", message=f"stage {new.current_stage} started")
    if not new.phase.is_final:
        return False
    engine = rollout.spec.engine
    if isinstance(engine, ServedEngine) and not engine.keep_server:
        await delete_server(rt.kube, rollout, body["metadata"]["namespace"])
    return True


@kopf.on.create(GROUP, VERSION, PLURAL)
async def rollout_created(body: kopf.Body, memo: kopf.Memo, **_: Any) -> None:
    """Validate the spec (a bad one fails the Rollout for good) and start its model server early."""
    rt = Runtime.of(memo)
    try:
        rollout = load_rollout(body)
        plan_rollout(rollout, run_uri=rollout.output_uri(rt.config.store_uri))
    except InputError as exc:
        await fail_rollout(rt, body, "InvalidSpec", str(exc))
        raise kopf.PermanentError(str(exc)) from exc
    if isinstance(rollout.spec.engine, ServedEngine):
        await ensure_server(rt.kube, rollout, body, body["metadata"]["namespace"], config=rt.config)


@kopf.daemon(GROUP, VERSION, PLURAL, cancellation_timeout=10.0)
async def rollout_daemon(body: kopf.Body, memo: kopf.Memo, logger: kopf.Logger, **_: Any) -> None:
    """Drive the stages until the Rollout is finished (cancelled when it is deleted or the operator stops)."""
    rt = Runtime.of(memo)
    while True:
        try:
            if await reconcile_rollout(rt, body):
                return
        except PatchlineError as exc:  # unreachable services or API: try again next tick
            logger.warning("not progressing yet: %s", exc)
        await asyncio.sleep(rt.config.poll_seconds)


@kopf.on.delete(GROUP, VERSION, PLURAL, retries=5, backoff=2.0)
async def rollout_deleted(body: kopf.Body, memo: kopf.Memo, **_: Any) -> None:
    """Cancel the running service job and delete the server and the child InferenceRuns now."""
    rt = Runtime.of(memo)
    meta = body["metadata"]
    try:
        rollout = load_rollout(body)
        plans = plan_rollout(rollout, run_uri=rollout.output_uri(rt.config.store_uri))
    except InputError:
        return  # an invalid Rollout never started anything
    for plan in plans:
        if plan.is_inference:
            await rt.kube.delete_if_exists(
                rollout.api_version, "InferenceRun", meta["namespace"], child_name(meta["name"], plan.name)
            )
        else:
            await rt.cancel(plan.name, plan.service, meta)
    if isinstance(rollout.spec.engine, ServedEngine):
        await delete_server(rt.kube, rollout, meta["namespace"])
