"""What the InferenceRun and Rollout handlers do alike: read the resource, admit it, follow it until it ends.

The kind-specific parts (how a run is validated, how it fails, one reconcile step) are passed in, so both
resources keep one set of rules: a bad spec fails for good, a served engine is started as soon as the
resource is admitted, and trouble reaching the services or the API is retried on the next tick.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, TypeVar

import kopf

from patchline.core.errors import InputError, PatchlineError
from patchline.core.spec import InferenceRun, Rollout, ServedEngine, parse_manifest
from patchline_operator.runtime import Runtime
from patchline_operator.server import ensure_server

__all__ = ["admit", "follow", "follower", "load_resource"]

Run = TypeVar("Run", InferenceRun, Rollout)
Body = Mapping[str, Any]
Fail = Callable[[Runtime, Body, str, str], Awaitable[None]]
Reconcile = Callable[[Runtime, Body], Awaitable[bool]]


def load_resource(body: Body, kind: type[Run]) -> Run:
    """The validated resource of ``kind`` (InputError naming the field)."""
    meta = body.get("metadata") or {}
    run = parse_manifest(dict(body), source=f"{kind.__name__} {meta.get('namespace')}/{meta.get('name')}")
    if not isinstance(run, kind):
        raise InputError(f"expected a {kind.__name__}, got {run.kind}")
    return run


async def admit(rt: Runtime, body: Body, validate: Callable[[], InferenceRun | Rollout], fail: Fail) -> None:
    """Validate the spec (a bad one fails the resource, never retried) and start the model server it needs.

    The status is left to the daemon: one writer, in order.
    """
    try:
        run = validate()
    except InputError as exc:
        await fail(rt, body, "InvalidSpec", str(exc))
        raise kopf.PermanentError(str(exc)) from exc
    if isinstance(run.spec.engine, ServedEngine):
        await ensure_server(rt.kube, run, body, body["metadata"]["namespace"], config=rt.config)


async def follow(rt: Runtime, body: Body, logger: kopf.Logger, reconcile: Reconcile) -> None:
    """Reconcile every poll interval until ``reconcile`` says the resource is finished."""
    while True:
        try:
            if await reconcile(rt, body):
                return
        except PatchlineError as exc:  # unreachable services or API: try again next tick
            logger.warning("not progressing yet: %s", exc)
        await asyncio.sleep(rt.config.poll_seconds)


def follower(group: str, version: str, plural: str, reconcile: Reconcile, *, handler_id: str) -> Any:
    """The Kopf daemon of a resource kind: :func:`follow` with ``reconcile``, cancelled when the resource is
    deleted or the operator stops. ``handler_id`` is Kopf's id of the handler (kept across versions)."""

    async def daemon(body: kopf.Body, memo: kopf.Memo, logger: kopf.Logger, **_: Any) -> None:
        await follow(Runtime.of(memo), body, logger, reconcile)

    return kopf.daemon(group, version, plural, id=handler_id, cancellation_timeout=10.0)(daemon)
