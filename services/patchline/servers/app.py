"""Build and run the gRPC server hosting one or more patchline services, with health and reflection."""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection
from prometheus_client import start_http_server
from pydantic import SecretStr

from patchline.client import MAX_MESSAGE_BYTES, SERVICE_NAMES
from patchline.client.auth import ClientAuth
from patchline.core.access import AccessPolicy
from patchline.core.batch import DEFAULT_REQUEST_PATHS, checked_request_path
from patchline.core.errors import InputError
from patchline.core.redact import Redactor
from patchline.core.settings import KeySets, configured_secrets
from patchline.pipeline.jobs import JobManager, JobPhase
from patchline.pipeline.operations import HostServices, Operation
from patchline.pipeline.registry import default_operations
from patchline.retrieval import IndexLimits
from patchline.servers.auth import ServerAuth, TokenInterceptor, check_bind
from patchline.servers.edge import Edge
from patchline.servers.metrics import MetricsInterceptor, ServerMetrics
from patchline.servers.retriever import ServiceRetriever
from patchline.servers.services import SERVICERS

__all__ = ["SERVICE_NAMES", "RunningServer", "ServerSettings", "create_server", "serve"]

log = logging.getLogger(__name__)

SERVER_OPTIONS = (
    ("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
    ("grpc.max_send_message_length", MAX_MESSAGE_BYTES),
)


@dataclass(frozen=True)
class ServerSettings:
    """How to run the server process, and what its callers may reach (see docs/security.md)."""

    services: Sequence[str] = ("prompts", "retrieval", "gateway", "patches")
    host: str = "127.0.0.1"
    port: int = 50051
    store_uri: str = "./results"  # the one read-write root of requests (runs, caches such as retrieval indexes)
    allow_read: tuple[str, ...] = ()  # read-only roots requests may name (datasets, repositories, templates)
    allow_buckets: tuple[str, ...] = ()  # read-only S3 buckets requests may name
    allow_endpoints: tuple[str, ...] = ()  # model endpoints requests may send to (host:port or URL prefixes)
    allow_request_paths: tuple[str, ...] = DEFAULT_REQUEST_PATHS  # the request-line urls the gateway sends
    key_sets: KeySets = field(default_factory=KeySets)  # API keys requests may name, by key-set name
    auth: ServerAuth = field(default_factory=ServerAuth)  # TLS and bearer token
    insecure: bool = False  # allow listening beyond loopback without TLS or token
    health_port: int | None = None  # a plain port serving only health checks (probes that cannot speak TLS)
    index_limits: IndexLimits = field(default_factory=IndexLimits)  # bounds of one BM25 index build
    metrics_port: int | None = None
    grace_seconds: float = 10.0
    drain_seconds: float = 1.0  # NOT_SERVING before refusing connections (bounded by half the grace)
    # Where PromptBuilder's EditBench builds run BM25: a Retrieval service's host:port (reached with the
    # PATCHLINE_TOKEN_FILE / PATCHLINE_TLS_* credentials); None: this server's own Retrieval service when it
    # hosts one and speaks no TLS (over loopback, with its own token), else BM25 in the prompt builder's process.
    retrieval_address: str | None = None
    operations: Mapping[str, Operation[Any]] = field(default_factory=default_operations)
    redactor: Redactor = field(default_factory=Redactor)  # secrets besides the configured keys and credentials

    def access_policy(self) -> AccessPolicy:
        """The allowlists of these settings (InputError for a root, bucket or rule that cannot be used)."""
        return AccessPolicy.configure(
            store=self.store_uri,
            allow_read=self.allow_read,
            allow_buckets=self.allow_buckets,
            allow_endpoints=self.allow_endpoints,
            key_sets=self.key_sets,
        )

    def all_secrets(self) -> Redactor:
        """Every secret the server may hold: each key set's keys, storage credentials, and ``redactor``'s."""
        return Redactor(configured_secrets(key_sets=self.key_sets)) + self.redactor


@dataclass
class RunningServer:
    """A started server: its port, health servicer and job managers (for shutdown)."""

    server: grpc.aio.Server
    port: int
    health: health.aio.HealthServicer
    managers: dict[str, JobManager]
    metrics: ServerMetrics
    health_server: grpc.aio.Server | None = None  # the plain health-only port, when one was asked for
    health_port: int | None = None

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
        if self.health_server is not None:
            await self.health_server.stop(0)
        await jobs

    def refresh_job_metrics(self) -> None:
        """Publish job counts by phase."""
        for service, manager in self.managers.items():
            for phase in JobPhase:
                self.metrics.jobs.labels(service, phase.value).set(manager.count(phase))


def _retriever(settings: ServerSettings, port: int, tokens: tuple[bytes, ...]) -> ServiceRetriever | None:
    """The Retrieval service a PromptBuilder lends its BM25 builds (see ``ServerSettings.retrieval_address``)."""
    if settings.retrieval_address:
        return ServiceRetriever(settings.retrieval_address, auth=ClientAuth.load())
    if "retrieval" in settings.services and not settings.auth.tls:
        token = SecretStr(tokens[0].decode()) if tokens else None
        return ServiceRetriever(f"127.0.0.1:{port}", auth=ClientAuth(token=token))
    return None


def _managers(
    settings: ServerSettings, redactor: Redactor, retriever: ServiceRetriever | None
) -> dict[str, JobManager]:
    unknown = set(settings.services) - set(SERVICE_NAMES)
    if unknown or not settings.services:
        raise InputError(f"unknown service(s) {sorted(unknown)}; choose from {', '.join(SERVICE_NAMES)}")
    host = HostServices(
        key_sets=settings.key_sets,
        index_limits=settings.index_limits,
        request_paths=frozenset(checked_request_path(path) for path in settings.allow_request_paths),
    )
    lent = replace(host, retriever=retriever)
    return {
        name: JobManager(
            {k: op for k, op in settings.operations.items() if op.ref.service == name},
            services=lent if name == "prompts" else host,
            redactor=redactor,
        )
        for name in settings.services
    }


def _bind(server: grpc.aio.Server, settings: ServerSettings) -> int:
    """Add the listening port (TLS when configured); the bound port number."""
    check_bind(settings.host, settings.auth, insecure=settings.insecure)
    address = f"{settings.host}:{settings.port}"
    credentials = settings.auth.server_credentials()
    port = server.add_secure_port(address, credentials) if credentials else server.add_insecure_port(address)
    return int(port)


async def _health_only(settings: ServerSettings, servicer: health.aio.HealthServicer) -> tuple[grpc.aio.Server, int]:
    """A plain server answering health checks only, for probes that speak neither TLS nor tokens."""
    server = grpc.aio.server()
    health_pb2_grpc.add_HealthServicer_to_server(servicer, server)
    port = server.add_insecure_port(f"{settings.host}:{settings.health_port}")
    await server.start()
    return server, int(port)


async def create_server(settings: ServerSettings) -> RunningServer:
    """Create, bind and start the server; port 0 picks a free port (see ``RunningServer.port``)."""
    policy = settings.access_policy()
    redactor = settings.all_secrets()
    metrics = ServerMetrics()
    tokens = settings.auth.tokens()
    interceptors: list[grpc.aio.ServerInterceptor] = [MetricsInterceptor(metrics)]
    if tokens:
        interceptors.append(TokenInterceptor(tokens))
    server = grpc.aio.server(options=SERVER_OPTIONS, interceptors=interceptors)
    port = _bind(server, settings)
    managers = _managers(settings, redactor, _retriever(settings, port, tokens))
    edge = Edge(policy, redactor, settings.index_limits)
    servicers = {servicer.service: servicer for servicer in SERVICERS}
    for name, manager in managers.items():
        servicer = servicers[name]
        servicer.add_to_server(servicer(manager, edge), server)
    health_servicer = health.aio.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    names = [SERVICE_NAMES[name] for name in managers]
    reflection.enable_server_reflection([*names, health.SERVICE_NAME, reflection.SERVICE_NAME], server)
    await server.start()
    health_server, health_port = None, None
    if settings.health_port is not None:
        health_server, health_port = await _health_only(settings, health_servicer)
    for name in ["", *names]:
        await health_servicer.set(name, health_pb2.HealthCheckResponse.SERVING)
    if settings.metrics_port is not None:
        start_http_server(settings.metrics_port, addr=settings.host, registry=metrics.registry)
    auth = ", ".join(part for part, on in (("TLS", settings.auth.tls), ("token", bool(tokens))) if on) or "no auth"
    log.info("serving %s on %s:%d (%s)", ", ".join(managers), settings.host, port, auth)
    return RunningServer(server, port, health_servicer, managers, metrics, health_server, health_port)


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
