"""The SGLang launcher: start ``python -m sglang.launch_server`` locally, wait until it answers, always stop it.

``async with SGLangServer(["--model-path", m, "--tp-size", "1"]) as base_url:`` starts SGLang on 127.0.0.1 and
a free port (no shell, its own process group, output to a log file), polls ``/health_generate`` (or
``/v1/models`` where that route is missing) until it answers 200 or ``startup_timeout_s`` passes, and fails at
once, quoting SGLang's last log lines, if the process exits first. On leaving the block (normally, on an
error, Ctrl-C or SIGTERM) the whole process group gets SIGTERM, then SIGKILL after ``stop_timeout_s``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import socket
import sys
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from types import TracebackType

import httpx
from pydantic import SecretStr

from patchline.core.errors import UnavailableError
from patchline.core.progress import NullProgress, Progress
from patchline.core.redact import Redactor
from patchline.core.settings import ApiKeys
from patchline.core.sglang_args import api_key, require_model, secret_values, sglang_launch_args
from patchline.gateway.accounting import ExecutionSummary
from patchline.gateway.eventloop import run_blocking
from patchline.gateway.executor import Target, execute_file
from patchline.gateway.settings import (
    DEFAULT_MISMATCH_POLICY,
    EngineFlavor,
    ExecutorSettings,
    MismatchPolicy,
    ModelEndpoints,
    ThinkingProcessor,
)

__all__ = ["LOG_TAIL_LINES", "SGLangServer", "free_port", "log_tail", "serve_and_execute_file", "serve_and_run_file"]

log = logging.getLogger(__name__)

LOG_TAIL_LINES = 30
HEALTH_PATHS = ("/health_generate", "/v1/models")
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


class SGLangServer:
    """A local SGLang server for the duration of an ``async with`` block, which yields its base URL."""

    def __init__(
        self,
        sglang_args: Sequence[str],
        *,
        python: str = sys.executable,
        host: str = "127.0.0.1",
        port: int | None = None,
        log_path: Path | None = None,
        startup_timeout_s: float = 1800.0,
        poll_interval_s: float = 2.0,
        stop_timeout_s: float = 30.0,
    ) -> None:
        self.host = host
        self.port = port or free_port(host)
        self.command = sglang_launch_args(require_model(sglang_args), host=host, port=self.port, python=python)
        # SGLang prints its arguments (--api-key included) at start: its log tail is quoted redacted.
        self._redactor = Redactor(secret_values(sglang_args))
        self._api_key = api_key(sglang_args)
        self.log_path = log_path
        self.startup_timeout_s = startup_timeout_s
        self.poll_interval_s = poll_interval_s
        self.stop_timeout_s = stop_timeout_s
        self.process: asyncio.subprocess.Process | None = None
        self._terminated = False

    @property
    def base_url(self) -> str:
        """``http://host:port`` of the server."""
        return f"http://{self.host}:{self.port}"

    async def start(self) -> str:
        """Start SGLang and wait until it answers; returns the base URL. Stops it again on any failure."""
        if self.log_path is None:
            handle, name = tempfile.mkstemp(prefix="patchline-sglang-", suffix=".log")
            os.close(handle)
            self.log_path = Path(name)
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        log.info("starting SGLang on %s (log: %s)", self.base_url, self.log_path)
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
        log.info("SGLang is ready at %s", self.base_url)
        return self.base_url

    async def _wait_ready(self) -> None:
        process = self.process
        if process is None:
            raise UnavailableError("SGLang was not started")
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.startup_timeout_s
        paths = list(HEALTH_PATHS)
        headers = {"Authorization": f"Bearer {self._api_key}"} if self._api_key else None
        async with httpx.AsyncClient(timeout=_PROBE_TIMEOUT_S, trust_env=False, headers=headers) as client:
            while True:
                if process.returncode is not None:
                    raise UnavailableError(self._failure(f"SGLang exited with status {process.returncode}"))
                status = await _probe(client, self.base_url + paths[0])
                if status == 200:
                    return
                if status == 404 and len(paths) > 1:
                    paths.pop(0)  # an SGLang without /health_generate: ask /v1/models
                    continue
                remaining = deadline - loop.time()
                if remaining <= 0:
                    raise UnavailableError(
                        self._failure(f"SGLang did not become healthy within {self.startup_timeout_s:g} s")
                    )
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(process.wait(), timeout=min(self.poll_interval_s, remaining))

    def _failure(self, what: str) -> str:
        tail = self._redactor.text(log_tail(self.log_path)) if self.log_path else ""
        return f"{what} (log: {self.log_path}); last lines:\n{tail}" if tail else f"{what} (log: {self.log_path})"

    async def stop(self) -> None:
        """Stop the whole process group: SIGTERM, wait ``stop_timeout_s``, then SIGKILL what is left."""
        process, self.process = self.process, None
        if process is None:
            return
        if process.returncode is None:
            _signal_group(process.pid, signal.SIGTERM)
            try:
                await asyncio.wait_for(process.wait(), timeout=self.stop_timeout_s)
            except TimeoutError:
                log.warning("SGLang did not stop within %g s: killing it", self.stop_timeout_s)
        # SGLang's worker processes share its group and may outlive it: kill what is left, always.
        _signal_group(process.pid, signal.SIGKILL)
        await process.wait()
        log.info("SGLang stopped (status %s)", process.returncode)

    def _terminate(self, task: asyncio.Task[object]) -> None:
        log.warning("SIGTERM: stopping SGLang")
        self._terminated = True
        task.cancel()

    async def __aenter__(self) -> str:
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
            await asyncio.shield(self.stop())
        finally:
            _on_sigterm(None)
        if self._terminated and exc_type is asyncio.CancelledError:
            raise KeyboardInterrupt("SIGTERM") from exc  # the CLI's "interrupted, rerun to resume" exit


async def _probe(client: httpx.AsyncClient, url: str) -> int:
    """The HTTP status of GET ``url``, 0 when nothing answers yet."""
    try:
        response = await client.get(url)
    except httpx.TransportError as exc:
        log.debug("SGLang not answering yet: %s", exc)
        return 0
    return response.status_code


def _signal_group(pid: int, sig: signal.Signals) -> None:
    try:
        os.killpg(pid, sig)
    except ProcessLookupError:
        log.debug("process group %d is already gone", pid)


def _on_sigterm(callback: Callable[[], None] | None) -> None:
    """Route SIGTERM to ``callback`` (cancel the task holding the server) or restore the default."""
    loop = asyncio.get_running_loop()
    try:
        if callback is not None:
            loop.add_signal_handler(signal.SIGTERM, callback)
        else:
            loop.remove_signal_handler(signal.SIGTERM)
    except (NotImplementedError, RuntimeError, ValueError) as exc:
        log.debug("SIGTERM handler not changed (not the main thread's loop?): %s", exc)


async def serve_and_execute_file(
    input_file: Target,
    output_file: Target,
    *,
    sglang_args: Sequence[str],
    model: str | None = None,
    thinking_processor: ThinkingProcessor | None = None,
    keys: ApiKeys | None = None,
    settings: ExecutorSettings | None = None,
    progress: Progress | None = None,
    log_path: Path | None = None,
    startup_timeout_s: float = 1800.0,
    metrics_address: tuple[str, int] | None = None,
    on_mismatch: MismatchPolicy = DEFAULT_MISMATCH_POLICY,
) -> ExecutionSummary:
    """Start SGLang with ``sglang_args``, run the executor over ``input_file`` against it, stop SGLang.

    Requests go out with SGLang's thinking keys (and ``model`` as body.model when given), and with SGLang's
    ``--api-key`` when it is given one and ``keys`` has none.
    """
    server = SGLangServer(sglang_args, log_path=log_path, startup_timeout_s=startup_timeout_s)
    own_key = api_key(sglang_args)
    if own_key and not (keys and len(keys)):
        keys = ApiKeys((SecretStr(own_key),))
    async with server as base_url:
        target = ModelEndpoints(
            urls=[base_url], model=model, flavor=EngineFlavor.SGLANG, thinking_processor=thinking_processor
        )
        return await execute_file(
            input_file,
            output_file,
            endpoints=target,
            keys=keys,
            settings=settings,
            progress=progress or NullProgress(),
            metrics_address=metrics_address,
            on_mismatch=on_mismatch,
        )


def serve_and_run_file(
    input_file: Target,
    output_file: Target,
    *,
    sglang_args: Sequence[str],
    model: str | None = None,
    thinking_processor: ThinkingProcessor | None = None,
    keys: ApiKeys | None = None,
    settings: ExecutorSettings | None = None,
    progress: Progress | None = None,
    log_path: Path | None = None,
    startup_timeout_s: float = 1800.0,
    metrics_address: tuple[str, int] | None = None,
    on_mismatch: MismatchPolicy = DEFAULT_MISMATCH_POLICY,
) -> ExecutionSummary:
    """Blocking form of :func:`serve_and_execute_file` for the CLI (runs its own event loop)."""
    return run_blocking(
        serve_and_execute_file(
            input_file,
            output_file,
            sglang_args=sglang_args,
            model=model,
            thinking_processor=thinking_processor,
            keys=keys,
            settings=settings,
            progress=progress,
            log_path=log_path,
            startup_timeout_s=startup_timeout_s,
            metrics_address=metrics_address,
            on_mismatch=on_mismatch,
        ),
        name="serve_and_run_file",
        async_name="serve_and_execute_file",
    )
