"""Local model servers: SGLang (``python -m sglang.launch_server``) and llama.cpp replicas, and runs against them.

``async with SGLangServer(["--model-path", m, "--tp-size", "1"]) as base_url:`` starts SGLang on 127.0.0.1 and
a free port and polls ``/health_generate`` (or ``/v1/models`` where that route is missing);
``async with llamacpp_servers(engine) as base_urls:`` starts ``engine.replicas`` llama.cpp processes and polls
``/health``. Both are :class:`~patchline.gateway.managed.ManagedServer`: the same launch, wait, fail-fast
with the log tail, and stop on exit (normally, on an error, Ctrl-C or SIGTERM).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Unpack

from pydantic import SecretStr

from patchline.core.errors import InputError
from patchline.core.llamacpp_args import llamacpp_launch_args, resolved_model_path
from patchline.core.settings import ApiKeys
from patchline.core.sglang_args import api_key, require_model, secret_values, sglang_launch_args
from patchline.core.spec import EngineFlavor, LlamaCppEngine, ModelEndpoints, ThinkingProcessor
from patchline.gateway.accounting import ExecutionSummary
from patchline.gateway.eventloop import run_blocking
from patchline.gateway.executor import ExecuteOptions, Target, execute_file
from patchline.gateway.managed import LOG_TAIL_LINES, ManagedServer, ServerGroup, ServerOptions, free_port, log_tail

__all__ = [
    "LLAMACPP_HEALTH_PATHS",
    "LOG_TAIL_LINES",
    "SGLANG_HEALTH_PATHS",
    "LlamaCppServer",
    "SGLangServer",
    "Serving",
    "execute_on_servers",
    "free_port",
    "llamacpp_servers",
    "local_llamacpp_engine",
    "log_tail",
    "run_on_servers",
    "sglang_group",
    "sglang_keys",
    "sglang_serving",
]

SGLANG_HEALTH_PATHS = ("/health_generate", "/v1/models")
LLAMACPP_HEALTH_PATHS = ("/health",)  # 503 while the model loads, 200 once it serves


class SGLangServer(ManagedServer):
    """A local SGLang server for the duration of an ``async with`` block, which yields its base URL."""

    def __init__(self, sglang_args: Sequence[str], *, python: str = sys.executable, **options: Unpack[ServerOptions]):
        args = require_model(sglang_args)
        merged: ServerOptions = {"api_key": api_key(args), "secrets": secret_values(args)}
        merged.update(options)
        super().__init__(
            lambda h, p: sglang_launch_args(args, host=h, port=p, python=python),
            name="SGLang",
            health_paths=SGLANG_HEALTH_PATHS,
            **merged,
        )


class LlamaCppServer(ManagedServer):
    """One local llama.cpp replica (``python -m patchline llamacpp serve``) of ``engine``."""

    def __init__(self, engine: LlamaCppEngine, *, python: str = sys.executable, **options: Unpack[ServerOptions]):
        # A small model loads in seconds: probe often; the engine states how long loading may take.
        merged: ServerOptions = {
            "poll_interval_s": 0.1,
            "stop_timeout_s": 10.0,
            "startup_timeout_s": float(engine.startup_timeout_seconds),
        }
        merged.update(options)
        super().__init__(
            lambda h, p: llamacpp_launch_args(engine, host=h, port=p, python=python),
            name="llama.cpp",
            health_paths=LLAMACPP_HEALTH_PATHS,
            **merged,
        )


def local_llamacpp_engine(engine: LlamaCppEngine, *, cores: int | None = None) -> LlamaCppEngine:
    """``engine`` for replicas on this machine: its model resolved and checked, the cores shared among replicas."""
    model = resolved_model_path(engine)
    if not os.path.isfile(model):
        raise InputError(f"engine.model: {model} is not a file")
    update: dict[str, object] = {"model": model, "served_model_name": engine.model_name}
    if engine.threads is None:
        update["threads"] = max(1, (cores or os.cpu_count() or 1) // engine.replicas)
    return engine.model_copy(update=update)


def llamacpp_servers(
    engine: LlamaCppEngine, *, log_dir: Path | None = None, python: str = sys.executable
) -> ServerGroup:
    """``engine.replicas`` llama.cpp processes on 127.0.0.1 and free ports (logs ``log_dir/llamacpp-{i}.log``)."""
    local = local_llamacpp_engine(engine)
    return ServerGroup(
        [
            LlamaCppServer(local, python=python, log_path=log_dir / f"llamacpp-{i}.log" if log_dir else None)
            for i in range(engine.replicas)
        ]
    )


Serving = Callable[[Sequence[str]], ModelEndpoints]
"""How requests address servers once they answer at their base URLs (e.g. ``LlamaCppEngine.model_endpoints``)."""


async def execute_on_servers(
    servers: ServerGroup,
    input_file: Target,
    output_file: Target,
    *,
    serving: Serving,
    **options: Unpack[ExecuteOptions],
) -> ExecutionSummary:
    """Start ``servers``, run the executor over ``input_file`` against all of them, stop them."""
    async with servers as base_urls:
        return await execute_file(input_file, output_file, endpoints=serving(base_urls), **options)


def run_on_servers(
    servers: ServerGroup,
    input_file: Target,
    output_file: Target,
    *,
    serving: Serving,
    **options: Unpack[ExecuteOptions],
) -> ExecutionSummary:
    """Blocking form of :func:`execute_on_servers` for the CLI (runs its own event loop)."""
    return run_blocking(
        execute_on_servers(servers, input_file, output_file, serving=serving, **options),
        name="run_on_servers",
        async_name="execute_on_servers",
    )


def sglang_serving(model: str | None = None, thinking_processor: ThinkingProcessor | None = None) -> Serving:
    """Requests to SGLang servers: its thinking keys, and ``model`` as body.model when given."""
    return lambda urls: ModelEndpoints(
        urls=list(urls), model=model, flavor=EngineFlavor.SGLANG, thinking_processor=thinking_processor
    )


def sglang_keys(sglang_args: Sequence[str], keys: ApiKeys | None) -> ApiKeys | None:
    """The keys requests to SGLang carry: ``keys``, else the ``--api-key`` SGLang is started with (if any)."""
    own_key = api_key(sglang_args)
    if own_key and not (keys and len(keys)):
        return ApiKeys((SecretStr(own_key),))
    return keys


def sglang_group(
    sglang_args: Sequence[str], *, log_path: Path | None = None, startup_timeout_s: float = 1800.0
) -> ServerGroup:
    """One SGLang server started with ``sglang_args`` (the seed's ``serve_and_process_batch_requests``)."""
    return ServerGroup([SGLangServer(sglang_args, log_path=log_path, startup_timeout_s=startup_timeout_s)])
