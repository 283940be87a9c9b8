"""The retry policy: which outcomes are retried, backoff bounds, Retry-After parsing."""

from __future__ import annotations

import email.utils
import random

import pytest

from patchline.core.spec import ExecutorSettings
from patchline.gateway.retry import RetryPolicy, parse_retry_after

pytestmark = pytest.mark.unit


@pytest.mark.parametrize("status", [0, 408, 409, 425, 429, 500, 502, 503, 504, 599])
def test_transient_statuses_are_retried(status: int) -> None:
    assert RetryPolicy().should_retry(status, 1)


@pytest.mark.parametrize("status", [400, 401, 403, 404, 413, 422])
def test_permanent_statuses_are_not_retried(status: int) -> None:
    assert not RetryPolicy().should_retry(status, 1)


def test_attempts_are_bounded() -> None:
    policy = RetryPolicy(ExecutorSettings(max_attempts=3))
    assert policy.should_retry(500, 2)
    assert not policy.should_retry(500, 3)


def test_full_jitter_stays_under_the_exponential_ceiling_and_the_cap() -> None:
    policy = RetryPolicy(ExecutorSettings(backoff_base_seconds=1.0, backoff_cap_seconds=8.0))
    rng = random.Random(1)
    for attempt, ceiling in [(1, 1.0), (2, 2.0), (3, 4.0), (4, 8.0), (10, 8.0)]:
        waits = [policy.delay(attempt, rng=rng) for _ in range(200)]
        assert all(0.0 <= w <= ceiling for w in waits)
        assert max(waits) > ceiling * 0.8  # jitter covers the range, not a constant


def test_retry_after_is_a_floor_and_is_capped() -> None:
    policy = RetryPolicy(
        ExecutorSettings(backoff_base_seconds=0.01, backoff_cap_seconds=0.01, retry_after_cap_seconds=30.0)
    )
    assert policy.delay(1, retry_after=5.0) == 5.0
    assert policy.delay(1, retry_after=10_000.0) == 30.0


def test_parse_retry_after_seconds_and_http_date() -> None:
    assert parse_retry_after("7") == 7.0
    assert parse_retry_after(" 1.5 ") == 1.5
    assert parse_retry_after("-3") == 0.0
    assert parse_retry_after(None) is None
    assert parse_retry_after("soon") is None
    assert parse_retry_after("") is None
    now = 1_700_000_000.0
    date = email.utils.formatdate(now + 12, usegmt=True)
    assert parse_retry_after(date, now=now) == pytest.approx(12.0, abs=1.0)
    past = email.utils.formatdate(now - 100, usegmt=True)
    assert parse_retry_after(past, now=now) == 0.0
