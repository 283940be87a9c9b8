"""The executor's HTTP clients over loopback: the HTTP/1.1 pool against a scripted server, and httpx's errors.

The scripted server answers by request path, each path one way a real server behaves: kept-alive
answers, chunked bodies, bodies ended by closing, ``Connection: close``, keep-alive connections closed
while idle, hangs, garbage, connections dropped mid-answer.
"""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import pytest

from patchline.core.errors import InputError
from patchline.gateway.http import Http1Pool, HttpxClient, TransportFailure, open_http_client

pytestmark = pytest.mark.integration

_BODY = json.dumps({"choices": [{"message": {"content": "ok"}}]}).encode()


@dataclass
class ScriptedServer:
    """An HTTP/1.1 server whose answer depends on the path; counts connections and requests."""

    connections: int = 0
    requests: list[tuple[str, dict[str, str], bytes]] = field(default_factory=list)
    port: int = 0
    _server: asyncio.Server | None = None
    _writers: list[asyncio.StreamWriter] = field(default_factory=list)

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        for writer in self._writers:
            writer.close()
        assert self._server is not None
        self._server.close()
        await self._server.wait_closed()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        self._writers.append(writer)
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                lines = head.decode("latin-1").split("\r\n")
                path = lines[0].split(" ")[1]
                headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:] if line)}
                body = await reader.readexactly(int(headers.get("content-length", "0")))
                self.requests.append((path, headers, body))
                if not await self._answer(path, writer):
                    break
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.CancelledError):
            pass  # the client went away, or the server is stopping
        finally:
            writer.close()

    async def _answer(self, path: str, writer: asyncio.StreamWriter) -> bool:
        """Write the answer for ``path``; False when the connection is to be closed."""
        ok_head = f"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {len(_BODY)}\r\n"
        if path == "/ok":
            writer.write(ok_head.encode() + b"X-Request-Id: r-1\r\n\r\n" + _BODY)
        elif path == "/status":
            text = b'{"error": {"message": "slow down"}}'
            writer.write(b"HTTP/1.1 429 Too Many\r\nRetry-After: 3\r\nContent-Length: %d\r\n\r\n%s" % (len(text), text))
        elif path == "/chunked":
            half = len(_BODY) // 2
            chunks = b"%x\r\n%s\r\n%x\r\n%s\r\n0\r\n\r\n" % (half, _BODY[:half], len(_BODY) - half, _BODY[half:])
            writer.write(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + chunks)
        elif path == "/eof":
            writer.write(b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n" + _BODY)
            await writer.drain()
            return False
        elif path == "/close":
            writer.write(ok_head.encode() + b"Connection: close\r\n\r\n" + _BODY)
            await writer.drain()
            return False
        elif path == "/stale":
            writer.write(ok_head.encode() + b"\r\n" + _BODY)  # keep-alive promised, then closed while idle
            await writer.drain()
            await asyncio.sleep(0.05)
            return False
        elif path == "/hang":
            await asyncio.sleep(30)
        elif path == "/garbage":
            writer.write(b"NOT HTTP AT ALL\r\n\r\n")
        elif path == "/drop":
            writer.write(b'HTTP/1.1 200 OK\r\nContent-Length: 500\r\n\r\n{"partial')
            await writer.drain()
            return False
        await writer.drain()
        return True


@pytest.fixture
async def scripted() -> AsyncIterator[ScriptedServer]:
    server = ScriptedServer()
    await server.start()
    yield server
    await server.stop()


def _pool(timeout_s: float = 5.0) -> Http1Pool:
    return Http1Pool(timeout_s=timeout_s, connect_timeout_s=2.0, max_idle=16)


async def test_answers_come_back_whole_and_connections_are_reused(scripted: ScriptedServer) -> None:
    pool = _pool()
    try:
        for _ in range(20):
            answer = await pool.post(scripted.url("/ok"), b'{"a": 1}', {"Content-Type": "application/json"})
            assert (answer.status, answer.content, answer.headers["x-request-id"]) == (200, _BODY, "r-1")
        answer = await pool.post(scripted.url("/status"), b"{}", {})
        assert answer.status == 429 and answer.headers["retry-after"] == "3"
    finally:
        await pool.aclose()
    assert scripted.connections == 1  # one kept-alive connection served all 21
    path, headers, body = scripted.requests[0]
    assert (path, body, headers["content-type"], headers["host"]) == (
        "/ok",
        b'{"a": 1}',
        "application/json",
        f"127.0.0.1:{scripted.port}",
    )


async def test_concurrent_requests_each_get_their_own_connection(scripted: ScriptedServer) -> None:
    pool = _pool()
    try:
        answers = await asyncio.gather(*(pool.post(scripted.url("/ok"), b"{}", {}) for _ in range(8)))
        assert all(a.status == 200 for a in answers)
        await asyncio.gather(*(pool.post(scripted.url("/ok"), b"{}", {}) for _ in range(8)))
    finally:
        await pool.aclose()
    assert scripted.connections == 8


@pytest.mark.parametrize("path", ["/chunked", "/eof", "/close"])
async def test_other_body_framings(scripted: ScriptedServer, path: str) -> None:
    pool = _pool()
    try:
        for _ in range(3):
            answer = await pool.post(scripted.url(path), b"{}", {})
            assert (answer.status, answer.content) == (200, _BODY)
    finally:
        await pool.aclose()
    assert scripted.connections == (1 if path == "/chunked" else 3)


async def test_a_keep_alive_connection_closed_while_idle_is_replaced_without_a_failure(
    scripted: ScriptedServer,
) -> None:
    pool = _pool()
    try:
        for _ in range(5):
            assert (await pool.post(scripted.url("/stale"), b"{}", {})).status == 200
            await asyncio.sleep(0.1)  # the server has closed it by now
    finally:
        await pool.aclose()
    assert len(scripted.requests) == 5  # each request reached the server exactly once


async def test_a_hang_ends_as_a_read_timeout(scripted: ScriptedServer) -> None:
    pool = _pool(timeout_s=1.0)
    loop = asyncio.get_running_loop()
    started = loop.time()
    try:
        with pytest.raises(TransportFailure) as caught:
            await pool.post(scripted.url("/hang"), b"{}", {})
        assert caught.value.kind == "ReadTimeout"
        assert loop.time() - started < 5  # the deadline sweep fired, not the server's 30 s
        assert (await pool.post(scripted.url("/ok"), b"{}", {})).status == 200  # the pool still works
    finally:
        await pool.aclose()
    assert sum(1 for path, _, _ in scripted.requests if path == "/hang") == 1  # a timeout is not resent


@pytest.mark.parametrize(("path", "kind"), [("/garbage", "RemoteProtocolError"), ("/drop", "ReadError")])
async def test_broken_answers_are_transport_failures(scripted: ScriptedServer, path: str, kind: str) -> None:
    pool = _pool()
    try:
        with pytest.raises(TransportFailure) as caught:
            await pool.post(scripted.url(path), b"{}", {})
        assert caught.value.kind == kind
    finally:
        await pool.aclose()


async def test_refused_connection_is_a_connect_error() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # bound, not listening: connections are refused
        pool = _pool()
        with pytest.raises(TransportFailure) as caught:
            await pool.post(f"http://127.0.0.1:{port}/v1/chat/completions", b"{}", {})
        await pool.aclose()
    assert caught.value.kind == "ConnectError"


async def test_headers_cannot_smuggle_lines(scripted: ScriptedServer) -> None:
    pool = _pool()
    try:
        with pytest.raises(InputError, match="line break"):
            await pool.post(scripted.url("/ok"), b"{}", {"Authorization": "Bearer k\r\nX-Evil: 1"})
    finally:
        await pool.aclose()
    assert scripted.requests == []


async def test_client_choice_follows_the_scheme() -> None:
    plain = open_http_client(["http://a:1", "http://b:2"], timeout_s=1, connect_timeout_s=1, concurrency=4)
    tls = open_http_client(["http://a:1", "https://api.example"], timeout_s=1, connect_timeout_s=1, concurrency=4)
    forced = open_http_client(["http://a:1"], timeout_s=1, connect_timeout_s=1, concurrency=4, use_httpx=True)
    assert isinstance(plain, Http1Pool)
    assert isinstance(tls, HttpxClient) and isinstance(forced, HttpxClient)
    for client in (plain, tls, forced):
        await client.aclose()
    with pytest.raises(InputError, match="only http://"):
        await _pool().post("https://api.example/v1/chat/completions", b"{}", {})


async def test_httpx_client_answers_and_maps_transport_errors(scripted: ScriptedServer) -> None:
    client = HttpxClient(timeout_s=3.0, connect_timeout_s=3, concurrency=4)  # the hang lasts 30 s
    try:
        answer = await client.post(scripted.url("/ok"), b"{}", {"Content-Type": "application/json"})
        assert (answer.status, answer.content, answer.headers["x-request-id"]) == (200, _BODY, "r-1")
        with pytest.raises(TransportFailure) as caught:
            await client.post(scripted.url("/hang"), b"{}", {})
        assert caught.value.kind == "ReadTimeout"
    finally:
        await client.aclose()
