"""ExecutorSettings: documented defaults and validation."""

from __future__ import annotations

import dataclasses

import pytest

from patchline.core.errors import InputError
from patchline.gateway.settings import ExecutorSettings, Price

pytestmark = pytest.mark.unit


def test_defaults() -> None:
    s = ExecutorSettings()
    assert (s.concurrency, s.timeout_s, s.max_attempts, s.backoff_base_s, s.backoff_cap_s) == (64, 600.0, 6, 1.0, 60.0)
    assert (s.connect_timeout_s, s.force_httpx) == (10.0, False)  # not httpx's 5 s default


def test_frozen_and_prices_read_only() -> None:
    s = ExecutorSettings(prices={"m": Price(1, 2)})
    with pytest.raises(dataclasses.FrozenInstanceError):
        s.concurrency = 3  # type: ignore[misc]
    with pytest.raises(TypeError):
        s.prices["x"] = Price(0, 0)  # type: ignore[index]


@pytest.mark.parametrize(
    "kwargs",
    [
        {"concurrency": 0},
        {"timeout_s": 0},
        {"max_attempts": 0},
        {"backoff_base_s": 5, "backoff_cap_s": 1},
        {"metrics_port": 70000},
        {"cooldown_base_s": 0},
    ],
)
def test_invalid_settings(kwargs: dict[str, float]) -> None:
    with pytest.raises(InputError):
        ExecutorSettings(**kwargs)  # type: ignore[arg-type]
