"""Sending one request line: attempts over the endpoint pool, retries per the policy, one final response line."""

from __future__ import annotations

import asyncio
import itertools
import logging
import random
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import msgspec

from patchline.core.batch import RawRequestLine, cached_prompt_tokens, response_record
from patchline.core.fingerprint import settings_fingerprint
from patchline.core.jsonl import json_bytes, parse_json
from patchline.core.spec import EngineFlavor, ExecutorSettings, ModelEndpoints
from patchline.gateway.accounting import line_stats
from patchline.gateway.endpoints import EndpointPool, join_url
from patchline.gateway.grouping import Lane
from patchline.gateway.http import HttpClient, TransportFailure
from patchline.gateway.keys import KeyRing
from patchline.gateway.metrics import ExecutorMetrics
from patchline.gateway.retry import RetryPolicy, parse_retry_after
from patchline.gateway.thinking import prepare_body

__all__ = ["DEADLINE_CODE", "Finished", "Sender", "payload_settings"]

log = logging.getLogger(__name__)

_MAX_ERROR_TEXT = 500
DEADLINE_CODE = "deadline"  # error code of the requests the run's deadline left unfinished
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
    expired: bool = False  # unfinished when the run's deadline passed
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


def payload_settings(target: ModelEndpoints) -> dict[str, Any]:
    """What changes the bytes sent for a request (see :meth:`Sender._payload`): it is fingerprinted."""
    return {
        "model_override": target.model,
        "engine": target.flavor.value,
        "thinking_processor": target.thinking_processor.value if target.thinking_processor else None,
    }


@dataclass(kw_only=True, eq=False, repr=False)  # identity semantics; no repr that could show keys
class Sender:
    """Sends request lines; holds the endpoints, keys and policy of one run (clients are passed per call)."""

    pool: EndpointPool
    keys: KeyRing
    settings: ExecutorSettings
    target: ModelEndpoints
    metrics: ExecutorMetrics
    rng: random.Random = field(default_factory=random.Random)  # jitter, not cryptography
    deadline_at: float | None = None  # on the loop's clock: no attempt and no wait goes past it
    settings_fingerprint: str = field(init=False)
    _policy: RetryPolicy = field(init=False)
    _waiting: dict[int, float] = field(init=False, default_factory=dict)  # attempt -> when it was sent (oldest first)
    _attempts: Iterator[int] = field(init=False, default_factory=itertools.count)

    def __post_init__(self) -> None:
        self.settings_fingerprint = self.fingerprint_of(self.target)
        self._policy = RetryPolicy(self.settings)

    @staticmethod
    def fingerprint_of(target: ModelEndpoints) -> str:
        """The settings fingerprint the lines of a run sent to ``target`` carry."""
        return settings_fingerprint(payload_settings(target))

    async def send(
        self, request: RawRequestLine, client: HttpClient, *, fingerprint: str = "", lane: Lane | None = None
    ) -> Finished:
        """Send until a success, a permanent failure, the last attempt or the deadline; never raises for HTTP.

        ``fingerprint`` is the request's (:func:`patchline.core.fingerprint.request_fingerprint`), recorded in
        the line with the settings' so a rerun can tell this answer from one to another request.
        ``lane``: the request's prompt group; its key chooses the replica, which it then keeps.
        """
        payload, model = self._payload(request)
        custom_id = request.custom_id
        started = time.monotonic()
        attempt = 0
        endpoint_index: int | None = None
        outcome: _Outcome | None = None
        metrics = self.metrics
        metrics.in_flight += 1
        try:
            while True:
                if self._expired():
                    outcome = self._deadline_outcome(outcome)
                    break
                attempt += 1
                if lane is None:
                    endpoint = self.pool.acquire(custom_id)
                else:
                    endpoint = self.pool.acquire(custom_id, key=lane.key, prefer=lane.endpoint)
                endpoint_index = endpoint.index
                url = join_url(endpoint.base_url, request.url)
                outcome = await self._attempt_before_deadline(client, url, payload)
                self.pool.release(endpoint, healthy=outcome.healthy)
                if lane is not None:
                    lane.endpoint = endpoint.index if outcome.healthy else None
                metrics.count_attempt(endpoint.index, outcome.status)
                if outcome.ok or not self._policy.should_retry(outcome.status, attempt):
                    break
                metrics.retries += 1
                wait = self._policy.delay(attempt, retry_after=outcome.retry_after, rng=self.rng)
                if self._expired(after=wait):
                    outcome = self._deadline_outcome(outcome)
                    break
                self._log_retry(custom_id, attempt, outcome, wait)
                await asyncio.sleep(wait)
        finally:
            metrics.in_flight -= 1
        latency = time.monotonic() - started
        metrics.observe_latency(latency)
        cached = cached_prompt_tokens(outcome.body)
        stats = line_stats(
            latency_s=latency,
            attempts=attempt,
            endpoint_index=endpoint_index,
            request_fingerprint=fingerprint,
            settings_fingerprint=self.settings_fingerprint,
            cached_tokens=cached,
        )
        record = response_record(
            custom_id,
            status_code=outcome.status,
            body=outcome.body,
            request_id=outcome.request_id,
            error=outcome.error,
            patchline=stats,
        )
        expired = outcome.error is not None and outcome.error[0] == DEADLINE_CODE
        return Finished(
            record=record, ok=outcome.ok, model=model, attempts=attempt, expired=expired, cached_tokens=cached
        )

    @property
    def in_flight(self) -> int:
        """Requests being sent or waiting for a retry."""
        return self.metrics.in_flight

    def unanswered(self, longer_than_s: float) -> tuple[int, float]:
        """How many attempts have waited over ``longer_than_s`` for an answer, and the longest wait so far."""
        if not self._waiting:
            return 0, 0.0
        now = time.monotonic()
        count = sum(1 for sent in self._waiting.values() if now - sent > longer_than_s)
        return count, now - next(iter(self._waiting.values()))

    def _expired(self, *, after: float = 0.0) -> bool:
        """True when the run's deadline has passed (or will have, ``after`` seconds from now)."""
        deadline = self.deadline_at
        return deadline is not None and asyncio.get_running_loop().time() + after >= deadline

    def _deadline_outcome(self, last: _Outcome | None) -> _Outcome:
        """The failure of a request still unfinished at the deadline: retryable (status 0), so a rerun sends it."""
        limit = self.settings.deadline_seconds or 0.0
        message = f"the run's deadline of {limit:g} s passed before this request finished"
        if last is not None and last.error is not None:
            message += f" (last attempt: {last.error[1]})"
        return _Outcome(0, {}, error=(DEADLINE_CODE, message))

    async def _attempt_before_deadline(self, client: HttpClient, url: str, payload: bytes) -> _Outcome:
        """One attempt, cut short at the deadline (without a deadline no timer is armed: the hot path)."""
        if self.deadline_at is None:
            return await self._attempt(client, url, payload)
        scope = asyncio.timeout_at(self.deadline_at)
        try:
            async with scope:
                return await self._attempt(client, url, payload)
        except TimeoutError:
            if not scope.expired():
                raise
            return self._deadline_outcome(None)

    def _payload(self, request: RawRequestLine) -> tuple[bytes, str | None]:
        """The bytes to send and the request's model (for prices): the body as written unless it must change."""
        target = self.target
        if target.model or target.flavor is EngineFlavor.SGLANG:
            body = prepare_body(parse_json(request.body), target=target)
            model = body.get("model")
            return json_bytes(body), model if isinstance(model, str) else None
        payload = bytes(request.body)
        return payload, (_model_of(payload) if self.settings.prices else None)

    async def _attempt(self, client: HttpClient, url: str, payload: bytes) -> _Outcome:
        headers = self.keys.headers(_JSON_HEADERS)
        token = next(self._attempts)
        self._waiting[token] = time.monotonic()
        try:
            response = await client.post(url, payload, headers)
        except TransportFailure as exc:
            message = self.keys.redact(str(exc)) or "no detail"
            return _Outcome(0, {}, error=(exc.kind, f"{exc.kind}: {message}"), healthy=False)
        finally:
            del self._waiting[token]
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
        error = (code, self.keys.redact(message or self._excerpt(response.content)))
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
        return self.keys.redact(content[:_MAX_ERROR_TEXT].decode("utf-8", "replace"))


def _model_of(payload: bytes) -> str | None:
    try:
        return _MODEL_ONLY.decode(payload).model
    except (ValueError, RecursionError):  # "model" is not a string (or the body is absurd): no price applies
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
