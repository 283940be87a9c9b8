"""Prometheus metrics of one executor run, on a registry the run owns, optionally served over HTTP."""

from __future__ import annotations

import logging
import threading
from types import TracebackType
from typing import Any
from wsgiref.simple_server import WSGIServer

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, start_http_server

__all__ = ["ExecutorMetrics"]

log = logging.getLogger(__name__)

_LATENCY_BUCKETS = (0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600)


class ExecutorMetrics:
    """Counters, gauges and histograms of a batch; ``serve`` exposes them on a loopback port."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.requests = Counter(
            "patchline_requests", "Finished requests by outcome (ok, failed, skipped).", ["outcome"], registry=r
        )
        self.attempts = Counter(
            "patchline_attempts", "HTTP attempts by endpoint index and status code.", ["endpoint", "status"], registry=r
        )
        self.retries = Counter("patchline_retries", "Attempts that were retried.", registry=r)
        self.reasoning_only = Counter(
            "patchline_reasoning_only", "Answers with empty content and non-empty reasoning.", registry=r
        )
        self.tokens = Counter("patchline_tokens", "Tokens reported by the servers.", ["kind"], registry=r)
        self.in_flight = Gauge("patchline_in_flight", "Requests being sent or waiting for a retry.", registry=r)
        self.latency = Histogram(
            "patchline_request_seconds",
            "Latency of a request over all its attempts.",
            buckets=_LATENCY_BUCKETS,
            registry=r,
        )
        # Labelled children bound once: ``labels()`` takes a lock and builds a key on every call.
        self.ok, self.failed, self.skipped = (self.requests.labels(o) for o in ("ok", "failed", "skipped"))
        self.prompt_tokens, self.completion_tokens = (self.tokens.labels(k) for k in ("prompt", "completion"))
        self._attempt_children: dict[tuple[int, int], Any] = {}
        self._server: WSGIServer | None = None
        self._thread: threading.Thread | None = None

    def count_attempt(self, endpoint_index: int, status: int) -> None:
        """Count one HTTP attempt (status 0: no answer) against its endpoint."""
        child = self._attempt_children.get((endpoint_index, status))
        if child is None:
            child = self._attempt_children[(endpoint_index, status)] = self.attempts.labels(
                str(endpoint_index), str(status)
            )
        child.inc()

    def serve(self, port: int, *, host: str = "127.0.0.1") -> int:
        """Serve ``/metrics`` on ``host:port`` (0 = a free port) in a thread; returns the port."""
        server, thread = start_http_server(port, addr=host, registry=self.registry)
        self._server, self._thread = server, thread
        bound = int(server.server_address[1])
        log.info("metrics on http://%s:%d/metrics", host, bound)
        return bound

    def close(self) -> None:
        """Stop the HTTP server if one was started."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> ExecutorMetrics:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
