"""Writing a run's status: declared fields only (through the status models), conditions, and Events on change."""

from __future__ import annotations

import datetime
from collections.abc import Mapping, Sequence
from typing import Any, cast

import kopf

from patchline.core.spec import Condition, ConditionType, InferenceRunStatus, Phase, StageStatus
from patchline.pipeline.driver import DriveResult
from patchline.pipeline.plan import StagePlan
from patchline_operator.kube import KubeApi, Ref

__all__ = ["apply_drive", "as_body", "condition", "now", "publish", "set_conditions", "with_condition"]

_FAILED_PHASES = (Phase.FAILED,)


def as_body(body: Mapping[str, Any]) -> kopf.Body:
    """A resource as Kopf's event and adoption helpers take it (they only read its metadata)."""
    return cast(kopf.Body, body)


def now() -> datetime.datetime:
    """The current time, UTC, whole seconds (as Kubernetes writes times)."""
    return datetime.datetime.now(tz=datetime.UTC).replace(microsecond=0)


def condition(conditions: list[Condition], kind: ConditionType) -> Condition | None:
    """The condition of one type, if reported."""
    return next((c for c in conditions if c.type == kind.value), None)


def with_condition(
    conditions: list[Condition], kind: ConditionType, status: bool, reason: str, message: str = ""
) -> list[Condition]:
    """``conditions`` with one type set; its transition time only moves when its status changes."""
    value = "True" if status else "False"
    old = condition(conditions, kind)
    since = old.last_transition_time if old is not None and old.status == value else now()
    new = Condition(type=kind.value, status=value, reason=reason, message=message, last_transition_time=since)
    return [*(c for c in conditions if c.type != kind.value), new]


def apply_drive(status: InferenceRunStatus, result: DriveResult, planned: Sequence[StagePlan]) -> None:
    """A run's status after a walk of its stages: phase, current stage, counts, and every stage in order
    (the ones not reached yet as Pending)."""
    reached = {record.name for record in result.records}
    status.stages = [
        *result.records,
        *(StageStatus(name=p.name, operation=p.operation.name) for p in planned if p.name not in reached),
    ]
    status.phase = result.phase
    status.current_stage = result.stage if result.phase in (Phase.RUNNING, Phase.PROVISIONING) else ""
    status.message = result.message
    if result.records:
        status.progress = result.records[-1].counts
    if result.endpoints is not None:
        status.endpoints = list(result.endpoints.urls)
        status.model = result.endpoints.model or status.model


def set_conditions(status: InferenceRunStatus, *, server: bool) -> None:
    """The conditions of a run's phase (``server``: patchline runs the model server)."""
    if server and status.endpoints:
        status.conditions = with_condition(status.conditions, ConditionType.SERVER_READY, True, "PodsReady")
    if status.phase == Phase.PROVISIONING:
        status.conditions = with_condition(
            status.conditions, ConditionType.SERVER_READY, False, "Provisioning", status.message
        )
    elif status.phase == Phase.SUCCEEDED:
        status.conditions = with_condition(status.conditions, ConditionType.PROGRESSING, False, "Finished")
        status.conditions = with_condition(status.conditions, ConditionType.COMPLETE, True, "Succeeded", status.message)
    elif status.phase == Phase.FAILED:
        message = status.message
        status.conditions = with_condition(status.conditions, ConditionType.PROGRESSING, False, "StageFailed", message)
        status.conditions = with_condition(status.conditions, ConditionType.FAILED, True, "StageFailed", message)
    elif status.phase == Phase.RUNNING:
        status.conditions = with_condition(
            status.conditions, ConditionType.PROGRESSING, True, "Running", status.message
        )


def _dump(status: InferenceRunStatus) -> dict[str, Any]:
    return status.model_dump(mode="json", by_alias=True, exclude_none=True)


async def publish(
    kube: KubeApi,
    ref: Ref,
    body: Mapping[str, Any],
    old: InferenceRunStatus,
    new: InferenceRunStatus,
) -> None:
    """Patch the status when it changed, and post an Event when the phase moved."""
    meta = body["metadata"]
    new.observed_generation = meta.get("generation", new.observed_generation)
    dumped = _dump(new)
    if dumped == _dump(old):
        return
    await kube.patch_status(ref, meta["namespace"], meta["name"], dumped)
    if new.phase != old.phase:
        text = new.message or new.progress.summary or f"{old.phase.value} -> {new.phase.value}"
        if new.phase in _FAILED_PHASES:
            kopf.warn(as_body(body), reason=new.phase.value, message=text)
        else:
            kopf.info(as_body(body), reason=new.phase.value, message=text)
