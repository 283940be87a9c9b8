"""The services over a real loopback port: jobs, idempotent Start, health, reflection, status codes."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import AsyncIterator
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

from patchline.cli.app import main
from patchline.client import ServiceClient, to_message
from patchline.core.errors import ArtifactNotFoundError, UnavailableError
from patchline.core.progress import NullProgress
from patchline.core.spec import ExecutorSettings, IndexManyStage, InferenceStage, ModelEndpoints, Snapshot
from patchline.core.store import open_artifact
from patchline.pipeline.catalog import OperationRef
from patchline.pipeline.operations import Operation, OperationContext, OperationResult
from patchline.pipeline.plan import StagePlan
from patchline.pipeline.registry import default_operations
from patchline.pipeline.remote import run_remote_stage
from patchline.rpc.v1 import common_pb2, gateway_pb2, retrieval_pb2
from patchline.servers import RunningServer, create_server
from tests.fixtures.fault_server import FaultServer, write_requests
from tests.fixtures.serving import served

pytestmark = pytest.mark.integration

RELEASE = threading.Event()


def _count_lines(context: OperationContext[IndexManyStage]) -> OperationResult:
    """A blocking test operation: reads the file its first snapshot names and reports progress per line."""
    store, name = open_artifact(context.settings.snapshots[0].repo)
    lines = list(store.iter_lines(name))
    context.progress.start("counting", total=len(lines))
    for _ in lines:
        context.progress.advance(1)
    return OperationResult(artifacts={"input": store.uri(name)}, counts={"lines": len(lines)})


def _named(name: str) -> IndexManyStage:
    return IndexManyStage(snapshots=[Snapshot(repo=name)])


def _wait_for_release(context: OperationContext[IndexManyStage]) -> OperationResult:
    """A blocking operation that runs until released or cancelled (reporting progress as it waits)."""
    while not RELEASE.wait(0.01):
        context.progress.advance(0)
    return OperationResult(message="released")


TEST_OPERATIONS = {
    **default_operations(),
    "prompts.count": Operation(OperationRef("prompts.count", "prompts", IndexManyStage), run=_count_lines),
    "patches.wait": Operation(OperationRef("patches.wait", "patches", IndexManyStage), run=_wait_for_release),
}


@pytest.fixture
async def server(tmp_path: Path) -> AsyncIterator[RunningServer]:
    running = await create_server(served(tmp_path, operations=TEST_OPERATIONS))
    yield running
    await running.stop(0)


@pytest.fixture
async def client(server: RunningServer) -> AsyncIterator[ServiceClient]:
    async with ServiceClient(f"127.0.0.1:{server.port}", deadline=10) as c:
        yield c


async def _finish(client: ServiceClient, service: str, job_id: str) -> common_pb2.Job:
    last = None
    async for job in client.watch(service, job_id, deadline=30):
        last = job
    assert last is not None
    return last


async def test_start_watch_get_and_idempotent_start(client: ServiceClient, tmp_path: Path) -> None:
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "in.jsonl").write_text("a\nb\nc\n")
    job = await client.start_job("prompts", "j1", "prompts.count", str(tmp_path / "run"), _named("run/in.jsonl"))
    assert job.job_id == "j1"
    final = await _finish(client, "prompts", "j1")
    assert final.phase == common_pb2.PHASE_SUCCEEDED
    assert final.progress.succeeded == 3 and final.progress.total == 3
    assert {a.name: a.uri for a in final.artifacts} == {"input": str(tmp_path / "run" / "in.jsonl")}
    again = await client.start_job("prompts", "j1", "prompts.count", str(tmp_path / "run"), _named("run/in.jsonl"))
    assert again.phase == common_pb2.PHASE_SUCCEEDED and again.started_at == final.started_at
    assert (await client.get("prompts", "j1")).phase == common_pb2.PHASE_SUCCEEDED
    (tmp_path / "run" / "in.jsonl").write_text("a\nb\nc\nd\n")  # the input changed: the stage runs again
    rerun = await client.start_job(
        "prompts", "j1", "prompts.count", str(tmp_path / "run"), _named("run/in.jsonl"), run_again=True
    )
    assert rerun.started_at != final.started_at
    assert (await _finish(client, "prompts", "j1")).progress.succeeded == 4


async def test_a_finished_job_started_with_other_settings_runs_them_and_a_running_one_refuses(
    client: ServiceClient, tmp_path: Path
) -> None:
    (tmp_path / "a.jsonl").write_text("a\n")
    (tmp_path / "b.jsonl").write_text("a\nb\n")
    await client.start_job("prompts", "j3", "prompts.count", str(tmp_path), _named("a.jsonl"))
    assert (await _finish(client, "prompts", "j3")).progress.succeeded == 1
    await client.start_job("prompts", "j3", "prompts.count", str(tmp_path), _named("b.jsonl"))  # no run_again
    assert (await _finish(client, "prompts", "j3")).progress.succeeded == 2  # not the old job's result

    RELEASE.clear()
    await client.start_job("patches", "w2", "patches.wait", str(tmp_path), _named("x"))
    same = await client.start_job("patches", "w2", "patches.wait", str(tmp_path), _named("x"))
    assert same.phase in (common_pb2.PHASE_PENDING, common_pb2.PHASE_RUNNING)
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await client.start_job("patches", "w2", "patches.wait", str(tmp_path), _named("y"))
    assert refused.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert "running with other settings" in (refused.value.details() or "")
    RELEASE.set()
    assert (await _finish(client, "patches", "w2")).phase == common_pb2.PHASE_SUCCEEDED


async def test_missing_artifact_fails_the_job_with_its_reason(client: ServiceClient, tmp_path: Path) -> None:
    await client.start_job("prompts", "j2", "prompts.count", str(tmp_path), _named("absent.jsonl"))
    final = await _finish(client, "prompts", "j2")
    assert final.phase == common_pb2.PHASE_FAILED
    assert "absent.jsonl does not exist" in final.last_error


async def test_cancel_stops_a_running_job(client: ServiceClient, tmp_path: Path) -> None:
    RELEASE.clear()
    await client.start_job("patches", "w1", "patches.wait", str(tmp_path), _named("x"))
    cancelled = await client.cancel("patches", "w1")
    assert cancelled.phase == common_pb2.PHASE_CANCELLED


async def test_bad_requests_get_the_right_status_codes(client: ServiceClient, tmp_path: Path) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as unknown:
        await client.start_job("prompts", "x", "prompts.nope", str(tmp_path), _named("x"))
    assert unknown.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "unknown operation 'prompts.nope'" in (unknown.value.details() or "")
    with pytest.raises(grpc.aio.AioRpcError) as missing_id:
        await client.start_job("prompts", "", "prompts.count", str(tmp_path), _named("x"))
    assert missing_id.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    with pytest.raises(grpc.aio.AioRpcError) as bad_params:
        await client.gateway.StartInference(gateway_pb2.StartInferenceRequest(job_id="g"), timeout=5)
    assert bad_params.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "stage.input: Field required" in (bad_params.value.details() or "")
    # a value out of range is refused when the job is started, naming the field
    stage = InferenceStage(input="in", output="out", endpoints=ModelEndpoints(urls=["http://127.0.0.1:9"]))
    message = to_message(stage)
    message.executor.concurrency = -5
    with pytest.raises(grpc.aio.AioRpcError) as negative:
        await client.gateway.StartInference(gateway_pb2.StartInferenceRequest(job_id="g", stage=message), timeout=5)
    assert negative.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "stage.executor.concurrency: Input should be greater than or equal to 1" in (negative.value.details() or "")
    # a settings kind the operation does not take
    with pytest.raises(grpc.aio.AioRpcError) as wrong_kind:
        await client.start_job("prompts", "y", "agentless.build_requests", str(tmp_path), _named("x"))
    assert wrong_kind.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "takes AgentlessStage settings" in (wrong_kind.value.details() or "")
    # a field this server does not know (a newer or hostile client) is refused, not ignored
    unknown_field = common_pb2.StartJobRequest(job_id="z", operation="prompts.count", run_uri=str(tmp_path))
    unknown_field.index_many.CopyFrom(to_message(_named("x")))
    raw = unknown_field.SerializeToString()
    tampered = common_pb2.StartJobRequest.FromString(raw)
    tampered.index_many.MergeFromString(b"\xa8\x06\x01")  # field 101, varint 1
    with pytest.raises(grpc.aio.AioRpcError) as unknown_number:
        await client.prompts.StartJob(tampered, timeout=5)
    assert unknown_number.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "index_many: unknown field number 101" in (unknown_number.value.details() or "")
    with pytest.raises(grpc.aio.AioRpcError) as unknown_job:
        await client.get("prompts", "never-started")
    assert unknown_job.value.code() == grpc.StatusCode.FAILED_PRECONDITION


async def test_a_missing_repository_is_not_found_or_invalid(client: ServiceClient, tmp_path: Path) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as error:
        await client.retrieval.Search(
            retrieval_pb2.SearchRequest(repo=str(tmp_path / "nope"), query="x", top_n=3), timeout=10
        )
    assert error.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "neither a folder nor a structure .json file" in (error.value.details() or "")


async def test_retrieval_search_over_a_folder(client: ServiceClient, tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "parser.py").write_text("def parse_tokens(tokens):\n    return tokens\n")
    for name in ("io", "net", "cache", "log", "cli"):
        (repo / f"{name}.py").write_text(f"def {name}_helper(value):\n    return value\n")
    reply = await client.retrieval.Search(
        retrieval_pb2.SearchRequest(repo=str(repo), query="parse tokens", top_n=1), timeout=10
    )
    assert [hit.path for hit in reply.hits] == ["parser.py"]


async def test_gateway_job_runs_a_request_file(client: ServiceClient, tmp_path: Path) -> None:
    write_requests(tmp_path / "requests.jsonl", [f"r{i}" for i in range(20)])
    with FaultServer() as model:
        stage = InferenceStage(
            input=str(tmp_path / "requests.jsonl"),
            output=str(tmp_path / "responses.jsonl"),
            endpoints=ModelEndpoints(urls=[model.base_url]),
            executor=ExecutorSettings(concurrency=4, timeout_seconds=10),
        )
        await client.start_inference("infer-1", stage)
        final = await _finish(client, "gateway", "infer-1")
    assert final.phase == common_pb2.PHASE_SUCCEEDED, final.last_error
    assert final.progress.succeeded == 20
    assert len((tmp_path / "responses.jsonl").read_text().splitlines()) == 20


async def test_health_and_reflection(server: RunningServer) -> None:
    async with grpc.aio.insecure_channel(f"127.0.0.1:{server.port}") as channel:
        health = health_pb2_grpc.HealthStub(channel)
        for name in ("", "patchline.v1.PromptBuilderService", "patchline.v1.InferenceGatewayService"):
            reply = await health.Check(health_pb2.HealthCheckRequest(service=name), timeout=5)
            assert reply.status == health_pb2.HealthCheckResponse.SERVING
        stub = reflection_pb2_grpc.ServerReflectionStub(channel)

        async def ask() -> AsyncIterator[reflection_pb2.ServerReflectionRequest]:
            yield reflection_pb2.ServerReflectionRequest(list_services="")

        services = set()
        async for reply in stub.ServerReflectionInfo(ask(), timeout=5):
            services |= {s.name for s in reply.list_services_response.service}
        assert {
            "patchline.v1.PromptBuilderService",
            "patchline.v1.RetrievalService",
            "patchline.v1.InferenceGatewayService",
            "patchline.v1.PatchProcessorService",
            "grpc.health.v1.Health",
        } <= services
        await server.health.enter_graceful_shutdown()
        reply = await health.Check(
            health_pb2.HealthCheckRequest(service="patchline.v1.PromptBuilderService"), timeout=5
        )
        assert reply.status == health_pb2.HealthCheckResponse.NOT_SERVING


def test_domain_errors_map_to_status_codes() -> None:
    from patchline.servers.errors import status_code_for

    assert status_code_for(ArtifactNotFoundError) == grpc.StatusCode.NOT_FOUND
    assert status_code_for(ValueError) == grpc.StatusCode.INTERNAL


async def test_only_the_chosen_services_are_hosted(tmp_path: Path) -> None:
    running = await create_server(served(tmp_path, services=("gateway",), operations=TEST_OPERATIONS))
    try:
        async with ServiceClient(f"127.0.0.1:{running.port}", deadline=5) as c:
            with pytest.raises(grpc.aio.AioRpcError) as error:
                await c.get("prompts", "x")
            assert error.value.code() == grpc.StatusCode.UNIMPLEMENTED
    finally:
        await running.stop(0)
    await asyncio.sleep(0)


async def test_patchline_jobs_gets_watches_and_cancels_a_job_on_the_server(
    server: RunningServer, client: ServiceClient, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    RELEASE.clear()
    await client.start_job("patches", "w9", "patches.wait", str(tmp_path), _named("x"))
    via = ["--via", f"127.0.0.1:{server.port}", "--service", "patches"]
    assert await asyncio.to_thread(main, ["jobs", "get", "w9", *via]) == 0
    assert capsys.readouterr().out.startswith("w9 patches.wait ")
    assert await asyncio.to_thread(main, ["jobs", "cancel", "w9", *via, "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["phase"] == "PHASE_CANCELLED"
    assert await asyncio.to_thread(main, ["jobs", "watch", "w9", *via]) == 1  # it ended without succeeding
    assert "w9 patches.wait cancelled: " in capsys.readouterr().out
    assert await asyncio.to_thread(main, ["jobs", "get", "nobody", *via]) == 4  # a precondition
    assert "FAILED_PRECONDITION: no job 'nobody' here" in capsys.readouterr().err


async def test_a_stage_refused_for_a_running_job_of_other_settings_says_how_to_stop_it(
    server: RunningServer, client: ServiceClient, tmp_path: Path
) -> None:
    RELEASE.clear()
    await client.start_job("patches", "w10", "patches.wait", str(tmp_path), _named("x"))
    stage = StagePlan("wait", OperationRef("patches.wait", "patches", IndexManyStage), _named("y"))
    target = f"127.0.0.1:{server.port}"
    with pytest.raises(UnavailableError, match="running with other settings") as refused:
        await run_remote_stage(target, "w10", stage, _named("y"), str(tmp_path), NullProgress(), 30, run_again=True)
    assert f"(to stop it: patchline jobs cancel --via {target} --service patches w10)" in str(refused.value)
    RELEASE.set()
    assert (await _finish(client, "patches", "w10")).phase == common_pb2.PHASE_SUCCEEDED
