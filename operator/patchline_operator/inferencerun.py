"""InferenceRun handlers: provision the model server, run the gateway job, report progress, clean up.

Every tick derives the next step from the status, the cluster and the gateway (nothing is kept in memory):
server objects exist (create-or-get) -> pods ready (EndpointSlices) -> the run's one stage, walked by the
stage driver with the local runner's rules, as a gateway job (idempotent by a derived id) -> its counts and
record written to status -> on completion the server is deleted (unless keepServer).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import kopf

from patchline.core.errors import InputError
from patchline.core.spec import ConditionType, InferenceRun, InferenceRunStatus, Phase, ServedEngine
from patchline.pipeline.driver import drive
from patchline.pipeline.plan import plan_inference_run, planned_stages, run_root
from patchline_operator.backend import ClusterBackend, StatusBook
from patchline_operator.kube import KINDS
from patchline_operator.lifecycle import admit, follower, load_resource
from patchline_operator.runtime import Runtime
from patchline_operator.server import delete_server, ensure_server
from patchline_operator.status import apply_drive, publish, set_conditions, with_condition

__all__ = ["GROUP", "PLURAL", "VERSION", "reconcile_inference_run"]

log = logging.getLogger(__name__)

GROUP, VERSION, PLURAL = "patchline.dev", "v1alpha1", "inferenceruns"
REF = KINDS[("patchline.dev/v1alpha1", "InferenceRun")]
STAGE = "infer"


def load_run(body: Mapping[str, Any]) -> InferenceRun:
    """The validated run (raises InputError naming the field)."""
    return load_resource(body, InferenceRun)


def current_status(body: Mapping[str, Any]) -> InferenceRunStatus:
    """The status as last written (Kopf's own keys, if any, are ignored)."""
    return InferenceRunStatus.model_validate(body.get("status") or {})


async def fail(rt: Runtime, body: Mapping[str, Any], reason: str, message: str) -> None:
    """Phase Failed with the reason (conditions Failed, Progressing false) and a warning Event."""
    old = current_status(body)
    new = old.model_copy(deep=True)
    new.phase, new.message = Phase.FAILED, message
    new.conditions = with_condition(new.conditions, ConditionType.FAILED, True, reason, message)
    new.conditions = with_condition(new.conditions, ConditionType.PROGRESSING, False, reason, message)
    await publish(rt.kube, REF, body, old, new)


async def reconcile_inference_run(rt: Runtime, body: Mapping[str, Any]) -> bool:
    """One look at the run: its one stage walked by the stage driver, and the status. True once it is finished."""
    meta = body["metadata"]
    try:
        run = load_run(body)
    except InputError as exc:
        await fail(rt, body, "InvalidSpec", str(exc))
        return True
    old = current_status(body)
    if old.phase.is_final:
        return True
    if isinstance(run.spec.engine, ServedEngine):
        await ensure_server(rt.kube, run, body, meta["namespace"], config=rt.config)
    new = old.model_copy(deep=True)
    new.output_uri = run.output_uri(rt.config.store_uri)
    new.model = new.model or run.spec.engine.model_name
    plan = plan_inference_run(run, base=rt.config.store_uri)
    backend = ClusterBackend(rt, body, run, run_root(run, rt.config.store_uri))
    try:
        result = await drive(plan, StatusBook(new), backend)
    except InputError as exc:
        await fail(rt, body, "StartRefused", str(exc))
        return True
    apply_drive(new, result, planned_stages(plan))
    set_conditions(new, server=isinstance(run.spec.engine, ServedEngine))
    await publish(rt.kube, REF, body, old, new)
    if not new.phase.is_final:
        return False
    engine = run.spec.engine
    if isinstance(engine, ServedEngine) and not engine.keep_server:
        await delete_server(rt.kube, run, meta["namespace"])
    return True


@kopf.on.create(GROUP, VERSION, PLURAL)
async def inference_run_created(body: kopf.Body, memo: kopf.Memo, **_: Any) -> None:
    """Validate the spec (a bad one fails the run, never retried) and start the server it needs."""
    await admit(Runtime.of(memo), body, lambda: load_run(body), fail)


# Follows each resource until it is finished (cancelled when it is deleted or the operator stops).
inference_run_daemon = follower(GROUP, VERSION, PLURAL, reconcile_inference_run, handler_id="inference_run_daemon")


@kopf.on.delete(GROUP, VERSION, PLURAL, retries=5, backoff=2.0)
async def inference_run_deleted(body: kopf.Body, memo: kopf.Memo, **_: Any) -> None:
    """Cancel the gateway job and delete the server now (owner references would, later, on a real cluster)."""
    rt = Runtime.of(memo)
    meta = body["metadata"]
    await rt.cancel(STAGE, "gateway", meta)
    try:
        run = load_run(body)
    except InputError:
        return  # an invalid run never got a server
    if isinstance(run.spec.engine, ServedEngine):
        await delete_server(rt.kube, run, meta["namespace"])
