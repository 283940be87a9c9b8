"""Model servers patchline runs as local processes: launch, wait until healthy, fail fast, always stop.

One implementation for every engine (SGLang, llama.cpp). A :class:`ManagedServer` starts its command on
127.0.0.1 and a free port (no shell, its own process group, output to a log file), polls its health
path until it answers 200 or ``startup_timeout_s`` passes, and fails at once, quoting the last log lines,
if the process exits first. A :class:`ServerGroup` starts several (replicas) together and is what an
``async with`` holds: on leaving the block (normally, on an error, Ctrl-C or SIGTERM) every process
group gets SIGTERM, then SIGKILL after ``stop_timeout_s``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import socket
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from types import TracebackType
from typing import TypedDict, Unpack

import httpx

from patchline.core.errors import UnavailableError
from patchline.core.redact import Redactor

__all__ = ["LOG_TAIL_LINES", "ManagedServer", "ServerGroup", "ServerOptions", "free_port", "log_tail"]

log = logging.getLogger(__name__)

LOG_TAIL_LINES = 30
_PROBE_TIMEOUT_S = 10.0


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port that was free a moment ago (the OS picks it)."""
    with socket.socket() as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def log_tail(path: Path, lines: int = LOG_TAIL_LINES) -> str:
    """The last ``lines`` lines of a log file ('' when it is missing)."""
    try:
        with path.open("rb") as handle:
            handle.seek(0, os.SEEK_END)
            handle.seek(max(0, handle.tell() - 64 * 1024))
            data = handle.read()
    except FileNotFoundError:
        return ""
    return "\n".join(data.decode("utf-8", "replace").splitlines()[-lines:])


class ServerOptions(TypedDict, total=False):
    """How a :class:`ManagedServer` runs: where it listens and logs, and how long it may take."""

    host: str  # default 127.0.0.1
    port: int | None  # default: a free port
    log_path: Path | None  # default: a temporary file, removed after a clean stop (kept when the server failed)
    startup_timeout_s: float  # default 1800 s until the health path answers 200
    poll_interval_s: float  # default 2 s between health probes
    stop_timeout_s: float  # default 30 s between SIGTERM and SIGKILL
    api_key: str | None  # sent as a bearer token by the health probe (a server started with a key)
    secrets: Sequence[str]  # values redacted from the log lines quoted in errors (keys in its arguments)


class ManagedServer:
    """One server process; ``async with`` it (or a :class:`ServerGroup` of several) yields its base URL.

    ``health_paths`` are tried in order: a 404 moves on to the next one (an older server without the
    first route), any other answer but 200 means "not ready yet".
    """

    def __init__(
        self,
        command: Callable[[str, int], Sequence[str]],
        *,
        name: str,
        health_paths: Sequence[str],
        **options: Unpack[ServerOptions],
    ) -> None:
        if not health_paths:
            raise ValueError("a managed server needs at least one health path")
        self.name = name
        self.host = options.get("host", "127.0.0.1")
        self.port = options.get("port") or free_port(self.host)
        self.command = list(command(self.host, self.port))
        self.health_paths = tuple(health_paths)
        self.log_path = options.get("log_path")
        self.startup_timeout_s = options.get("startup_timeout_s", 1800.0)
        self.poll_interval_s = options.get("poll_interval_s", 2.0)
        self.stop_timeout_s = options.get("stop_timeout_s", 30.0)
        self._api_key = options.get("api_key")
        # A server may print its arguments (a key among them) at start: its log tail is quoted redacted.
        self._redactor = Redactor(options.get("secrets", ()))
        self.process: asyncio.subprocess.Process | None = None
        self._group: ServerGroup | None = None
        self._temporary_log = False  # the log is ours to remove once it has nothing left to explain
        self._served = False  # became healthy (a stop after that is a clean end, not a failure)

    @property
    def base_url(self) -> str:
        """``http://host:port`` of the server."""
        return f"http://{self.host}:{self.port}"

    async def start(self) -> str:
        """Start the process and wait until it answers; returns the base URL. Stops it again on any failure."""
        if self.log_path is None:
            slug = "".join(c for c in self.name.lower() if c.isalnum())
            handle, path = tempfile.mkstemp(prefix=f"patchline-{slug}-", suffix=".log")
            os.close(handle)
            self.log_path, self._temporary_log = Path(path), True
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        log.info("starting %s on %s (log: %s)", self.name, self.base_url, self.log_path)
        with self.log_path.open("ab") as log_file:
            self.process = await asyncio.create_subprocess_exec(
                *self.command,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=log_file,
                stderr=asyncio.subprocess.STDOUT,
                start_new_session=True,
            )
        try:
            await self._wait_ready()
        except BaseException:
            await self.stop()
            raise
        self._served = True
        log.info("%s is ready at %s", self.name, self.base_url)
        return self.base_url

    async def _wait_ready(self) -> None:
        process = self.process
        if process is None:
            raise UnavailableError(f"{self.name} was not started")
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.startup_timeout_s
        paths = list(self.health_paths)
        headers = {"Authorization": f"Bearer {self._api_key}"} if self._api_key else None
        async with httpx.AsyncClient(timeout=_PROBE_TIMEOUT_S, trust_env=False, headers=headers) as client:
            while True:
                if process.returncode is not None:
                    raise UnavailableError(self._failure(f"{self.name} exited with status {process.returncode}"))
                status = await _probe(client, self.base_url + paths[0], self.name)
                if status == 200:
                    return
                if status == 404 and len(paths) > 1:
                    paths.pop(0)
                    continue
                remaining = deadline - loop.time()
                if remaining <= 0:
                    raise UnavailableError(
                        self._failure(f"{self.name} did not become healthy within {self.startup_timeout_s:g} s")
                    )
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(process.wait(), timeout=min(self.poll_interval_s, remaining))

    def _failure(self, what: str) -> str:
        tail = self._redactor.text(log_tail(self.log_path)) if self.log_path else ""
        return f"{what} (log: {self.log_path}); last lines:\n{tail}" if tail else f"{what} (log: {self.log_path})"

    async def stop(self, *, keep_log: bool = False) -> None:
        """Stop the whole process group: SIGTERM, wait ``stop_timeout_s``, then SIGKILL what is left.

        A temporary log goes with a server that served and exited when told, unless ``keep_log`` (the block
        using it failed); after a failure of the server itself it stays too, since the error names it."""
        process, self.process = self.process, None
        if process is None:
            return
        exited_by_itself = process.returncode is not None
        if process.returncode is None:
            _signal_group(process.pid, signal.SIGTERM)
            try:
                await asyncio.wait_for(process.wait(), timeout=self.stop_timeout_s)
            except TimeoutError:
                log.warning("%s did not stop within %g s: killing it", self.name, self.stop_timeout_s)
        # Worker processes share the server's group and may outlive it: kill what is left, always.
        _signal_group(process.pid, signal.SIGKILL)
        await process.wait()
        log.info("%s stopped (status %s)", self.name, process.returncode)
        if self._temporary_log and self.log_path is not None:
            if self._served and not exited_by_itself and not keep_log:
                self.log_path.unlink(missing_ok=True)
            else:
                log.info("%s log kept: %s", self.name, self.log_path)

    async def __aenter__(self) -> str:
        self._group = ServerGroup([self])
        urls = await self._group.__aenter__()
        return urls[0]

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        group, self._group = self._group, None
        if group is not None:
            await group.__aexit__(exc_type, exc, tb)


class ServerGroup:
    """Several servers (replicas) started together for an ``async with`` block, which yields their base URLs.

    If one fails to start, the others are stopped and its error is raised. SIGTERM to this process
    cancels the block's task, stops every server, and surfaces as KeyboardInterrupt (the CLI's
    "interrupted, rerun to resume" exit).
    """

    def __init__(self, servers: Sequence[ManagedServer]) -> None:
        if not servers:
            raise ValueError("a server group needs at least one server")
        self.servers = list(servers)
        self._terminated = False

    @property
    def base_urls(self) -> list[str]:
        """The servers' base URLs, in order."""
        return [server.base_url for server in self.servers]

    async def start(self) -> list[str]:
        """Start every server at once; on a failure stop them all and raise the first error."""
        results = await asyncio.gather(*(server.start() for server in self.servers), return_exceptions=True)
        failures = [r for r in results if isinstance(r, BaseException)]
        if failures:
            await self.stop()
            raise failures[0]
        return self.base_urls

    async def stop(self, *, keep_logs: bool = False) -> None:
        """Stop every server (concurrently); ``keep_logs``: keep their temporary logs (the block failed)."""
        await asyncio.gather(*(server.stop(keep_log=keep_logs) for server in self.servers))

    def _terminate(self, task: asyncio.Task[object]) -> None:
        log.warning("SIGTERM: stopping %s", ", ".join(sorted({s.name for s in self.servers})))
        self._terminated = True
        task.cancel()

    async def __aenter__(self) -> list[str]:
        task = asyncio.current_task()
        if task is not None:
            _on_sigterm(lambda: self._terminate(task))
        try:
            return await self.start()
        except BaseException:
            _on_sigterm(None)
            raise

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        try:
            await asyncio.shield(self.stop(keep_logs=exc_type is not None))
        finally:
            _on_sigterm(None)
        if self._terminated and exc_type is asyncio.CancelledError:
            raise KeyboardInterrupt("SIGTERM") from exc


async def _probe(client: httpx.AsyncClient, url: str, name: str) -> int:
    """The HTTP status of GET ``url``, 0 when nothing answers yet."""
    try:
        response = await client.get(url)
    except httpx.TransportError as exc:
        log.debug("%s not answering yet: %s", name, exc)
        return 0
    return response.status_code


def _signal_group(pid: int, sig: signal.Signals) -> None:
    try:
        os.killpg(pid, sig)
    except ProcessLookupError:
        log.debug("process group %d is already gone", pid)


def _on_sigterm(callback: Callable[[], None] | None) -> None:
    """Route SIGTERM to ``callback`` (cancel the task holding the servers) or restore the default."""
    loop = asyncio.get_running_loop()
    try:
        if callback is not None:
            loop.add_signal_handler(signal.SIGTERM, callback)
        else:
            loop.remove_signal_handler(signal.SIGTERM)
    except (NotImplementedError, RuntimeError, ValueError) as exc:
        log.debug("SIGTERM handler not changed (not the main thread's loop?): %s", exc)
