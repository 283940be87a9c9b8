"""Prometheus metrics of a server process: RPC counts and latencies, and jobs by phase."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Any

import grpc
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

__all__ = ["MetricsInterceptor", "ServerMetrics"]


class ServerMetrics:
    """The metric families of one server, on a registry it owns (no global registry)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.rpcs = Counter("patchline_rpc_total", "RPCs handled", ["method", "code"], registry=self.registry)
        self.latency = Histogram(
            "patchline_rpc_seconds",
            "Time to handle an RPC (to the first message for streams)",
            ["method"],
            registry=self.registry,
        )
        self.jobs = Gauge("patchline_jobs", "Jobs by service and phase", ["service", "phase"], registry=self.registry)


class MetricsInterceptor(grpc.aio.ServerInterceptor):  # type: ignore[misc]  # grpc ships no type stubs
    """Counts every RPC and times unary ones."""

    def __init__(self, metrics: ServerMetrics) -> None:
        self._metrics = metrics

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler]],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler:
        handler = await continuation(handler_call_details)
        if handler is None or handler.unary_unary is None:
            if handler is not None:
                self._metrics.rpcs.labels(handler_call_details.method, "STREAM").inc()
            return handler
        method = handler_call_details.method
        inner = handler.unary_unary
        metrics = self._metrics

        async def timed(request: Any, context: grpc.aio.ServicerContext) -> Any:
            started = time.perf_counter()
            code = "OK"
            try:
                return await inner(request, context)
            except BaseException:
                code = (context.code() or grpc.StatusCode.UNKNOWN).name
                raise
            finally:
                metrics.rpcs.labels(method, code).inc()
                metrics.latency.labels(method).observe(time.perf_counter() - started)

        return grpc.unary_unary_rpc_method_handler(
            timed, request_deserializer=handler.request_deserializer, response_serializer=handler.response_serializer
        )
