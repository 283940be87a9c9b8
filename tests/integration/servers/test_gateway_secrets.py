"""What the gateway service reports (job messages, last_error, its log, the files it writes) never holds a key."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from pathlib import Path

import grpc
import pytest

from patchline.client import ServiceClient, to_message
from patchline.core.redact import REDACTED
from patchline.core.settings import KeySets
from patchline.core.spec import ExecutorSettings, InferenceStage, ModelEndpoints
from patchline.rpc.v1 import common_pb2, gateway_pb2
from patchline.servers import RunningServer, create_server
from tests.fixtures.fault_server import FaultPlan, FaultServer, write_requests
from tests.fixtures.secrets import files_holding
from tests.fixtures.serving import served

pytestmark = pytest.mark.integration

JOB_KEY = "sk-job-key-0123456789abcdef"


@pytest.fixture
async def client(tmp_path: Path) -> AsyncIterator[ServiceClient]:
    key_sets = KeySets.parse(["job=PATCHLINE_TEST_JOB_KEY"])
    running: RunningServer = await create_server(served(tmp_path, services=("gateway",), key_sets=key_sets))
    try:
        async with ServiceClient(f"127.0.0.1:{running.port}", deadline=10) as c:
            yield c
    finally:
        await running.stop(0)


async def _statuses(client: ServiceClient, job_id: str) -> list[common_pb2.Job]:
    seen = [job async for job in client.watch("gateway", job_id, deadline=30)]
    return [*seen, await client.get("gateway", job_id)]


def _texts(jobs: list[common_pb2.Job]) -> str:
    return "\n".join(f"{job.message}\n{job.last_error}" for job in jobs)


async def test_a_job_key_echoed_or_quoted_never_reaches_status_log_or_files(
    client: ServiceClient, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("PATCHLINE_TEST_JOB_KEY", JOB_KEY)
    write_requests(tmp_path / "requests.jsonl", ["e|0", "u|0", "ok|0"])
    plan = FaultPlan(forced={"e|0": "server_error", "u|0": "unauthorized"})
    caplog.set_level(logging.DEBUG)
    with FaultServer(plan) as model:
        echoed = InferenceStage(
            input=str(tmp_path / "requests.jsonl"),
            output=str(tmp_path / "responses.jsonl"),
            endpoints=ModelEndpoints(urls=[model.base_url], api_key_set="job"),
            executor=ExecutorSettings(concurrency=2, timeout_seconds=10, max_attempts=1),
        )
        await client.start_inference("echoed", echoed)
        first = await _statuses(client, "echoed")
        assert {a.authorization for a in model.attempts()} == {f"Bearer {JOB_KEY}"}
    assert first[-1].phase == common_pb2.PHASE_SUCCEEDED
    assert f"Bearer {REDACTED}" in (tmp_path / "responses.jsonl").read_text()
    # A caller who pasted the key where an endpoint goes: refused at Start, without quoting the value.
    stage = to_message(echoed.model_copy(update={"output": str(tmp_path / "other.jsonl")}))
    del stage.endpoints.urls[:]
    stage.endpoints.urls.append(f"Bearer {JOB_KEY}")
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await client.gateway.StartInference(gateway_pb2.StartInferenceRequest(job_id="quoted", stage=stage), timeout=5)
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "stage.endpoints.urls" in (refused.value.details() or "")
    assert JOB_KEY not in (refused.value.details() or "")
    assert JOB_KEY not in _texts(first)
    assert JOB_KEY not in caplog.text
    assert files_holding(tmp_path, [JOB_KEY]) == []
