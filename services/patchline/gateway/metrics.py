"""Prometheus metrics of one executor run, read from the run's live counters when scraped.

The counts already exist (the run's :class:`Accounting`, and a few counters kept here as plain ints):
a collector turns them into metric families on each scrape instead of updating prometheus-client
metrics per request, whose lock per update costs more than the executor's own work on a request.
The registry is the run's own; ``serve`` exposes it on a loopback port.
"""

from __future__ import annotations

import bisect
import logging
import threading
from collections.abc import Iterator
from wsgiref.simple_server import WSGIServer

from prometheus_client import CollectorRegistry, start_http_server
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector

from patchline.core.closing import Closing
from patchline.gateway.accounting import Accounting

__all__ = ["ExecutorMetrics"]

log = logging.getLogger(__name__)

LATENCY_BUCKETS = (0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600)


class ExecutorMetrics(Collector, Closing):
    """Counts of a batch (attempts, retries, in flight, latency) plus its accounting, as Prometheus metrics.

    Updated on the event loop only; a scrape reads them from the metrics thread (ints under the GIL,
    so a scrape sees each value whole, if not all from the same instant).
    """

    def __init__(self, accounting: Accounting) -> None:
        self._accounting = accounting
        self.in_flight = 0
        self.retries = 0
        self._attempts: dict[tuple[int, int], int] = {}
        self._latency_counts = [0] * (len(LATENCY_BUCKETS) + 1)  # the last one is +Inf
        self._latency_sum = 0.0
        self.registry = CollectorRegistry(auto_describe=True)
        self.registry.register(self)
        self._server: WSGIServer | None = None
        self._thread: threading.Thread | None = None

    def count_attempt(self, endpoint_index: int, status: int) -> None:
        """Count one HTTP attempt (status 0: no answer) against its endpoint."""
        key = (endpoint_index, status)
        self._attempts[key] = self._attempts.get(key, 0) + 1

    def observe_latency(self, seconds: float) -> None:
        """Count one finished request's latency over all its attempts."""
        self._latency_counts[bisect.bisect_left(LATENCY_BUCKETS, seconds)] += 1
        self._latency_sum += seconds

    def collect(self) -> Iterator[Metric]:
        """The metric families as of now (called by the registry on each scrape)."""
        a = self._accounting
        requests = CounterMetricFamily(
            "patchline_requests", "Finished requests by outcome (ok, failed, skipped).", labels=["outcome"]
        )
        for outcome, value in (("ok", a.succeeded), ("failed", a.failed), ("skipped", a.skipped)):
            requests.add_metric([outcome], value)
        yield requests
        attempts = CounterMetricFamily(
            "patchline_attempts", "HTTP attempts by endpoint index and status code.", labels=["endpoint", "status"]
        )
        for (endpoint, status), value in sorted(self._attempts.items()):
            attempts.add_metric([str(endpoint), str(status)], value)
        yield attempts
        yield CounterMetricFamily("patchline_retries", "Attempts that were retried.", value=self.retries)
        yield CounterMetricFamily(
            "patchline_reasoning_only", "Answers with empty content and non-empty reasoning.", value=a.reasoning_only
        )
        tokens = CounterMetricFamily("patchline_tokens", "Tokens reported by the servers.", labels=["kind"])
        tokens.add_metric(["prompt"], a.prompt_tokens)
        tokens.add_metric(["completion"], a.completion_tokens)
        tokens.add_metric(["cached"], a.cached_tokens)  # prompt tokens read from the servers' prefix caches
        yield tokens
        yield GaugeMetricFamily(
            "patchline_in_flight", "Requests being sent or waiting for a retry.", value=self.in_flight
        )
        cumulative, buckets = 0, []
        for bound, count in zip((*LATENCY_BUCKETS, float("inf")), self._latency_counts, strict=True):
            cumulative += count
            buckets.append(("+Inf" if bound == float("inf") else str(float(bound)), cumulative))  # as Go prints
        yield HistogramMetricFamily(
            "patchline_request_seconds",
            "Latency of a request over all its attempts.",
            buckets=buckets,
            sum_value=self._latency_sum,
        )

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
