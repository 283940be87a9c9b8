"""Client helpers for the services: one channel per target, deadlines on every call, retries on UNAVAILABLE only."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Mapping
from typing import Any

import grpc
from google.protobuf import struct_pb2

from patchline.rpc.v1 import (
    common_pb2,
    gateway_pb2,
    gateway_pb2_grpc,
    patches_pb2_grpc,
    prompts_pb2_grpc,
    retrieval_pb2_grpc,
)
from patchline.servers.app import MAX_MESSAGE_BYTES, SERVICE_NAMES

__all__ = ["CHANNEL_OPTIONS", "ServiceClient", "inference_request", "struct_from"]

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


def struct_from(params: Mapping[str, Any]) -> struct_pb2.Struct:
    """Parameters as a protobuf Struct (JSON-compatible values only)."""
    message = struct_pb2.Struct()
    message.update(json.loads(json.dumps(dict(params))))
    return message


def inference_request(job_id: str, params: Mapping[str, Any]) -> gateway_pb2.StartInferenceRequest:
    """The gateway's Start request for an inference stage's parameters (endpoints and model included)."""
    return gateway_pb2.StartInferenceRequest(
        job_id=job_id,
        input_uri=params["input"],
        output_uri=params["output"],
        endpoints=list(params["endpoints"]),
        model=params.get("model") or "",
        api_key_env=params.get("api_key_env") or "",
        executor=gateway_pb2.ExecutorOptions(
            concurrency=int(params.get("concurrency") or 0),
            timeout_seconds=float(params.get("timeout") or 0),
            max_attempts=int(params.get("max_attempts") or 0),
            affinity=bool(params.get("affinity")),
            compact=bool(params.get("compact")),
            deadline_seconds=float(params.get("deadline") or 0),
        ),
    )


class ServiceClient:
    """Stubs of every service on one target (``host:port``); use as ``async with``."""

    def __init__(self, target: str, *, deadline: float = DEFAULT_DEADLINE) -> None:
        self.target = target
        self.deadline = deadline
        self._channel = grpc.aio.insecure_channel(target, options=CHANNEL_OPTIONS)
        self.prompts = prompts_pb2_grpc.PromptBuilderStub(self._channel)
        self.patches = patches_pb2_grpc.PatchProcessorStub(self._channel)
        self.gateway = gateway_pb2_grpc.InferenceGatewayStub(self._channel)
        self.retrieval = retrieval_pb2_grpc.RetrievalStub(self._channel)

    async def __aenter__(self) -> ServiceClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._channel.close()

    def _stub(self, service: str) -> Any:
        return {"prompts": self.prompts, "patches": self.patches, "gateway": self.gateway, "retrieval": self.retrieval}[
            service
        ]

    async def start_job(
        self, service: str, job_id: str, operation: str, run_uri: str, params: Mapping[str, Any]
    ) -> common_pb2.Job:
        """Start (or re-attach to) a workflow operation on a service."""
        request = common_pb2.StartJobRequest(
            job_id=job_id, operation=operation, run_uri=run_uri, params=struct_from(params)
        )
        job: common_pb2.Job = await self._stub(service).Start(request, timeout=self.deadline, wait_for_ready=True)
        return job

    async def start_inference(self, request: gateway_pb2.StartInferenceRequest) -> common_pb2.Job:
        """Start (or re-attach to) an inference job on the gateway."""
        job: common_pb2.Job = await self.gateway.Start(request, timeout=self.deadline, wait_for_ready=True)
        return job

    async def get(self, service: str, job_id: str) -> common_pb2.Job:
        """The job's current state."""
        job: common_pb2.Job = await self._stub(service).Get(common_pb2.JobRef(job_id=job_id), timeout=self.deadline)
        return job

    async def cancel(self, service: str, job_id: str) -> common_pb2.Job:
        """Cancel a job; its finished work stays in its artifacts."""
        job: common_pb2.Job = await self._stub(service).Cancel(common_pb2.JobRef(job_id=job_id), timeout=self.deadline)
        return job

    async def watch(self, service: str, job_id: str, *, deadline: float | None = None) -> AsyncIterator[common_pb2.Job]:
        """Stream the job's state until it is terminal (``deadline`` bounds the whole stream)."""
        call = self._stub(service).Watch(common_pb2.JobRef(job_id=job_id), timeout=deadline)
        async for job in call:
            yield job
