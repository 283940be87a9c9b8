"""A client of the patchline services: one channel per target, a deadline on every call, retries on UNAVAILABLE.

It imports only the generated rpc code and the settings models, so whatever uses it (``patchline run --via``,
the operator, a researcher's own tooling) loads no servicer and none of the domain code.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Mapping
from types import MappingProxyType
from typing import Any

from patchline.client.auth import ClientAuth, open_channel
from patchline.client.messages import start_job_request, to_message
from patchline.core.errors import UnavailableError
from patchline.core.spec import InferenceStage, StageSettings
from patchline.rpc.v1 import (
    common_pb2,
    gateway_pb2,
    gateway_pb2_grpc,
    patches_pb2,
    patches_pb2_grpc,
    prompts_pb2,
    prompts_pb2_grpc,
    retrieval_pb2,
    retrieval_pb2_grpc,
)

__all__ = [
    "CHANNEL_OPTIONS",
    "CONNECT_TIMEOUT",
    "DEFAULT_DEADLINE",
    "MAX_MESSAGE_BYTES",
    "SERVICE_NAMES",
    "ServiceClient",
]

# Explicit limits: messages carry URIs and settings, so 16 MiB is generous and still bounded.
MAX_MESSAGE_BYTES = 16 * 1024 * 1024

# Service key -> full gRPC name, from the descriptors (what health checks and reflection list). Read-only.
SERVICE_NAMES: Mapping[str, str] = MappingProxyType(
    {
        "prompts": prompts_pb2.DESCRIPTOR.services_by_name["PromptBuilderService"].full_name,
        "retrieval": retrieval_pb2.DESCRIPTOR.services_by_name["RetrievalService"].full_name,
        "gateway": gateway_pb2.DESCRIPTOR.services_by_name["InferenceGatewayService"].full_name,
        "patches": patches_pb2.DESCRIPTOR.services_by_name["PatchProcessorService"].full_name,
    }
)

# gRPC's own retry machinery (service config), limited to UNAVAILABLE: the only code that means
# "this call did not happen, try again". Everything else is the server's answer.
_RETRY_CONFIG = {
    "methodConfig": [
        {
            "name": [{"service": full_name} for full_name in SERVICE_NAMES.values()],
            "retryPolicy": {
                "maxAttempts": 5,
                "initialBackoff": "0.2s",
                "maxBackoff": "5s",
                "backoffMultiplier": 2,
                "retryableStatusCodes": ["UNAVAILABLE"],
            },
        }
    ]
}
CHANNEL_OPTIONS = (
    ("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
    ("grpc.max_send_message_length", MAX_MESSAGE_BYTES),
    ("grpc.enable_retries", 1),
    ("grpc.service_config", json.dumps(_RETRY_CONFIG)),
)
DEFAULT_DEADLINE = 30.0
CONNECT_TIMEOUT = 5.0  # how long a caller that needs the server now waits for its channel to connect


class ServiceClient:
    """Stubs of every service on one target (``host:port``); use as ``async with``.

    ``auth`` is the TLS and token the client presents; None loads them from ``PATCHLINE_TOKEN_FILE`` /
    ``PATCHLINE_TLS_*`` (none set: plain, as a loopback server without auth expects).
    """

    def __init__(self, target: str, *, deadline: float = DEFAULT_DEADLINE, auth: ClientAuth | None = None) -> None:
        self.target = target
        self.deadline = deadline
        self._channel = open_channel(target, auth if auth is not None else ClientAuth.load(), options=CHANNEL_OPTIONS)
        self.prompts = prompts_pb2_grpc.PromptBuilderServiceStub(self._channel)
        self.patches = patches_pb2_grpc.PatchProcessorServiceStub(self._channel)
        self.gateway = gateway_pb2_grpc.InferenceGatewayServiceStub(self._channel)
        self.retrieval = retrieval_pb2_grpc.RetrievalServiceStub(self._channel)

    async def __aenter__(self) -> ServiceClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def close(self) -> None:
        """Close the channel."""
        await self._channel.close()

    async def wait_until_reachable(self, timeout: float = CONNECT_TIMEOUT) -> None:
        """Connect now; UnavailableError in one line when nothing answers at the target within ``timeout``.

        Calls wait for a server that is starting (``wait_for_ready``); a user who points ``--via`` at the wrong
        address should hear so in seconds, not as a deadline traceback.
        """
        try:
            await asyncio.wait_for(self._channel.channel_ready(), timeout)
        except TimeoutError:
            raise UnavailableError(
                f"nothing answers at {self.target} (waited {timeout:g} s): is `patchline serve` running there?"
            ) from None

    def _stub(self, service: str) -> Any:
        stubs = {"prompts": self.prompts, "patches": self.patches, "gateway": self.gateway, "retrieval": self.retrieval}
        return stubs[service]

    async def start_job(
        self,
        service: str,
        job_id: str,
        operation: str,
        run_uri: str,
        settings: StageSettings,
        *,
        run_again: bool = False,
    ) -> common_pb2.Job:
        """Start (or re-attach to) a stage's job: inference settings on the gateway (StartInference, whose run
        root is the output's folder), every other kind with StartJob on ``service``. ``run_again``: a
        succeeded job of this id runs again instead of being returned."""
        if isinstance(settings, InferenceStage):
            return await self.start_inference(job_id, settings, run_again=run_again)
        request = start_job_request(job_id, operation, run_uri, settings, run_again=run_again)
        job: common_pb2.Job = await self._stub(service).StartJob(request, timeout=self.deadline, wait_for_ready=True)
        return job

    async def start_inference(self, job_id: str, stage: InferenceStage, *, run_again: bool = False) -> common_pb2.Job:
        """Start (or re-attach to) an inference job on the gateway; ``run_again``: also a succeeded job."""
        request = gateway_pb2.StartInferenceRequest(job_id=job_id, stage=to_message(stage), run_again=run_again)
        job: common_pb2.Job = await self.gateway.StartInference(request, timeout=self.deadline, wait_for_ready=True)
        return job

    async def get(self, service: str, job_id: str) -> common_pb2.Job:
        """The job's current state."""
        request = common_pb2.GetJobRequest(job_id=job_id)
        job: common_pb2.Job = await self._stub(service).GetJob(request, timeout=self.deadline)
        return job

    async def cancel(self, service: str, job_id: str) -> common_pb2.Job:
        """Cancel a job; its finished work stays in its artifacts."""
        request = common_pb2.CancelJobRequest(job_id=job_id)
        job: common_pb2.Job = await self._stub(service).CancelJob(request, timeout=self.deadline)
        return job

    async def watch(self, service: str, job_id: str, *, deadline: float | None = None) -> AsyncIterator[common_pb2.Job]:
        """Stream the job's state until it is terminal (``deadline`` bounds the whole stream)."""
        call = self._stub(service).WatchJob(common_pb2.WatchJobRequest(job_id=job_id), timeout=deadline)
        async for job in call:
            yield job

    async def search(
        self, repo: str, commit: str | None, query: str, *, top_n: int, exclude: list[str] | None = None
    ) -> list[tuple[str, float]]:
        """BM25 search on the Retrieval service: ``(path, score)`` pairs, best first."""
        request = retrieval_pb2.SearchRequest(
            repo=repo, commit=commit or "", query=query, top_n=top_n, exclude=exclude or []
        )
        answer: retrieval_pb2.SearchResponse = await self.retrieval.Search(request, timeout=self.deadline)
        return [(hit.path, hit.score) for hit in answer.hits]
