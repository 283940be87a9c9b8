"""The oracle's HTTP face: an OpenAI-compatible chat-completions server (aiohttp) answering from gold data.

Routes: ``POST /v1/chat/completions``, ``GET /v1/models``, ``GET /health``, ``GET /health_generate``.
An unplaceable prompt gets HTTP 404 with an OpenAI-style ``{"error": {...}}`` body; a body that is not a chat
request gets 400. Usage counts are estimates (about 4 characters per token), so accounting paths have numbers.

``OracleServer(dataset_path, *, repo_root=None, host="127.0.0.1", port=0, reasoning=None, model="oracle")``
loads the dataset at construction and serves it either on the running event loop
(``async with OracleServer(...) as oracle``) or on a background thread with its own loop
(``with OracleServer(...) as oracle``); both expose ``oracle.base_url`` (``http://127.0.0.1:<port>``) once
started and stop cleanly on exit. ``port=0`` picks a free port. ``reasoning="think"`` prefixes each answer
with a short ``<think>...</think>``; ``reasoning="field"`` puts it in ``message.reasoning_content`` instead
(as SGLang's reasoning parser does). ``repo_root`` (git checkouts named ``owner__repo``) is optional: with it a
TestWriter localisation answer names only test files that exist at the base commit (see ``oracle.repos``).
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from pathlib import Path
from types import TracebackType
from typing import Any, Literal

from aiohttp import web

from patchline.core.errors import InputError, UnavailableError
from patchline.core.jsonl import load_json
from patchline.oracle.answers import UnplaceablePromptError, compose_answer
from patchline.oracle.gold import GoldIndex
from patchline.oracle.repos import BaseFiles

__all__ = ["OracleServer", "ReasoningMode", "build_app", "chat_completion", "serve_oracle"]

log = logging.getLogger(__name__)

ReasoningMode = Literal["think", "field"]
CHARS_PER_TOKEN = 4
_START_TIMEOUT_S = 30.0


def _error(status: int, code: str, message: str) -> web.Response:
    error_type = "not_found_error" if status == 404 else "invalid_request_error"
    body = {"error": {"message": message, "type": error_type, "param": None, "code": code}}
    return web.json_response(body, status=status)


def _prompt_text(body: Mapping[str, Any]) -> str:
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        raise InputError("the request has no messages")
    parts: list[str] = []
    for number, message in enumerate(messages):
        if not isinstance(message, dict):
            raise InputError(f"messages[{number}] is not an object")  # as an OpenAI server refuses it
        content = message.get("content")
        if isinstance(content, list):
            content = "\n".join(str(p.get("text", "")) for p in content if isinstance(p, dict))
        if isinstance(content, str):
            parts.append(content)
    return "\n".join(parts)


def chat_completion(
    index: GoldIndex,
    body: Mapping[str, Any],
    *,
    reasoning: ReasoningMode | None = None,
    model: str = "oracle",
    repos: BaseFiles | None = None,
) -> dict[str, Any]:
    """The chat.completion object answering one request body; raises UnplaceablePromptError or InputError.

    Blocking (it may list a git checkout): the server calls it in a worker thread.
    """
    prompt = _prompt_text(body)
    instance = index.find(prompt)
    if instance is None:
        raise UnplaceablePromptError("the oracle knows no instance whose issue text is in this prompt")
    content = compose_answer(prompt, instance, base_files=repos.files(instance) if repos else None)
    message: dict[str, Any] = {"role": "assistant", "content": content}
    thought = f"The gold data of {instance.instance_id} answers this."
    if reasoning == "think":
        message["content"] = f"<think>\n{thought}\n</think>\n\n{content}"
    elif reasoning == "field":
        message["reasoning_content"] = thought
    completion_tokens = max(1, (len(message["content"]) + len(message.get("reasoning_content", ""))) // CHARS_PER_TOKEN)
    prompt_tokens = max(1, len(prompt) // CHARS_PER_TOKEN)
    requested = body.get("n")
    count = requested if isinstance(requested, int) and requested > 0 else 1
    return {
        "id": f"chatcmpl-oracle-{uuid.uuid4().hex}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": str(body.get("model") or model),
        "choices": [{"index": i, "message": dict(message), "finish_reason": "stop"} for i in range(count)],
        "usage": {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens * count,
            "total_tokens": prompt_tokens + completion_tokens * count,
        },
    }


def build_app(
    index: GoldIndex, *, reasoning: ReasoningMode | None = None, model: str = "oracle", repos: BaseFiles | None = None
) -> web.Application:
    """The aiohttp application serving ``index``."""

    async def completions(request: web.Request) -> web.Response:
        try:
            body = await request.json(loads=load_json)
        except ValueError as exc:  # not UTF-8, not JSON, or nested too deeply
            return _error(400, "invalid_json", f"the request body is not JSON ({exc})")
        if not isinstance(body, dict):
            return _error(400, "invalid_request", "the request body is not a JSON object")
        try:
            answer = await asyncio.to_thread(
                chat_completion, index, body, reasoning=reasoning, model=model, repos=repos
            )
        except UnplaceablePromptError as exc:
            log.info("oracle: 404: %s", exc)
            return _error(404, "instance_not_found", str(exc))
        except InputError as exc:
            return _error(400, "invalid_request", str(exc))
        except RecursionError:  # a body nested just below the parser's limit, too deep for the rest
            return _error(400, "invalid_request", "the request body is nested too deeply")
        return web.json_response(answer)

    async def models(_: web.Request) -> web.Response:
        entry = {"id": model, "object": "model", "created": 0, "owned_by": "patchline-oracle"}
        return web.json_response({"object": "list", "data": [entry]})

    async def health(_: web.Request) -> web.Response:
        return web.json_response({"status": "ok", "instances": len(index)})

    app = web.Application(client_max_size=256 * 1024 * 1024)
    app.router.add_post("/v1/chat/completions", completions)
    app.router.add_post("/chat/completions", completions)
    app.router.add_get("/v1/models", models)
    app.router.add_get("/health", health)
    app.router.add_get("/health_generate", health)
    return app


class OracleServer:
    """The oracle on 127.0.0.1 (or ``host``): ``async with`` on the current loop, ``with`` on its own thread."""

    def __init__(
        self,
        dataset_path: str | Path,
        *,
        repo_root: str | Path | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        reasoning: ReasoningMode | None = None,
        model: str = "oracle",
    ) -> None:
        self.index = GoldIndex.from_file(dataset_path)
        self.repo_root = Path(repo_root) if repo_root is not None else None
        self.host = host
        self.port = port
        self.reasoning: ReasoningMode | None = reasoning
        self.model = model
        self._runner: web.AppRunner | None = None
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    @property
    def base_url(self) -> str:
        """``http://host:port`` of the running server."""
        if self._runner is None:
            raise UnavailableError("the oracle server is not running")
        return f"http://{self.host}:{self.port}"

    async def start(self) -> str:
        """Start serving on the running loop; returns the base URL."""
        app = build_app(self.index, reasoning=self.reasoning, model=self.model, repos=BaseFiles(self.repo_root))
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, self.host, self.port)
        await site.start()
        self.port = int(runner.addresses[0][1])
        self._runner = runner
        log.info("oracle: %d instances at %s", len(self.index), self.base_url)
        return self.base_url

    async def stop(self) -> None:
        """Stop serving and close every connection."""
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()

    async def __aenter__(self) -> OracleServer:
        await self.start()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.stop()

    def __enter__(self) -> OracleServer:
        loop = asyncio.new_event_loop()
        self._loop = loop
        self._thread = threading.Thread(target=self._run_loop, args=(loop,), name="oracle", daemon=True)
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self.start(), loop).result(timeout=_START_TIMEOUT_S)
        return self

    @staticmethod
    def _run_loop(loop: asyncio.AbstractEventLoop) -> None:
        asyncio.set_event_loop(loop)
        loop.run_forever()
        loop.close()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        loop, thread = self._loop, self._thread
        if loop is None or thread is None:
            return
        try:
            asyncio.run_coroutine_threadsafe(self.stop(), loop).result(timeout=_START_TIMEOUT_S)
        finally:
            loop.call_soon_threadsafe(loop.stop)
            thread.join(timeout=_START_TIMEOUT_S)
            self._loop = self._thread = None


async def serve_oracle(server: OracleServer, *, on_ready: Callable[[str], None] | None = None) -> None:
    """Serve until cancelled (Ctrl-C in the CLI); ``on_ready`` gets the base URL once the port is bound."""
    async with server:
        if on_ready is not None:
            on_ready(server.base_url)
        await asyncio.Event().wait()
