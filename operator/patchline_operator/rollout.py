"""Rollout handlers: the workflow's stages walked by the stage driver, on the services and as child
InferenceRuns, with one model server.

The stages and the rules (when a stage is done, when it fails, what a rerun retries) are the local runner's:
``plan_rollout`` and ``patchline.pipeline.driver``; :mod:`patchline_operator.backend` says where each stage
stands on the cluster. ``status.stages`` is the state: each tick resumes at the first stage not Succeeded.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import kopf

from patchline.core.errors import InputError
from patchline.core.spec import ConditionType, Phase, Rollout, RolloutStatus, ServedEngine
from patchline.pipeline.driver import DriveResult, drive
from patchline.pipeline.plan import plan_rollout, planned_stages
from patchline_operator.backend import ClusterBackend, StatusBook, child_name
from patchline_operator.kube import KINDS
from patchline_operator.lifecycle import admit, follower, load_resource
from patchline_operator.runtime import Runtime
from patchline_operator.server import delete_server
from patchline_operator.status import apply_drive, as_body, publish, set_conditions, with_condition

__all__ = ["GROUP", "PLURAL", "VERSION", "reconcile_rollout"]

log = logging.getLogger(__name__)

GROUP, VERSION, PLURAL = "patchline.dev", "v1alpha1", "rollouts"
REF = KINDS[("patchline.dev/v1alpha1", "Rollout")]


def load_rollout(body: Mapping[str, Any]) -> Rollout:
    """The validated Rollout (raises InputError naming the field)."""
    return load_resource(body, Rollout)


async def _advance(rt: Runtime, body: Mapping[str, Any], rollout: Rollout, new: RolloutStatus) -> DriveResult:
    """Walk the stages as far as they finish now; stop at one still running, failed or waiting."""
    run_uri = rollout.output_uri(rt.config.store_uri)
    plan = plan_rollout(rollout, run_uri=run_uri)
    result = await drive(plan, StatusBook(new), ClusterBackend(rt, body, rollout, run_uri))
    apply_drive(new, result, planned_stages(plan))
    return result


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
    set_conditions(new, server=isinstance(rollout.spec.engine, ServedEngine))
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
    """Validate the spec and the plan (a bad one fails the Rollout for good) and start its model server early."""
    rt = Runtime.of(memo)

    def validated() -> Rollout:
        rollout = load_rollout(body)
        plan_rollout(rollout, run_uri=rollout.output_uri(rt.config.store_uri))
        return rollout

    await admit(rt, body, validated, fail_rollout)


# Follows each resource until it is finished (cancelled when it is deleted or the operator stops).
rollout_daemon = follower(GROUP, VERSION, PLURAL, reconcile_rollout, handler_id="rollout_daemon")


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
    status = RolloutStatus.model_validate(body.get("status") or {})
    for stage in planned_stages(plans, seen=[s.name for s in status.stages]):
        if stage.is_inference:
            await rt.kube.delete_if_exists(
                rollout.api_version, "InferenceRun", meta["namespace"], child_name(meta["name"], stage.name)
            )
        else:
            await rt.cancel(stage.name, stage.operation.service, meta)
    if isinstance(rollout.spec.engine, ServedEngine):
        await delete_server(rt.kube, rollout, meta["namespace"])
