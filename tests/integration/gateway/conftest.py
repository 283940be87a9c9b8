"""Helpers of the executor's integration tests: fault servers on loopback and fast executor settings."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from patchline.core.batch import ResponseLine, iter_responses
from patchline.gateway import ExecutorSettings
from tests.fixtures.fault_server import FaultPlan, FaultServer

ServerFactory = Callable[..., FaultServer]


@pytest.fixture
def fault_server() -> Iterator[ServerFactory]:
    """Start fault servers (``fault_server(FaultPlan(...))``); all are stopped after the test."""
    started: list[FaultServer] = []

    def start(plan: FaultPlan | None = None) -> FaultServer:
        server = FaultServer(plan)
        server.start()
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


def fast_settings(**overrides: Any) -> ExecutorSettings:
    """Settings with millisecond backoff and a short timeout, so fault tests take seconds."""
    values: dict[str, Any] = {
        "concurrency": 32,
        "timeout_seconds": 0.5,
        "connect_timeout_seconds": 0.5,
        "max_attempts": 10,
        "backoff_base_seconds": 0.005,
        "backoff_cap_seconds": 0.05,
        "cooldown_base_seconds": 0.05,
        "cooldown_cap_seconds": 0.2,
    }
    values.update(overrides)
    return ExecutorSettings(**values)


def read_lines(path: Path) -> list[ResponseLine]:
    """Every readable response line of an output file, in file order."""
    return list(iter_responses(path.read_bytes().splitlines(keepends=True), source=str(path)))


def final_counts(lines: list[ResponseLine]) -> Counter[str]:
    """How many final lines each custom_id has."""
    return Counter(line.custom_id for line in lines if line.is_final)


def write_raw(path: Path, records: list[dict[str, Any]]) -> None:
    """Write records as JSONL."""
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
