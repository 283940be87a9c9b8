"""How the executor talks HTTP: one small interface, two clients chosen by the endpoints' scheme.

- ``http://`` endpoints (SGLang replicas in the cluster, local servers, the oracle): :class:`Http1Pool`,
  kept-alive HTTP/1.1 connections parsed by llhttp, cheap enough for thousands of requests per second;
- ``https://`` endpoints (hosted APIs): :class:`HttpxClient`, httpx with TLS verification.

Both answer a POST with an :class:`HttpAnswer` whatever its status, or raise :class:`TransportFailure`
when no usable answer came (connection refused or dropped, timeout, malformed HTTP): the sender turns
that into a retryable status-0 attempt.
"""

from __future__ import annotations

from collections.abc import Sequence

from patchline.gateway.http.answer import HttpAnswer, HttpClient, TransportFailure
from patchline.gateway.http.http1 import Http1Pool
from patchline.gateway.http.httpx_client import HttpxClient

__all__ = ["Http1Pool", "HttpAnswer", "HttpClient", "HttpxClient", "TransportFailure", "open_http_client"]


def open_http_client(
    base_urls: Sequence[str],
    *,
    timeout_s: float,
    connect_timeout_s: float,
    concurrency: int,
    use_httpx: bool = False,
) -> HttpClient:
    """The client for a run's endpoints: the HTTP/1.1 pool when all are ``http://``, else httpx."""
    if use_httpx or any(not url.startswith("http://") for url in base_urls):
        return HttpxClient(timeout_s=timeout_s, connect_timeout_s=connect_timeout_s, concurrency=concurrency)
    return Http1Pool(timeout_s=timeout_s, connect_timeout_s=connect_timeout_s, max_idle=concurrency)
