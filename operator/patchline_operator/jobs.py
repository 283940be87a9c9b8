"""Jobs on the patchline services, as the operator sees them: derived ids, start-or-follow, counts for status.

A job id is derived from the resource (namespace, name, uid) and the stage, so every tick - and every
restarted operator - addresses the same job. Start is idempotent by id; a service that restarted and no
longer knows the job answers Get with FAILED_PRECONDITION, and Start then resumes it from its artifacts.
"""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import grpc

from patchline.client import ServiceClient
from patchline.client.auth import ClientAuth
from patchline.core.errors import InputError, UnavailableError
from patchline.rpc.v1 import common_pb2
from patchline_operator.config import SERVICES, OperatorConfig

__all__ = ["RESTART_CODES", "ServiceClients", "cancel_job", "follow_job", "job_id", "start_job"]

# Get answers these for a job the service does not run (any more): Start it again.
RESTART_CODES = (grpc.StatusCode.FAILED_PRECONDITION, grpc.StatusCode.NOT_FOUND)


@dataclass
class ServiceClients:
    """One gRPC client per distinct service address, opened at startup and closed at cleanup."""

    config: OperatorConfig
    _by_target: dict[str, ServiceClient] = field(default_factory=dict)

    def __post_init__(self) -> None:
        auth = ClientAuth.load(self.config.auth)
        for service in SERVICES:
            target = self.config.target(service)
            if target not in self._by_target:
                self._by_target[target] = ServiceClient(target, auth=auth)

    def client(self, service: str) -> ServiceClient:
        """The client of the address that hosts ``service``."""
        return self._by_target[self.config.target(service)]

    async def close(self) -> None:
        """Close every channel."""
        for client in self._by_target.values():
            await client.close()


def job_id(namespace: str, name: str, uid: str, stage: str) -> str:
    """``{name}-{stage}-{hash}``: stable for one resource, different for a re-created one (new uid)."""
    digest = hashlib.sha256(f"{namespace}/{name}/{uid}".encode()).hexdigest()[:12]
    return f"{name}-{stage}-{digest}"


async def follow_job(
    client: ServiceClient, service: str, job: str, start: Callable[[], Awaitable[common_pb2.Job]]
) -> common_pb2.Job:
    """The job's state; a job the service does not know, or one that was cancelled (a service shutting
    down cancels its jobs), is started again and resumes from its artifacts."""
    try:
        state = await client.get(service, job)
    except grpc.aio.AioRpcError as exc:
        if exc.code() in RESTART_CODES:
            return await start_job(start)
        raise UnavailableError(f"{service} service: {exc.code().name}: {exc.details()}") from exc
    if state.phase == common_pb2.PHASE_CANCELLED:
        return await start_job(start)
    return state


async def start_job(start: Callable[[], Awaitable[common_pb2.Job]]) -> common_pb2.Job:
    """Start the job (the ``start`` call says whether a succeeded one runs again); a refusal is an error."""
    try:
        return await start()
    except grpc.aio.AioRpcError as exc:
        if exc.code() == grpc.StatusCode.INVALID_ARGUMENT:
            raise InputError(f"Start refused: {exc.details()}") from exc
        raise UnavailableError(f"Start: {exc.code().name}: {exc.details()}") from exc


async def cancel_job(client: ServiceClient, service: str, job: str) -> bool:
    """Cancel a job; False when the service does not run it (nothing to cancel)."""
    try:
        await client.cancel(service, job)
    except grpc.aio.AioRpcError as exc:
        if exc.code() in RESTART_CODES:
            return False
        raise UnavailableError(f"Cancel on {service}: {exc.code().name}: {exc.details()}") from exc
    return True
