"""Sending one request line: attempts over the endpoint pool, retries per the policy, one final response line."""

from __future__ import annotations

import asyncio
import logging
import random
import time
from dataclasses import dataclass
from typing import Any

import msgspec

from patchline.core.batch import RawRequestLine, cached_prompt_tokens, response_record
from patchline.core.jsonl import json_bytes, parse_json
from patchline.gateway.accounting import line_stats
from patchline.gateway.endpoints import EndpointPool, join_url
from patchline.gateway.grouping import Lane
from patchline.gateway.http import HttpClient, TransportFailure
from patchline.gateway.keys import KeyRing
from patchline.gateway.metrics import ExecutorMetrics
from patchline.gateway.retry import RetryPolicy, parse_retry_after
from patchline.gateway.settings import Engine, ExecutorSettings
from patchline.gateway.thinking import prepare_body

__all__ = ["Finished", "Sender"]

log = logging.getLogger(__name__)

_MAX_ERROR_TEXT = 500
_JSON_HEADERS = {"Content-Type": "application/json"}


class _ModelOnly(msgspec.Struct):
    """The ``model`` of a request body, read without building the rest of it."""

    model: str | None = None


_MODEL_ONLY = msgspec.json.Decoder(_ModelOnly)


@dataclass(slots=True)
class Finished:
    """A request's final response line (as the dict written, see ``response_record``) and its accounting."""

    record: dict[str, Any]
    ok: bool
    model: str | None
    attempts: int
    cached_tokens: int | None = None  # prompt tokens the server read from its cache, when it said

    @property
    def body(self) -> dict[str, Any]:
        """The server's answer (or {}), as written in the line."""
        body: dict[str, Any] = self.record["response"]["body"]
        return body


@dataclass(slots=True)
class _Outcome:
    """One attempt's result; the response line is built once, from the last attempt."""

    status: int  # 0: no HTTP answer
    body: dict[str, Any]
    request_id: str = ""
    error: tuple[str, str] | None = None  # (code, message)
    retry_after: float | None = None
    healthy: bool = True

    @property
    def ok(self) -> bool:
        return self.error is None and 200 <= self.status < 300


class Sender:
    """Sends request lines; holds the endpoints, keys and policy of one run (clients are passed per call)."""

    def __init__(
        self,
        *,
        pool: EndpointPool,
        keys: KeyRing,
        settings: ExecutorSettings,
        metrics: ExecutorMetrics,
        rng: random.Random | None = None,
    ) -> None:
        self._pool = pool
        self._keys = keys
        self._settings = settings
        self._metrics = metrics
        self._rng = rng or random.Random()  # noqa: S311 - jitter, not cryptography
        self._policy = RetryPolicy(
            max_attempts=settings.max_attempts,
            base_s=settings.backoff_base_s,
            cap_s=settings.backoff_cap_s,
            retry_after_cap_s=settings.retry_after_cap_s,
        )

    async def send(self, request: RawRequestLine, client: HttpClient, *, lane: Lane | None = None) -> Finished:
        """Send until a success, a permanent failure, or the last attempt; never raises for HTTP trouble.

        ``lane``: the request's prompt group; its key chooses the replica, which it then keeps.
        """
        payload, model = self._payload(request)
        custom_id = request.custom_id
        started = time.monotonic()
        attempt = 0
        metrics = self._metrics
        metrics.in_flight += 1
        try:
            while True:
                attempt += 1
                if lane is None:
                    endpoint = self._pool.acquire(custom_id)
                else:
                    endpoint = self._pool.acquire(custom_id, key=lane.key, prefer=lane.endpoint)
                url = join_url(endpoint.base_url, request.url)
                outcome = await self._attempt(client, url, payload)
                self._pool.release(endpoint, healthy=outcome.healthy)
                if lane is not None:
                    lane.endpoint = endpoint.index if outcome.healthy else None
                metrics.count_attempt(endpoint.index, outcome.status)
                if outcome.ok or not self._policy.should_retry(outcome.status, attempt):
                    break
                metrics.retries += 1
                wait = self._policy.delay(attempt, retry_after=outcome.retry_after, rng=self._rng)
                self._log_retry(custom_id, attempt, outcome, wait)
                await asyncio.sleep(wait)
        finally:
            metrics.in_flight -= 1
        latency = time.monotonic() - started
        metrics.observe_latency(latency)
        cached = cached_prompt_tokens(outcome.body)
        stats = line_stats(latency_s=latency, attempts=attempt, endpoint_index=endpoint.index, cached_tokens=cached)
        record = response_record(
            custom_id,
            status_code=outcome.status,
            body=outcome.body,
            request_id=outcome.request_id,
            error=outcome.error,
            patchline=stats,
        )
        return Finished(record=record, ok=outcome.ok, model=model, attempts=attempt, cached_tokens=cached)

    def _payload(self, request: RawRequestLine) -> tuple[bytes, str | None]:
        """The bytes to send and the request's model (for prices): the body as written unless it must change."""
        s = self._settings
        if s.model_override or s.engine is Engine.SGLANG:
            body = prepare_body(
                parse_json(request.body),
                model_override=s.model_override,
                engine=s.engine,
                thinking_processor=s.thinking_processor,
            )
            model = body.get("model")
            return json_bytes(body), model if isinstance(model, str) else None
        payload = bytes(request.body)
        return payload, (_model_of(payload) if s.prices else None)

    async def _attempt(self, client: HttpClient, url: str, payload: bytes) -> _Outcome:
        headers = self._keys.headers(_JSON_HEADERS)
        try:
            response = await client.post(url, payload, headers)
        except TransportFailure as exc:
            message = self._keys.redact(str(exc)) or "no detail"
            return _Outcome(0, {}, error=(exc.kind, f"{exc.kind}: {message}"), healthy=False)
        status = response.status
        retry_after = parse_retry_after(response.headers.get("retry-after"))
        parsed = _json_object(response.content)
        healthy = status < 500 and status != 429
        if 200 <= status < 300:
            if parsed is None:
                message = f"HTTP {status} with a body that is not a JSON object: {self._excerpt(response.content)}"
                return _Outcome(0, {}, error=("invalid_body", message), retry_after=retry_after, healthy=False)
            request_id = response.headers.get("x-request-id") or str(parsed.get("id") or "")
            return _Outcome(status, parsed, request_id=request_id)
        code, message = _error_fields(parsed, status)
        error = (code, self._keys.redact(message or self._excerpt(response.content)))
        return _Outcome(status, parsed or {}, error=error, retry_after=retry_after, healthy=healthy)

    @staticmethod
    def _log_retry(custom_id: str, attempt: int, outcome: _Outcome, wait: float) -> None:
        error = outcome.error[1] if outcome.error else ""
        log.debug(
            "%s: attempt %d failed (status %d: %s); retrying in %.2f s",
            custom_id,
            attempt,
            outcome.status,
            error,
            wait,
        )

    def _excerpt(self, content: bytes) -> str:
        return self._keys.redact(content[:_MAX_ERROR_TEXT].decode("utf-8", "replace"))


def _model_of(payload: bytes) -> str | None:
    try:
        return _MODEL_ONLY.decode(payload).model
    except ValueError:  # "model" is not a string: no price applies
        return None


def _json_object(content: bytes) -> dict[str, Any] | None:
    try:
        value = parse_json(content)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def _error_fields(parsed: dict[str, Any] | None, status: int) -> tuple[str, str]:
    """(code, message) from an OpenAI-style ``{"error": {...}}`` body or a bare ``{"message": ...}``."""
    if not parsed:
        return f"http_{status}", ""
    error = parsed.get("error")
    source = error if isinstance(error, dict) else parsed
    code = source.get("code") or source.get("type") or f"http_{status}"
    message = source.get("message") or (error if isinstance(error, str) else "")
    return str(code), str(message)[:_MAX_ERROR_TEXT]
