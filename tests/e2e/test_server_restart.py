"""`patchline serve` dying in the middle of a gateway job: kill -9 and a new process resumes it; SIGTERM drains.

A request file of 2,000 lines runs against the fault server with some latency per answer, so the job is
mid-way when the test acts; the test waits on the output's line count, never on a clock.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections import Counter
from pathlib import Path

import pytest

from patchline.client import ServiceClient
from patchline.core.batch import ResponseLine
from patchline.core.spec import ExecutorSettings, InferenceStage, ModelEndpoints
from patchline.rpc.v1 import common_pb2
from tests.fixtures.fault_server import FaultPlan, FaultServer, write_requests
from tests.fixtures.serve_process import ServeProcess, health_status

pytestmark = pytest.mark.e2e

REQUESTS = 2000
JOB_ID = "restart-gateway-job"


def _request(tmp_path: Path, endpoint: str) -> InferenceStage:
    return InferenceStage(
        input=str(tmp_path / "requests.jsonl"),
        output=str(tmp_path / "out" / "responses.jsonl"),
        endpoints=ModelEndpoints(urls=[endpoint]),
        executor=ExecutorSettings(concurrency=16, timeout_seconds=30, max_attempts=3),
    )


async def _start(target: str, request: InferenceStage) -> common_pb2.Job:
    async with ServiceClient(target, deadline=20) as client:
        return await client.start_inference(JOB_ID, request)


async def _start_and_finish(target: str, request: InferenceStage) -> common_pb2.Job:
    async with ServiceClient(target, deadline=20) as client:
        await client.start_inference(JOB_ID, request)
        final = None
        async for job in client.watch("gateway", JOB_ID, deadline=60):
            final = job
    assert final is not None
    return final


def _line_count(path: Path) -> int:
    try:
        with path.open("rb") as handle:
            return sum(1 for _ in handle)
    except FileNotFoundError:
        return 0


def _wait_for_lines(path: Path, at_least: int, *, timeout: float = 30.0) -> int:
    """Poll the output's line count until it reaches ``at_least`` (the condition the test waits on)."""
    deadline = time.monotonic() + timeout
    while (count := _line_count(path)) < at_least:
        assert time.monotonic() < deadline, f"only {count} lines in {path} after {timeout} s"
        time.sleep(0.01)
    return count


def _response_lines(path: Path) -> list[ResponseLine]:
    text = path.read_text(encoding="utf-8")
    assert text.endswith("\n"), "the output ends in a partial line"
    return [ResponseLine.model_validate(json.loads(line)) for line in text.splitlines()]


def test_a_killed_server_resumes_the_job_when_started_again(tmp_path: Path) -> None:
    ids = [f"req-{i:04d}" for i in range(REQUESTS)]
    write_requests(tmp_path / "requests.jsonl", ids)
    output = tmp_path / "out" / "responses.jsonl"
    with FaultServer(FaultPlan(latency_s=0.05)) as model:
        request = _request(tmp_path, model.base_url)
        with ServeProcess(tmp_path / "first") as first:
            assert asyncio.run(_start(first.target, request)).job_id == JOB_ID
            _wait_for_lines(output, 200)
            first.kill()
        before = {line.custom_id for line in _response_lines(output)}
        assert 200 <= len(before) < REQUESTS, len(before)

        with ServeProcess(tmp_path / "second") as second:
            final = asyncio.run(_start_and_finish(second.target, request))
        attempts = model.attempt_counts()

    assert final.phase == common_pb2.PHASE_SUCCEEDED, final.last_error
    assert final.progress.skipped == len(before)  # read from the output, not sent again
    assert final.progress.succeeded == REQUESTS - len(before)
    lines = _response_lines(output)
    finals = Counter(line.custom_id for line in lines if line.is_final)
    assert sorted(finals) == ids and set(finals.values()) == {1}  # one final line per request, none lost
    assert all(line.ok for line in lines)
    assert all(attempts[custom_id] == 1 for custom_id in before)  # answered before the kill: never re-sent


class HealthPoller:
    """Polls the server's overall health from a thread, recording each change of status."""

    def __init__(self, target: str) -> None:
        self.target = target
        self.seen: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._poll, name="health-poller", daemon=True)

    def _poll(self) -> None:
        while not self._stop.is_set():
            status = health_status(self.target, timeout=0.5)
            if not self.seen or self.seen[-1] != status:
                self.seen.append(status)

    def __enter__(self) -> HealthPoller:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=10)


def test_sigterm_goes_not_serving_and_exits_within_the_grace_period(tmp_path: Path) -> None:
    write_requests(tmp_path / "requests.jsonl", [f"req-{i:04d}" for i in range(REQUESTS)])
    output = tmp_path / "out" / "responses.jsonl"
    grace = 3.0
    with FaultServer(FaultPlan(latency_s=0.05)) as model, ServeProcess(tmp_path / "serve", grace=grace) as serve:
        asyncio.run(_start(serve.target, _request(tmp_path, model.base_url)))
        _wait_for_lines(output, 100)
        with HealthPoller(serve.target) as poller:
            _wait_until(lambda: poller.seen == ["SERVING"])
            signalled = time.monotonic()
            code = serve.terminate(timeout=grace + 10)
            exited_after = time.monotonic() - signalled
            _wait_until(lambda: poller.seen[-1] == "UNREACHABLE")
    assert code == 0, serve.stderr_path.read_text()[-2000:]
    assert exited_after < grace + 2.0  # the grace period, plus the interpreter's own exit
    assert poller.seen == ["SERVING", "NOT_SERVING", "UNREACHABLE"], poller.seen
    lines = _response_lines(output)  # only whole lines, each a valid response line
    assert 100 <= len(lines) < REQUESTS and all(line.ok for line in lines)
    assert len({line.custom_id for line in lines}) == len(lines)


def _wait_until(condition: object, *, timeout: float = 20.0) -> None:
    assert callable(condition)
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not reached in time"
        time.sleep(0.005)
