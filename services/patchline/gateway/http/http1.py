"""Kept-alive HTTP/1.1 connections to plain-http model endpoints, parsed by llhttp (``httptools``).

Why the executor does not use httpx for these: a batch keeps hundreds of requests in flight against
in-cluster SGLang replicas, and httpx (with httpcore's pool and the pure-Python h11 parser) spends about
a millisecond of CPU per request there, several times what the model server's answer path costs; this
pool costs tens of microseconds (``bench/gateway.py``). It does only what a batch of POSTs to a
trusted-network endpoint needs: no TLS, proxies, redirects, cookies or compression. ``https://``
endpoints (hosted APIs: rate-limited, behind TLS) go through httpx (:mod:`patchline.gateway.http`).

One connection carries one request at a time; a connection is reused while the server keeps it alive.
A request that fails on a reused connection before a single byte came back is sent once more on a new
connection: that is a keep-alive connection the server closed while it sat idle, not an answer.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import cast
from urllib.parse import urlsplit

import httptools

from patchline.core.errors import InputError
from patchline.gateway.http.answer import HttpAnswer, TransportFailure

__all__ = ["Http1Pool"]

_MAX_RESPONSE_BYTES = 256 * 1024 * 1024  # a chat completion is kilobytes; this only stops a runaway server
_FORBIDDEN_IN_HEADERS = ("\r", "\n", "\0")


class _Origin:
    """Where a URL's requests go (its host's idle connections), and the fixed start of each request to it."""

    __slots__ = ("head", "host", "idle", "port")

    def __init__(self, url: str, idle_by_host: dict[tuple[str, int], list[_Connection]]) -> None:
        parts = urlsplit(url)
        if parts.scheme != "http" or not parts.hostname:
            raise InputError(f"{url!r}: only http:// URLs with a host are sent over this pool")
        self.host = parts.hostname
        self.port = parts.port or 80
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        host_header = parts.netloc.rsplit("@", 1)[-1]
        self.head = f"POST {path} HTTP/1.1\r\nHost: {host_header}\r\n".encode("latin-1")
        self.idle = idle_by_host.setdefault((self.host, self.port), [])  # shared by every path of the host


class _Connection(asyncio.Protocol):
    """One TCP connection: sends a request and parses its answer with llhttp's callbacks."""

    def __init__(self) -> None:
        self._parser = httptools.HttpResponseParser(self)
        self._transport: asyncio.Transport | None = None
        self._waiter: asyncio.Future[HttpAnswer] | None = None
        self._headers: dict[str, str] = {}
        self._body: list[bytes] = []
        self._size = 0
        self._headers_done = False
        self._keep_alive = True
        self.received = False  # any byte of the current answer arrived
        self.served = 0  # answers completed on this connection
        self.closed = False

    # -- asyncio.Protocol ----------------------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = cast(asyncio.Transport, transport)  # a stream transport (uvloop's is not a subclass)

    def data_received(self, data: bytes) -> None:
        if self._waiter is None or self._waiter.done():
            self.close()  # bytes nobody asked for: the connection's state is unknown, so it is not reused
            return
        self.received = True
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserError as exc:
            self._fail("RemoteProtocolError", f"malformed HTTP answer: {exc}")

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if self._waiter is None or self._waiter.done():
            return
        if self._headers_done and "content-length" not in self._headers and "transfer-encoding" not in self._headers:
            self._complete()  # a body delimited by the end of the connection
            return
        detail = f": {exc}" if exc else ""
        kind = "ReadError" if self.received else "RemoteProtocolError"
        self._fail(kind, f"the server closed the connection before a complete answer{detail}")

    def eof_received(self) -> bool:
        return False  # close our side too: connection_lost decides what the request saw

    # -- llhttp callbacks ------------------------------------------------------------------------
    def on_message_begin(self) -> None:
        self._headers = {}
        self._body = []
        self._size = 0
        self._headers_done = False

    def on_header(self, name: bytes, value: bytes) -> None:
        self._headers[name.decode("latin-1").lower()] = value.decode("latin-1")

    def on_headers_complete(self) -> None:
        self._headers_done = True
        self._keep_alive = self._parser.should_keep_alive()

    def on_body(self, body: bytes) -> None:
        self._size += len(body)
        if self._size > _MAX_RESPONSE_BYTES:
            self._fail("RemoteProtocolError", f"answer larger than {_MAX_RESPONSE_BYTES} bytes")
            return
        self._body.append(body)

    def on_message_complete(self) -> None:
        if self._parser.get_status_code() < 200:
            return  # an informational answer (100 Continue): the real one follows
        self._complete()

    # -- used by the pool --------------------------------------------------------------------------
    async def exchange(self, request: bytes) -> HttpAnswer:
        """Send one request and wait for its whole answer."""
        assert self._transport is not None
        waiter: asyncio.Future[HttpAnswer] = asyncio.get_running_loop().create_future()
        self._waiter = waiter
        self.received = False
        self._transport.write(request)
        return await waiter

    @property
    def reusable(self) -> bool:
        """True when the last answer was complete and the server keeps the connection open."""
        return not self.closed and self._keep_alive and self._waiter is not None and self._waiter.done()

    def expire(self, message: str) -> None:
        """End the exchange in flight as timed out (the connection is dropped)."""
        self._fail("ReadTimeout", message)

    def close(self) -> None:
        """Drop the connection at once (an interrupted exchange leaves it in an unknown state)."""
        self.closed = True
        if self._transport is not None:
            self._transport.abort()

    def _complete(self) -> None:
        status = self._parser.get_status_code()
        answer = HttpAnswer(status=status, headers=self._headers, content=b"".join(self._body))
        self.served += 1
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(answer)
        if not self._keep_alive:
            self.close()

    def _fail(self, kind: str, message: str) -> None:
        waiter = self._waiter
        self.close()
        if waiter is not None and not waiter.done():
            waiter.set_exception(TransportFailure(kind, message))


class Http1Pool:
    """POSTs over kept-alive connections per host; ``post`` never waits for a free connection.

    The caller bounds how many requests are in flight (the executor's concurrency); the pool keeps at
    most ``max_idle`` idle connections per host and port.
    """

    def __init__(self, *, timeout_s: float, connect_timeout_s: float, max_idle: int) -> None:
        self._timeout_s = timeout_s
        self._connect_timeout_s = min(connect_timeout_s, timeout_s)
        self._max_idle = max_idle
        self._origins: dict[str, _Origin] = {}  # by URL
        self._idle_by_host: dict[tuple[str, int], list[_Connection]] = {}
        self._open: set[_Connection] = set()
        self._header_blocks: dict[tuple[tuple[str, str], ...], bytes] = {}  # a run has a few header sets
        # Deadlines of the exchanges in flight, checked by one timer every ``_tick`` seconds: a timer
        # (or ``asyncio.timeout``) per request costs more than the rest of the request's handling.
        self._deadlines: dict[_Connection, float] = {}
        self._tick = min(1.0, max(0.01, timeout_s / 20))
        self._sweeper: asyncio.TimerHandle | None = None

    async def post(self, url: str, payload: bytes, headers: Mapping[str, str]) -> HttpAnswer:
        """Send ``payload`` to ``url``; the answer, whatever its status, or :class:`TransportFailure`."""
        origin = self._origins.get(url)
        if origin is None:
            origin = self._origins[url] = _Origin(url, self._idle_by_host)
        key = tuple(headers.items())
        block = self._header_blocks.get(key)
        if block is None:
            block = self._header_blocks[key] = _header_block(headers)
        request = b"".join((origin.head, block, b"Content-Length: %d\r\n\r\n" % len(payload), payload))
        return await self._send(origin, request, asyncio.get_running_loop().time() + self._timeout_s)

    async def aclose(self) -> None:
        """Close every connection."""
        if self._sweeper is not None:
            self._sweeper.cancel()
            self._sweeper = None
        for connection in list(self._open):
            connection.close()
        self._open.clear()
        for idle in self._idle_by_host.values():
            idle.clear()

    async def _send(self, origin: _Origin, request: bytes, deadline: float) -> HttpAnswer:
        """One attempt, all of it (connecting included) before ``deadline`` on the loop's clock."""
        connection = await self._acquire(origin, deadline)
        try:
            try:
                answer = await self._exchange(connection, request, deadline)
            except TransportFailure as exc:
                if connection.served == 0 or connection.received or exc.kind == "ReadTimeout":
                    raise
                # A kept-alive connection the server had closed: the request never reached it.
                self._discard(connection)
                connection = await self._connect(origin, deadline)
                answer = await self._exchange(connection, request, deadline)
        except BaseException:
            connection.close()  # failed, cancelled or timed out mid-exchange: never reused
            self._discard(connection)
            raise
        self._release(origin, connection)
        return answer

    async def _exchange(self, connection: _Connection, request: bytes, deadline: float) -> HttpAnswer:
        self._deadlines[connection] = deadline
        if self._sweeper is None:
            self._sweeper = asyncio.get_running_loop().call_later(self._tick, self._sweep)
        try:
            return await connection.exchange(request)
        finally:
            del self._deadlines[connection]

    def _sweep(self) -> None:
        """Fail the exchanges past their deadline; runs every ``_tick`` seconds while any are in flight."""
        self._sweeper = None
        loop = asyncio.get_running_loop()
        now = loop.time()
        for connection, deadline in list(self._deadlines.items()):
            if deadline <= now:
                connection.expire(f"no complete answer within {self._timeout_s:g} s")
        if self._deadlines:
            self._sweeper = loop.call_later(self._tick, self._sweep)

    async def _acquire(self, origin: _Origin, deadline: float) -> _Connection:
        while origin.idle:
            connection = origin.idle.pop()  # the most recently used: the least likely to be stale
            if not connection.closed:
                return connection
            self._open.discard(connection)
        return await self._connect(origin, deadline)

    async def _connect(self, origin: _Origin, deadline: float) -> _Connection:
        loop = asyncio.get_running_loop()
        limit = min(self._connect_timeout_s, deadline - loop.time())
        try:
            async with asyncio.timeout(limit):
                _, connection = await loop.create_connection(_Connection, origin.host, origin.port)
        except TimeoutError:
            if limit < self._connect_timeout_s:
                raise TransportFailure("ReadTimeout", f"no complete answer within {self._timeout_s:g} s") from None
            raise TransportFailure(
                "ConnectTimeout", f"connecting to {origin.host}:{origin.port} took over {limit:g} s"
            ) from None
        except OSError as exc:
            raise TransportFailure("ConnectError", f"cannot connect to {origin.host}:{origin.port}: {exc}") from None
        self._open.add(connection)
        return connection

    def _release(self, origin: _Origin, connection: _Connection) -> None:
        if connection.reusable and len(origin.idle) < self._max_idle:
            origin.idle.append(connection)
            return
        connection.close()
        self._discard(connection)

    def _discard(self, connection: _Connection) -> None:
        self._open.discard(connection)


def _header_block(headers: Mapping[str, str]) -> bytes:
    parts: list[str] = []
    for name, value in headers.items():
        if any(c in name or c in value for c in _FORBIDDEN_IN_HEADERS):
            raise InputError(f"header {name!r} contains a line break or NUL")
        parts.append(f"{name}: {value}\r\n")
    return "".join(parts).encode("latin-1")
