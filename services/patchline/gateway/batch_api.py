"""OpenAI Batch API mode: submit a request file as a provider-side batch, follow it, fetch its results.

``submit_batch`` uploads the file (``POST /v1/files``, purpose ``batch``) and creates the batch (``POST /v1/batches``);
the batch id lives in ``batch_api.json`` in the run folder, so ``batch_status`` and ``fetch_batch`` work from any
later process. Submitting is idempotent: the state file is written with a fresh token before the batch is created
(the token travels as batch metadata), so a process killed between creating the batch and recording its id finds
and adopts that batch on the next ``submit`` instead of paying for a second one.

``fetch_batch`` polls (with backoff, when asked to wait) until the batch reaches a terminal status, downloads the
output and error files (``GET /v1/files/{id}/content``) and appends them to the output as patchline response
lines, only for custom_ids without a final line there yet. Error-file lines become failure lines (never a null
response). Requests a failed, expired or cancelled batch never answered get a retryable failure line, so the
regular executor (``patchline infer run``) can finish them against any endpoint.
"""

from __future__ import annotations

import asyncio
import logging
import tempfile
import uuid
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from pydantic import BaseModel, ValidationError

from patchline.core.batch import CHAT_COMPLETIONS_URL, iter_requests
from patchline.core.errors import InputError, PreconditionError, UnavailableError
from patchline.core.redact import Redactor
from patchline.core.settings import ApiKeys
from patchline.core.store import ArtifactStore, open_artifact
from patchline.gateway.batch_results import FetchSummary, append_results
from patchline.gateway.endpoints import normalise_base_url

__all__ = [
    "STATE_FILE",
    "TERMINAL_STATUSES",
    "BatchApiSettings",
    "BatchState",
    "batch_status",
    "fetch_batch",
    "read_state",
    "state_as_text",
    "submit_batch",
]

log = logging.getLogger(__name__)

STATE_FILE = "batch_api.json"
TERMINAL_STATUSES = frozenset({"completed", "failed", "expired", "cancelled"})


@dataclass(frozen=True)
class BatchApiSettings:
    """HTTP and polling knobs of the Batch API mode."""

    timeout_s: float = 120.0
    poll_initial_s: float = 5.0
    poll_factor: float = 1.5
    poll_max_s: float = 120.0
    max_wait_s: float | None = None  # None: wait as long as the batch's completion window allows


class BatchState(BaseModel):
    """What ``batch_api.json`` records about the batch of one run folder."""

    base_url: str
    input_file: str
    token: str
    completion_window: str = "24h"
    endpoint: str = CHAT_COMPLETIONS_URL
    input_file_id: str | None = None
    batch_id: str | None = None
    status: str | None = None
    output_file_id: str | None = None
    error_file_id: str | None = None
    request_counts: dict[str, int] = {}
    errors: list[str] = []

    @property
    def is_terminal(self) -> bool:
        """True once the provider will not change the batch any more."""
        return self.status in TERMINAL_STATUSES

    def absorb(self, batch: Mapping[str, Any]) -> BatchState:
        """A copy updated from a batch object the provider returned."""
        errors = batch.get("errors") or {}
        messages = [str(e.get("message", e)) for e in errors.get("data", []) if isinstance(e, dict)]
        counts = batch.get("request_counts") or {}
        return self.model_copy(
            update={
                "batch_id": str(batch.get("id") or self.batch_id),
                "status": str(batch.get("status") or self.status),
                "output_file_id": batch.get("output_file_id") or self.output_file_id,
                "error_file_id": batch.get("error_file_id") or self.error_file_id,
                "request_counts": {k: int(v) for k, v in counts.items() if isinstance(v, int)},
                "errors": messages or self.errors,
            }
        )


# -- state ---------------------------------------------------------------------------------------------------


def _run_store(run_dir: str) -> ArtifactStore:
    return ArtifactStore(run_dir)


def read_state(store: ArtifactStore) -> BatchState | None:
    """The recorded state of the run folder, or None when nothing was submitted there."""
    if not store.exists(STATE_FILE):
        return None
    try:
        return BatchState.model_validate_json(store.read_text(STATE_FILE))
    except ValidationError as exc:
        raise InputError(f"{store.uri(STATE_FILE)} is not a batch state file: {exc.errors()[0]['msg']}") from exc


def _write_state(store: ArtifactStore, state: BatchState) -> None:
    store.write_text(STATE_FILE, state.model_dump_json(indent=2) + "\n")


def _require_state(store: ArtifactStore) -> BatchState:
    state = read_state(store)
    if state is None or state.batch_id is None:
        raise PreconditionError(f"no batch was submitted from {store.root}: run `patchline infer submit` first")
    return state


# -- HTTP ----------------------------------------------------------------------------------------------------


class _Provider:
    """One HTTP session with the provider; every text it returns passes the key redactor on the way in.

    A provider may echo the caller's key in an error body, a batch's ``errors`` or its output and error
    files: JSON answers, error messages and downloaded lines are redacted here, before anything is
    stored, logged or raised.
    """

    def __init__(
        self, base_url: str, keys: ApiKeys, settings: BatchApiSettings, transport: httpx.AsyncBaseTransport | None
    ) -> None:
        headers = {"Authorization": f"Bearer {keys.keys[0].get_secret_value()}"} if len(keys) else {}
        self.client = httpx.AsyncClient(
            base_url=base_url, headers=headers, timeout=settings.timeout_s, transport=transport, trust_env=False
        )
        self.redactor = Redactor(keys.keys)

    async def __aenter__(self) -> _Provider:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.client.aclose()

    async def call(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        """One JSON call; HTTP trouble becomes InputError (4xx) or UnavailableError, with the key redacted."""
        where = f"{method} {self.client.base_url}{path}"
        try:
            response = await self.client.request(method, path, **kwargs)
        except httpx.TransportError as exc:
            raise UnavailableError(f"{where}: {type(exc).__name__}") from exc
        if response.status_code >= 400:
            kind = InputError if 400 <= response.status_code < 500 and response.status_code != 429 else UnavailableError
            excerpt = self.redactor.text(response.text[:300])
            raise kind(f"{where}: HTTP {response.status_code}: {excerpt}")
        try:
            body = response.json()
        except ValueError as exc:
            raise UnavailableError(f"{where}: the answer is not JSON") from exc
        except RecursionError as exc:
            raise UnavailableError(f"{where}: the answer is nested too deeply") from exc
        if not isinstance(body, dict):
            raise UnavailableError(f"{where}: the answer is not a JSON object")
        redacted: dict[str, Any] = self.redactor.value(body)
        return redacted

    async def download(self, file_id: str, path: Path) -> None:
        """Stream a file's content into ``path`` line by line, each line redacted."""
        where = f"GET /v1/files/{file_id}/content"
        try:
            async with self.client.stream("GET", f"/v1/files/{file_id}/content") as response:
                if response.status_code >= 400:
                    raise UnavailableError(f"{where}: HTTP {response.status_code}")
                with path.open("wb") as handle:
                    async for line in _lines(response.aiter_bytes()):
                        await asyncio.to_thread(handle.write, self.redactor.raw_line(line))
        except httpx.TransportError as exc:
            raise UnavailableError(f"{where}: {type(exc).__name__}") from exc


async def _lines(chunks: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
    """The lines of a byte stream, each with its newline (the last one as it ends)."""
    parts: list[bytes] = []
    async for chunk in chunks:
        start = 0
        while (end := chunk.find(b"\n", start)) >= 0:
            parts.append(chunk[start : end + 1])
            yield b"".join(parts)
            parts.clear()
            start = end + 1
        if start < len(chunk):
            parts.append(chunk[start:])
    if parts:
        yield b"".join(parts)


async def _find_adoptable(provider: _Provider, token: str) -> dict[str, Any] | None:
    """A batch created earlier with ``token`` in its metadata (a submit that died before recording it)."""
    try:
        listing = await provider.call("GET", "/v1/batches", params={"limit": 100})
    except InputError as exc:
        log.warning("cannot list batches to adopt an earlier submission (%s); creating a new one", exc)
        return None
    for batch in listing.get("data", []):
        if isinstance(batch, dict) and (batch.get("metadata") or {}).get("patchline_token") == token:
            return batch
    return None


def _endpoint_of(store: ArtifactStore, name: str) -> str:
    """The endpoint of the file's requests (all must share one); validates every line on the way."""
    endpoints: set[str] = set()
    count = 0
    for _, request in iter_requests(store.iter_lines(name), source=store.uri(name)):
        endpoints.add(request.url)
        count += 1
    if count == 0:
        raise InputError(f"{store.uri(name)} has no usable request line")
    if len(endpoints) > 1:
        raise InputError(f"{store.uri(name)}: one batch serves one endpoint, the file uses {sorted(endpoints)}")
    return endpoints.pop()


async def submit_batch(
    input_file: str,
    *,
    base_url: str,
    run_dir: str,
    keys: ApiKeys,
    completion_window: str = "24h",
    settings: BatchApiSettings | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
) -> BatchState:
    """Upload ``input_file`` and create its batch, or return the batch this run folder already has."""
    s = settings or BatchApiSettings()
    store = _run_store(run_dir)
    state = await asyncio.to_thread(read_state, store)
    if state is not None and state.input_file != input_file:
        raise PreconditionError(f"{store.root} already holds a batch for {state.input_file}: use another --run-dir")
    if state is not None and state.batch_id is not None:
        log.info("batch %s was already submitted from %s", state.batch_id, store.root)
        return state
    source, name = open_artifact(input_file)
    endpoint = await asyncio.to_thread(_endpoint_of, source, name)
    base = normalise_base_url(base_url)
    state = state or BatchState(base_url=base, input_file=input_file, token=uuid.uuid4().hex)
    state = state.model_copy(update={"completion_window": completion_window, "endpoint": endpoint})
    async with _Provider(state.base_url, keys, s, transport) as provider:
        adopted = await _find_adoptable(provider, state.token) if state.input_file_id else None
        if adopted is None:
            data = await asyncio.to_thread(source.read_bytes, name)
            files = {"file": (Path(name).name or "requests.jsonl", data, "application/jsonl")}
            uploaded = await provider.call("POST", "/v1/files", data={"purpose": "batch"}, files=files)
            state = state.model_copy(update={"input_file_id": str(uploaded["id"])})
            await asyncio.to_thread(_write_state, store, state)
            body = {
                "input_file_id": state.input_file_id,
                "endpoint": endpoint,
                "completion_window": completion_window,
                "metadata": {"patchline_token": state.token},
            }
            adopted = await provider.call("POST", "/v1/batches", json=body)
    state = state.absorb(adopted)
    await asyncio.to_thread(_write_state, store, state)
    log.info("batch %s submitted (%s)", state.batch_id, state.status)
    return state


async def batch_status(
    run_dir: str,
    *,
    keys: ApiKeys,
    settings: BatchApiSettings | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
) -> BatchState:
    """Ask the provider for the batch's status once and record it."""
    store = _run_store(run_dir)
    state = await asyncio.to_thread(_require_state, store)
    async with _Provider(state.base_url, keys, settings or BatchApiSettings(), transport) as provider:
        state = state.absorb(await provider.call("GET", f"/v1/batches/{state.batch_id}"))
    await asyncio.to_thread(_write_state, store, state)
    return state


# -- fetch ---------------------------------------------------------------------------------------------------


async def _wait_terminal(provider: _Provider, state: BatchState, *, wait: bool, s: BatchApiSettings) -> BatchState:
    loop = asyncio.get_running_loop()
    deadline = None if s.max_wait_s is None else loop.time() + s.max_wait_s
    delay = s.poll_initial_s
    while True:
        try:
            state = state.absorb(await provider.call("GET", f"/v1/batches/{state.batch_id}"))
        except UnavailableError as exc:
            if not wait:
                raise
            log.warning("batch %s: status unknown for now (%s)", state.batch_id, exc)
        if state.is_terminal:
            return state
        if not wait:
            raise PreconditionError(f"batch {state.batch_id} is {state.status}: not finished (use --wait to wait)")
        if deadline is not None and loop.time() + delay > deadline:
            raise UnavailableError(f"batch {state.batch_id} is still {state.status} after {s.max_wait_s:g} s")
        log.info("batch %s is %s; next look in %.0f s", state.batch_id, state.status, delay)
        await asyncio.sleep(delay)  # polling a remote job: the wait is the backoff itself
        delay = min(delay * s.poll_factor, s.poll_max_s)


def _input_ids(input_file: str) -> list[str]:
    store, name = open_artifact(input_file)
    return [request.custom_id for _, request in iter_requests(store.iter_lines(name), source=store.uri(name))]


async def fetch_batch(
    run_dir: str,
    output_file: str,
    *,
    keys: ApiKeys,
    wait: bool = False,
    settings: BatchApiSettings | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
) -> FetchSummary:
    """Append the finished batch's answers to ``output_file``; with ``wait``, poll until it finishes first."""
    s = settings or BatchApiSettings()
    store = _run_store(run_dir)
    state = await asyncio.to_thread(_require_state, store)
    target, name = open_artifact(output_file)
    with tempfile.TemporaryDirectory(prefix="patchline-batch-") as tmp:
        async with _Provider(state.base_url, keys, s, transport) as provider:
            state = await _wait_terminal(provider, state, wait=wait, s=s)
            await asyncio.to_thread(_write_state, store, state)
            downloads: list[Path] = []
            for file_id in (state.output_file_id, state.error_file_id):
                if file_id:
                    downloads.append(Path(tmp) / f"{len(downloads)}.jsonl")
                    await provider.download(file_id, downloads[-1])
        input_ids = await asyncio.to_thread(_input_ids, state.input_file)
        summary = await asyncio.to_thread(
            append_results,
            target,
            name,
            downloads,
            input_ids,
            batch_id=state.batch_id or "",
            status=state.status or "",
            reason="; ".join(state.errors),
        )
    log.info("%s", summary.describe())
    return summary


def state_as_text(state: BatchState) -> str:
    """A short human summary of a recorded batch (for ``patchline infer status``)."""
    counts = ", ".join(f"{k} {v}" for k, v in state.request_counts.items())
    errors = f"; errors: {'; '.join(state.errors)}" if state.errors else ""
    return f"batch {state.batch_id}: {state.status}" + (f" ({counts})" if counts else "") + errors
