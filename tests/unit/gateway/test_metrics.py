"""ExecutorMetrics: the run's live counts in Prometheus' text format."""

from __future__ import annotations

import pytest
from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families

from patchline.gateway.accounting import Accounting
from patchline.gateway.metrics import ExecutorMetrics

pytestmark = pytest.mark.unit


def _samples(metrics: ExecutorMetrics) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    text = generate_latest(metrics.registry).decode()
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def test_counts_come_from_the_run_as_it_is_scraped() -> None:
    accounting = Accounting(prices={}, output_uri="out.jsonl")
    metrics = ExecutorMetrics(accounting)
    usage = {"prompt_tokens": 7, "prompt_tokens_details": {"cached_tokens": 5}}
    body = {"choices": [{"message": {"content": "", "reasoning_content": "hmm"}}], "usage": usage}
    accounting.record(ok=True, body=body, model="m", attempts=2)
    accounting.skipped += 3
    metrics.count_attempt(0, 500)
    metrics.count_attempt(0, 200)
    metrics.count_attempt(1, 200)
    metrics.retries += 1
    metrics.in_flight = 5
    for seconds in (0.005, 0.3, 0.3, 700.0):
        metrics.observe_latency(seconds)
    s = _samples(metrics)
    assert s[("patchline_requests_total", (("outcome", "ok"),))] == 1
    assert s[("patchline_requests_total", (("outcome", "skipped"),))] == 3
    assert s[("patchline_attempts_total", (("endpoint", "0"), ("status", "500")))] == 1
    assert s[("patchline_attempts_total", (("endpoint", "1"), ("status", "200")))] == 1
    assert s[("patchline_retries_total", ())] == 1
    assert s[("patchline_reasoning_only_total", ())] == 1
    assert s[("patchline_tokens_total", (("kind", "prompt"),))] == 7
    assert s[("patchline_tokens_total", (("kind", "cached"),))] == 5
    assert s[("patchline_in_flight", ())] == 5
    assert s[("patchline_request_seconds_bucket", (("le", "0.01"),))] == 1
    assert s[("patchline_request_seconds_bucket", (("le", "0.5"),))] == 3  # cumulative, "le" inclusive
    assert s[("patchline_request_seconds_bucket", (("le", "600.0"),))] == 3
    assert s[("patchline_request_seconds_bucket", (("le", "+Inf"),))] == 4
    assert s[("patchline_request_seconds_count", ())] == 4
    assert s[("patchline_request_seconds_sum", ())] == pytest.approx(700.605)
    accounting.record(ok=False, body={}, model="m", attempts=1)
    assert _samples(metrics)[("patchline_requests_total", (("outcome", "failed"),))] == 1  # live, not a copy
