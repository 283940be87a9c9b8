"""httpx behind the executor's :class:`HttpClient` interface (``https://`` endpoints: hosted APIs)."""

from __future__ import annotations

import contextlib
import itertools
from collections.abc import Mapping

import httpx

from patchline.gateway.http.answer import HttpAnswer, TransportFailure

__all__ = ["HttpxClient"]


class HttpxClient:
    """httpx behind the :class:`HttpClient` interface, spreading requests over a few small pools.

    httpcore's pool scans its queue against every connection on each request and response (quadratic
    in its size), so in-flight requests go round robin over ``clients`` pools instead of one big one.
    """

    def __init__(
        self,
        *,
        timeout_s: float,
        connect_timeout_s: float,
        concurrency: int,
        connections_per_client: int = 8,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        count = -(-concurrency // connections_per_client)
        per_client = -(-concurrency // count)
        limits = httpx.Limits(max_connections=per_client, max_keepalive_connections=per_client, keepalive_expiry=30.0)
        timeout = httpx.Timeout(timeout_s, connect=min(connect_timeout_s, timeout_s))
        tls = httpx.create_ssl_context(trust_env=False)  # built once: loading the CA bundle takes ~0.1 s
        self._clients = [
            httpx.AsyncClient(timeout=timeout, limits=limits, transport=transport, verify=tls, trust_env=False)
            for _ in range(count)
        ]
        self._next = itertools.cycle(self._clients)

    async def post(self, url: str, payload: bytes, headers: Mapping[str, str]) -> HttpAnswer:
        """POST through the next pool; httpx's transport errors become :class:`TransportFailure`."""
        try:
            response = await next(self._next).post(url, content=payload, headers=dict(headers))
        except httpx.TransportError as exc:
            raise TransportFailure(type(exc).__name__, str(exc) or "no detail") from None
        return HttpAnswer(status=response.status_code, headers=response.headers, content=response.content)

    async def aclose(self) -> None:
        """Close every pool."""
        for client in self._clients:
            with contextlib.suppress(Exception):
                await client.aclose()
