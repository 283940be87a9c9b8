"""ExecutorSettings: documented defaults and validation (one model: the manifest's executor section)."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from patchline.core.spec import ExecutorSettings, Price

pytestmark = pytest.mark.unit


def test_defaults() -> None:
    s = ExecutorSettings()
    assert (s.concurrency, s.timeout_seconds, s.max_attempts) == (64, 600.0, 6)
    assert (s.backoff_base_seconds, s.backoff_cap_seconds) == (1.0, 60.0)
    assert (s.connect_timeout_seconds, s.force_httpx) == (10.0, False)  # not httpx's 5 s default


def test_frozen() -> None:
    s = ExecutorSettings(prices={"m": Price(input_per_mtok=1, output_per_mtok=2)})
    with pytest.raises(ValidationError):
        s.concurrency = 3  # type: ignore[misc]
    assert s.prices["m"].output_per_mtok == 2


@pytest.mark.parametrize(
    "kwargs",
    [
        {"concurrency": 0},
        {"timeout_seconds": 0},
        {"max_attempts": 0},
        {"backoff_base_seconds": 5, "backoff_cap_seconds": 1},
        {"cooldown_base_seconds": 0},
        {"concurency": 3},  # a typo is an error, not a silently ignored key
    ],
)
def test_invalid_settings(kwargs: dict[str, float]) -> None:
    with pytest.raises(ValidationError):
        ExecutorSettings(**kwargs)  # type: ignore[arg-type]
