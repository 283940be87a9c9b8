"""Build and run the gRPC server hosting one or more patchline services, with health and reflection."""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection
from prometheus_client import start_http_server

from patchline.client import MAX_MESSAGE_BYTES, SERVICE_NAMES
from patchline.core.errors import InputError
from patchline.core.redact import Redactor
from patchline.pipeline.jobs import JobManager, JobPhase
from patchline.pipeline.operations import HostServices, Operation
from patchline.pipeline.registry import default_operations
from patchline.rpc.v1 import gateway_pb2_grpc, patches_pb2_grpc, prompts_pb2_grpc, retrieval_pb2_grpc
from patchline.servers.metrics import MetricsInterceptor, ServerMetrics
from patchline.servers.retriever import ServiceRetriever
from patchline.servers.services import (
    InferenceGatewayServicer,
    PatchProcessorServicer,
    PromptBuilderServicer,
    RetrievalServicer,
)

__all__ = ["SERVICE_NAMES", "RunningServer", "ServerSettings", "create_server", "serve"]

log = logging.getLogger(__name__)

SERVER_OPTIONS = (
    ("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
    ("grpc.max_send_message_length", MAX_MESSAGE_BYTES),
)


@dataclass(frozen=True)
class ServerSettings:
    """How to run the server process."""

    services: Sequence[str] = ("prompts", "retrieval", "gateway", "patches")
    host: str = "127.0.0.1"
    port: int = 50051
    store_uri: str = "./results"  # default root for caches (retrieval indexes)
    metrics_port: int | None = None
    grace_seconds: float = 10.0
    drain_seconds: float = 1.0  # NOT_SERVING before refusing connections (bounded by half the grace)
    # Where PromptBuilder's EditBench builds run BM25: a Retrieval service's host:port; None: this server's
    # own Retrieval service when it hosts one, else BM25 in the prompt builder's process.
    retrieval_address: str | None = None
    operations: Mapping[str, Operation[Any]] = field(default_factory=default_operations)
    redactor: Redactor = field(default_factory=Redactor)  # the configured secrets, kept out of job statuses


@dataclass
class RunningServer:
    """A started server: its port, health servicer and job managers (for shutdown)."""

    server: grpc.aio.Server
    port: int
    health: health.aio.HealthServicer
    managers: dict[str, JobManager]
    metrics: ServerMetrics

    async def stop(self, grace: float, *, drain: float = 0.0) -> None:
        """Graceful shutdown: NOT_SERVING, cancel jobs (they checkpoint), stop accepting, let RPCs finish.

        For ``drain`` seconds (within ``grace``) the server keeps answering while reporting NOT_SERVING, so
        probes and load balancers see it leave before connections are refused.
        """
        await self.health.enter_graceful_shutdown()
        drain = min(drain, grace / 2)
        jobs = asyncio.gather(*(manager.shutdown(grace=grace) for manager in self.managers.values()))
        await asyncio.sleep(drain)
        await self.server.stop(grace - drain)
        await jobs

    def refresh_job_metrics(self) -> None:
        """Publish job counts by phase."""
        for service, manager in self.managers.items():
            for phase in JobPhase:
                self.metrics.jobs.labels(service, phase.value).set(manager.count(phase))


def _managers(settings: ServerSettings, port: int) -> dict[str, JobManager]:
    unknown = set(settings.services) - set(SERVICE_NAMES)
    if unknown or not settings.services:
        raise InputError(f"unknown service(s) {sorted(unknown)}; choose from {', '.join(SERVICE_NAMES)}")
    retrieval = settings.retrieval_address or (f"127.0.0.1:{port}" if "retrieval" in settings.services else None)
    lent = HostServices(retriever=ServiceRetriever(retrieval) if retrieval else None)
    return {
        name: JobManager(
            {k: op for k, op in settings.operations.items() if op.service == name},
            services=lent if name == "prompts" else HostServices(),
            redactor=settings.redactor,
        )
        for name in settings.services
    }


async def create_server(settings: ServerSettings) -> RunningServer:
    """Create, bind and start the server; port 0 picks a free port (see ``RunningServer.port``)."""
    metrics = ServerMetrics()
    server = grpc.aio.server(options=SERVER_OPTIONS, interceptors=[MetricsInterceptor(metrics)])
    port = server.add_insecure_port(f"{settings.host}:{settings.port}")
    managers = _managers(settings, port)
    adders = {
        "prompts": lambda m: prompts_pb2_grpc.add_PromptBuilderServiceServicer_to_server(
            PromptBuilderServicer(m), server
        ),
        "patches": lambda m: patches_pb2_grpc.add_PatchProcessorServiceServicer_to_server(
            PatchProcessorServicer(m), server
        ),
        "gateway": lambda m: gateway_pb2_grpc.add_InferenceGatewayServiceServicer_to_server(
            InferenceGatewayServicer(m), server
        ),
        "retrieval": lambda m: retrieval_pb2_grpc.add_RetrievalServiceServicer_to_server(
            RetrievalServicer(m, cache_uri=settings.store_uri), server
        ),
    }
    for name, manager in managers.items():
        adders[name](manager)
    health_servicer = health.aio.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    names = [SERVICE_NAMES[name] for name in managers]
    reflection.enable_server_reflection([*names, health.SERVICE_NAME, reflection.SERVICE_NAME], server)
    await server.start()
    for name in ["", *names]:
        await health_servicer.set(name, health_pb2.HealthCheckResponse.SERVING)
    if settings.metrics_port is not None:
        start_http_server(settings.metrics_port, addr=settings.host, registry=metrics.registry)
    log.info("serving %s on %s:%d", ", ".join(managers), settings.host, port)
    return RunningServer(server, port, health_servicer, managers, metrics)


async def serve(settings: ServerSettings) -> None:
    """Run until SIGTERM or SIGINT, then shut down gracefully."""
    running = await create_server(settings)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    print(f"patchline services {', '.join(running.managers)} listening on {settings.host}:{running.port}", flush=True)
    while not stop.is_set():
        running.refresh_job_metrics()
        try:
            await asyncio.wait_for(stop.wait(), timeout=5.0)
        except TimeoutError:
            continue
    log.info("shutting down (grace %.0f s)", settings.grace_seconds)
    await running.stop(settings.grace_seconds, drain=settings.drain_seconds)
