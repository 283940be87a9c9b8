"""Accounting: totals, reasoning-only counting, cost, price tables, the summary."""

from __future__ import annotations

import pytest

from patchline.core.batch import ResponseLine, cached_prompt_tokens
from patchline.core.errors import InputError
from patchline.gateway.accounting import Accounting, line_stats, parse_price_table

pytestmark = pytest.mark.unit


def _answer(content: str | None, reasoning: str | None = None, completion: int = 100) -> ResponseLine:
    message = {"role": "assistant", "content": content}
    if reasoning is not None:
        message["reasoning_content"] = reasoning
    body = {"choices": [{"message": message}], "usage": {"prompt_tokens": 1000, "completion_tokens": completion}}
    return ResponseLine.success("x|0", body)


def _record(acc: Accounting, line: ResponseLine, *, model: str, attempts: int) -> dict[str, float]:
    return acc.record(ok=line.ok, body=line.response.body, model=model, attempts=attempts)


def test_totals_cost_and_reasoning_only() -> None:
    prices = parse_price_table('{"m": [1.0, 4.0], "n": {"input_per_mtok": 2, "output_per_mtok": 8}}')
    acc = Accounting(prices=prices, output_uri="out.jsonl")
    _record(acc, _answer("fine"), model="m", attempts=1)
    counters = _record(acc, _answer("", "long thinking"), model="n", attempts=3)
    _record(acc, ResponseLine.failure("y", status_code=400, code="c", message="too long"), model="m", attempts=1)
    assert counters["reasoning_only"] == 1.0 and counters["tokens"] == 100.0
    summary = acc.summary()
    assert (summary.succeeded, summary.failed, summary.reasoning_only) == (2, 1, 1)
    assert (summary.prompt_tokens, summary.completion_tokens) == (2000, 200)
    assert (summary.attempts, summary.retries) == (5, 2)
    assert summary.cost == pytest.approx((1000 * 1 + 100 * 4 + 1000 * 2 + 100 * 8) / 1e6)
    assert "1 reasoning-only" in summary.describe()
    assert summary.to_dict()["requests_per_s"] >= 0


def test_no_price_table_means_no_cost() -> None:
    acc = Accounting(prices={}, output_uri="o")
    _record(acc, _answer("ok"), model="m", attempts=1)
    assert acc.summary().cost is None


@pytest.mark.parametrize("text", ["[]", "{", '{"m": [1]}', '{"m": [-1, 2]}', '{"m": ["a", 1]}'])
def test_bad_price_tables_are_input_errors(text: str) -> None:
    with pytest.raises(InputError):
        parse_price_table(text)


@pytest.mark.parametrize(
    ("body", "cached"),
    [
        ({"usage": {"prompt_tokens": 100, "prompt_tokens_details": {"cached_tokens": 90}}}, 90),
        ({"usage": {"prompt_tokens": 100}, "timings": {"cache_n": 31, "prompt_n": 69}}, 31),  # llama.cpp's own
        ({"usage": {"prompt_tokens": 100, "prompt_tokens_details": None}}, None),
        ({}, None),
    ],
)
def test_cached_prompt_tokens_as_servers_report_them(body: dict[str, object], cached: int | None) -> None:
    assert cached_prompt_tokens(body) == cached


def test_cached_tokens_are_summed_and_shared_out_of_the_prompt_tokens() -> None:
    acc = Accounting(prices={}, output_uri="out.jsonl")
    for cached in (0, 900, None):
        usage: dict[str, object] = {"prompt_tokens": 1000, "completion_tokens": 10}
        if cached is not None:
            usage["prompt_tokens_details"] = {"cached_tokens": cached}
        acc.record(ok=True, body={"usage": usage}, model=None, attempts=1)
    summary = acc.summary()
    assert (summary.cached_tokens, summary.prompt_tokens) == (900, 3000)
    assert summary.cached_share == pytest.approx(0.3)
    assert summary.to_dict()["cached_share"] == 0.3
    assert "900 prompt tokens cached" in summary.describe()


def test_line_stats_carry_cached_tokens_only_when_reported() -> None:
    assert "cached_tokens" not in line_stats(latency_s=0.1, attempts=1, endpoint_index=0)
    assert line_stats(latency_s=0.1, attempts=1, endpoint_index=0, cached_tokens=12)["cached_tokens"] == 12
