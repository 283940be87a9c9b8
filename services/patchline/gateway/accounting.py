"""Accounting of a batch: per-line latency and usage, running totals, tokens/s, cost, and the final summary."""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields
from types import MappingProxyType
from typing import Any

from patchline.core.batch import body_usage, cached_prompt_tokens, is_reasoning_only_answer
from patchline.core.errors import DeadlineExceededError, InputError, PatchlineError, UnavailableError
from patchline.core.fingerprint import REQUEST_FINGERPRINT, SETTINGS_FINGERPRINT
from patchline.core.jsonl import load_json
from patchline.core.spec import Price

__all__ = ["Accounting", "ExecutionSummary", "RunTotals", "line_stats", "parse_price_table"]


@dataclass
class RunTotals:
    """The counters of one executor run: what :class:`Accounting` counts and :class:`ExecutionSummary` reports."""

    total: int = 0
    succeeded: int = 0
    failed: int = 0
    skipped: int = 0  # already final in the output before the run started
    reasoning_only: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cached_tokens: int = 0  # prompt tokens the servers reported as read from their prefix cache
    attempts: int = 0
    retries: int = 0
    malformed_input_lines: int = 0
    expired: int = 0  # requests recorded as failed because the run's deadline passed (within ``failed``)
    first_failure: str = ""  # "custom_id: status: code: message" of the first request that failed
    first_failure_status: int | None = None  # its status code (0: no HTTP answer)


@dataclass
class ExecutionSummary(RunTotals):
    """What one executor run did: its totals, how long it took, what it cost, where the answers are."""

    seconds: float = 0.0
    cost: float | None = None
    output_uri: str = ""

    @property
    def cached_share(self) -> float:
        """Share of the prompt tokens served from the servers' prefix caches (0 when none were reported)."""
        return self.cached_tokens / self.prompt_tokens if self.prompt_tokens > 0 else 0.0

    @property
    def tokens_per_s(self) -> float:
        """Completion tokens per second of wall time."""
        return self.completion_tokens / self.seconds if self.seconds > 0 else 0.0

    @property
    def requests_per_s(self) -> float:
        """Requests finished (succeeded or failed) per second of wall time."""
        return (self.succeeded + self.failed) / self.seconds if self.seconds > 0 else 0.0

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dictionary, derived rates included."""
        out = asdict(self)
        out["tokens_per_s"] = round(self.tokens_per_s, 3)
        out["cached_share"] = round(self.cached_share, 4)
        out["requests_per_s"] = round(self.requests_per_s, 3)
        return out

    def raise_for_deadline(self, deadline_s: float | None) -> None:
        """Raise :class:`DeadlineExceededError` when the deadline left requests unfinished (they are recorded)."""
        if self.expired:
            raise DeadlineExceededError(
                f"the deadline of {deadline_s or 0:g} s passed: {self.expired} unfinished requests were recorded "
                f"in {self.output_uri} as failed (deadline); rerun the command to send them"
            )

    def nothing_done(self, input_uri: str) -> PatchlineError | None:
        """Why this run answered nothing (no request, or every request failed), as the error to exit with."""
        if not self.total:
            why = f"{self.malformed_input_lines} unreadable line(s)" if self.malformed_input_lines else "it is empty"
            return InputError(f"{input_uri}: no request to send ({why})")
        if self.failed and not self.succeeded:
            kind = UnavailableError if self.first_failure_status == 0 else PatchlineError
            return kind(
                f"all {self.failed} requests sent failed (first: {self.first_failure}); the failures are recorded in "
                f"{self.output_uri}"
            )
        return None

    def describe(self) -> str:
        """One human line for logs and the CLI."""
        cost = "" if self.cost is None else f", cost {self.cost:.4f}"
        expired = f" ({self.expired} unfinished at the deadline)" if self.expired else ""
        bad = (
            f", {self.malformed_input_lines} bad input line(s) not sent (see the log)"
            if self.malformed_input_lines
            else ""
        )
        return (
            f"{self.succeeded} succeeded, {self.failed} failed{expired}{bad}, {self.skipped} already done"
            f" ({self.total} requests); {self.reasoning_only} reasoning-only answers; "
            f"{self.prompt_tokens}+{self.completion_tokens} tokens ({self.cached_tokens} prompt tokens cached) "
            f"in {self.seconds:.1f} s "
            f"({self.tokens_per_s:.0f} tok/s, {self.requests_per_s:.1f} req/s); {self.retries} retries{cost}"
        )


def parse_price_table(text: str, *, source: str = "price table") -> Mapping[str, Price]:
    """Prices from JSON: ``{model: [input_per_mtok, output_per_mtok]}`` or ``{model: {"input_per_mtok", ...}}``."""
    try:
        raw = load_json(text)
    except json.JSONDecodeError as exc:
        raise InputError(f"{source}: invalid JSON ({exc.msg})") from exc
    if not isinstance(raw, dict):
        raise InputError(f"{source}: expected an object mapping model names to prices")
    table: dict[str, Price] = {}
    for model, value in raw.items():
        if isinstance(value, list | tuple) and len(value) == 2:
            pair = value
        elif isinstance(value, dict) and {"input_per_mtok", "output_per_mtok"} <= value.keys():
            pair = [value["input_per_mtok"], value["output_per_mtok"]]
        else:
            raise InputError(f"{source}: {model}: expected [input_per_mtok, output_per_mtok]")
        if not all(isinstance(p, int | float) and not isinstance(p, bool) and p >= 0 for p in pair):
            raise InputError(f"{source}: {model}: prices must be non-negative numbers")
        table[str(model)] = Price(input_per_mtok=float(pair[0]), output_per_mtok=float(pair[1]))
    return MappingProxyType(table)


def line_stats(
    *,
    latency_s: float,
    attempts: int,
    endpoint_index: int | None,
    request_fingerprint: str = "",
    settings_fingerprint: str = "",
    cached_tokens: int | None = None,
) -> dict[str, Any]:
    """The ``patchline`` field added to each response line (no URL: it may carry credentials).

    The fingerprints say which request, sent with which settings, the line answers
    (:mod:`patchline.core.fingerprint`); ``cached_tokens``: prompt tokens the server read from its prefix
    cache, when it said.
    """
    stats: dict[str, Any] = {
        "latency_s": round(latency_s, 4),
        "attempts": attempts,
        "endpoint_index": endpoint_index,
        REQUEST_FINGERPRINT: request_fingerprint,
        SETTINGS_FINGERPRINT: settings_fingerprint,
    }
    if cached_tokens is not None:
        stats["cached_tokens"] = cached_tokens
    return stats


class Accounting(RunTotals):
    """Running totals of one run, updated on the event loop as lines are written."""

    def __init__(self, *, prices: Mapping[str, Price], output_uri: str) -> None:
        super().__init__()
        self._prices = prices
        self._output_uri = output_uri
        self._started = time.monotonic()
        self._cost = 0.0
        self._priced = False

    def record(
        self,
        *,
        ok: bool,
        body: dict[str, Any],
        model: str | None,
        attempts: int,
        expired: bool = False,
        cached_tokens: int | None = None,
    ) -> dict[str, float]:
        """Count one finished request (``body``: the server's answer); returns the progress increments.

        ``cached_tokens``: the body's cached prompt tokens when the caller has read them already.
        """
        self.attempts += attempts
        self.retries += max(attempts - 1, 0)  # a request the deadline stopped before it was sent has 0
        self.expired += int(expired)
        usage = body_usage(body)
        prompt = usage.get("prompt_tokens", 0)
        completion = usage.get("completion_tokens", 0)
        self.prompt_tokens += prompt
        self.completion_tokens += completion
        self.cached_tokens += (cached_tokens if cached_tokens is not None else cached_prompt_tokens(body)) or 0
        price = self._prices.get(model or "")
        if price is not None:
            self._priced = True
            self._cost += (prompt * price.input_per_mtok + completion * price.output_per_mtok) / 1e6
        if ok:
            self.succeeded += 1
        else:
            self.failed += 1
        reasoning_only = ok and is_reasoning_only_answer(body)
        self.reasoning_only += int(reasoning_only)
        return {
            "ok": float(ok),
            "failed": float(not ok),
            "reasoning_only": float(reasoning_only),
            "tokens": float(completion),
        }

    def summary(self) -> ExecutionSummary:
        """The totals so far as an :class:`ExecutionSummary`."""
        totals = {f.name: getattr(self, f.name) for f in fields(RunTotals)}
        return ExecutionSummary(
            **totals,
            seconds=round(time.monotonic() - self._started, 3),
            cost=round(self._cost, 6) if self._priced or self._prices else None,
            output_uri=self._output_uri,
        )
