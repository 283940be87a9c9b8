"""Accounting: totals, reasoning-only counting, cost, price tables, the summary."""

from __future__ import annotations

import pytest

from patchline.core.batch import ResponseLine
from patchline.core.errors import InputError
from patchline.gateway.accounting import Accounting, parse_price_table

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
