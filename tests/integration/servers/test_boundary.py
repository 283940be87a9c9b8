"""An attacker's gRPC client against a real server on 127.0.0.1: every case of the service boundary is refused
(INVALID_ARGUMENT naming the field, UNAUTHENTICATED, RESOURCE_EXHAUSTED, DEADLINE_EXCEEDED) before any work, and
what the server answers never quotes a configured key."""

from __future__ import annotations

import json
import os
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

from patchline.client import ServiceClient, to_message
from patchline.client.auth import ClientAuth
from patchline.core.batch import checked_request_path
from patchline.core.errors import InputError
from patchline.core.settings import ClientAuthFiles, KeySets
from patchline.core.spec import (
    AgentlessStage,
    ExecutorSettings,
    IndexManyStage,
    InferenceStage,
    ModelEndpoints,
    Snapshot,
    load_manifest,
)
from patchline.pipeline.catalog import OperationRef
from patchline.pipeline.operations import Operation
from patchline.pipeline.registry import default_operations
from patchline.pipeline.runner import RunnerSettings, run_manifest
from patchline.retrieval import IndexLimits
from patchline.rpc.v1 import common_pb2, gateway_pb2, retrieval_pb2
from patchline.servers import RunningServer, ServerAuth, create_server
from patchline.servers.auth import check_bind
from tests.fixtures.certs import Pki, make_pki
from tests.fixtures.fault_server import FaultServer, write_requests
from tests.fixtures.serving import SHARED_DATA, served
from tests.fixtures.stages import stage

pytestmark = pytest.mark.integration

KEY = "sk-boundary-0123456789abcdef"
TOKEN = "t0ken-for-the-boundary-tests-5e9c1f"


@pytest.fixture
def store(tmp_path: Path) -> Path:
    (tmp_path / "store").mkdir()
    return tmp_path / "store"


@pytest.fixture
async def server(store: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[RunningServer]:
    """A server whose store is ``store`` (the rest of the test's folder is outside its roots), with one key set."""
    monkeypatch.setenv("BOUNDARY_TEST_KEYS", KEY)
    key_sets = KeySets.parse(["openai=BOUNDARY_TEST_KEYS"])
    running = await create_server(served(store, allow_read=(str(SHARED_DATA),), key_sets=key_sets))
    yield running
    await running.stop(0)


@pytest.fixture
async def client(server: RunningServer) -> AsyncIterator[ServiceClient]:
    async with ServiceClient(f"127.0.0.1:{server.port}", deadline=10, auth=ClientAuth()) as c:
        yield c


async def _refused(call: Any, code: grpc.StatusCode = grpc.StatusCode.INVALID_ARGUMENT) -> str:
    with pytest.raises(grpc.aio.AioRpcError) as error:
        await call
    assert error.value.code() == code, error.value.details()
    details = error.value.details() or ""
    assert KEY not in details
    return details


def _agentless(**fields: Any) -> AgentlessStage:
    defaults = {"workflow__loc_file": "loc.jsonl", "repositories__structure_dir": "structures"}
    return stage(AgentlessStage, **{**defaults, **fields})


async def test_a_run_root_outside_the_store_is_refused_and_nothing_is_written(
    client: ServiceClient, store: Path, tmp_path: Path
) -> None:
    outside = tmp_path / "outside"
    for run_uri in ("file:///etc", "/etc", str(outside), f"{store}/../outside", "", "memory://run", "s3://b/run"):
        details = await _refused(client.start_job("prompts", "r", "agentless.build_requests", run_uri, _agentless()))
        assert details.startswith("run_uri: "), details
    assert not outside.exists()


async def test_a_template_outside_the_roots_or_through_a_symlink_is_refused(client: ServiceClient, store: Path) -> None:
    os.symlink("/etc", store / "etc-link")
    for templates in ("/etc/passwd", "etc-link/passwd", "../../../../etc/passwd", "file:///etc/passwd"):
        settings = _agentless(workflow__templates_dir=templates)
        details = await _refused(client.start_job("prompts", "t", "agentless.build_requests", str(store), settings))
        assert details.startswith("agentless.workflow.templates_dir: ") and "outside the allowed roots" in details


async def test_every_path_of_a_stage_is_checked(client: ServiceClient, store: Path) -> None:
    cases = {
        "agentless.dataset.source": _agentless(dataset__source="/etc/passwd.jsonl"),
        "agentless.workflow.loc_file": _agentless(workflow__loc_file="/etc/shadow"),
        "agentless.repositories.structure_dir": _agentless(repositories__structure_dir="/root"),
        "agentless.batch_output": _agentless(batch_output="/var/log/x.jsonl"),
    }
    for field, settings in cases.items():
        details = await _refused(client.start_job("patches", "p", "agentless.process", str(store), settings))
        assert details.startswith(f"{field}: "), details


async def test_a_relative_output_resolves_below_the_store_never_the_working_folder(
    client: ServiceClient, store: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "cwd").mkdir()
    monkeypatch.chdir(tmp_path / "cwd")
    write_requests(store / "requests.jsonl", ["a", "b"])
    with FaultServer() as model:
        job = InferenceStage(
            input="requests.jsonl", output="rel/out.jsonl", endpoints=ModelEndpoints(urls=[model.base_url])
        )
        await client.start_inference("rel", job)
        final = [j async for j in client.watch("gateway", "rel", deadline=30)][-1]
    assert final.phase == common_pb2.PHASE_SUCCEEDED, final.last_error
    assert len((store / "rel" / "out.jsonl").read_text().splitlines()) == 2
    assert list((tmp_path / "cwd").iterdir()) == []
    assert {a.uri for a in final.artifacts} == {str(store / "requests.jsonl"), str(store / "rel" / "out.jsonl")}


async def test_search_and_index_outside_the_roots_are_refused(client: ServiceClient) -> None:
    for repo in ("/", "/root", "/etc", "..", "file:///"):
        details = await _refused(client.retrieval.Search(retrieval_pb2.SearchRequest(repo=repo, query="x"), timeout=5))
        assert details.startswith("search.repo: "), details
        details = await _refused(client.retrieval.Index(retrieval_pb2.IndexRequest(repo=repo), timeout=5))
        assert details.startswith("index.repo: "), details
    details = await _refused(client.retrieval.Search(retrieval_pb2.SearchRequest(repo="r", top_n=-5), timeout=5))
    assert details.startswith("search.top_n: ")


async def test_a_caller_cannot_name_an_environment_variable_or_an_endpoint_of_its_choice(
    client: ServiceClient, store: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", KEY)
    write_requests(store / "requests.jsonl", ["a"])
    with FaultServer() as recorder:
        endpoints = ModelEndpoints(urls=["http://127.0.0.1:1"])
        allowed = InferenceStage(input="requests.jsonl", output="out.jsonl", endpoints=endpoints)
        message = to_message(allowed)
        message.endpoints.urls[:] = [recorder.base_url]
        message.endpoints.api_key_set = "AWS_SECRET_ACCESS_KEY"  # the wire field that named a variable before
        request = gateway_pb2.StartInferenceRequest(job_id="steal", stage=message)
        details = await _refused(client.gateway.StartInference(request, timeout=5))
        assert details.startswith("stage.endpoints.api_key_set: ") and "not a configured key set" in details
        # a configured key set, but an endpoint nobody allowed: refused too
        message.endpoints.api_key_set = "openai"
        message.endpoints.urls[:] = ["http://169.254.169.254:80"]
        request = gateway_pb2.StartInferenceRequest(job_id="steal2", stage=message)
        details = await _refused(client.gateway.StartInference(request, timeout=5))
        assert details.startswith("stage.endpoints.urls[0]: ") and "not an allowed endpoint" in details
        assert recorder.attempts() == []  # the caller's server received nothing at all


async def test_s3_is_refused_without_a_configured_bucket(client: ServiceClient, store: Path) -> None:
    job = InferenceStage(input="s3://someone/requests.jsonl", output="out.jsonl")
    details = await _refused(client.start_inference("s3", job))
    assert details.startswith("stage.input: ") and "not in the store or an allowed bucket" in details


async def test_bad_parameters_are_refused_at_start_naming_the_field(client: ServiceClient) -> None:
    message = to_message(InferenceStage(input="i.jsonl", output="o.jsonl", executor=ExecutorSettings()))
    message.executor.concurrency = -5
    request = gateway_pb2.StartInferenceRequest(job_id="neg", stage=message)
    details = await _refused(client.gateway.StartInference(request, timeout=5))
    assert details.startswith("stage.executor.concurrency: Input should be greater than or equal to 1")


async def test_job_ids_are_bounded_names(client: ServiceClient, store: Path) -> None:
    for job_id in ("x" * 513, "a\nb", "bell\x07"):
        details = await _refused(
            client.start_job("prompts", job_id, "agentless.build_requests", str(store), _agentless())
        )
        assert details.startswith("job_id: ")


async def test_errors_never_quote_a_configured_key(client: ServiceClient, store: Path) -> None:
    details = await _refused(
        client.retrieval.Search(retrieval_pb2.SearchRequest(repo=f"{store}/missing-{KEY}", query="q"), timeout=5)
    )
    assert "missing-<redacted>" in details


def _explode(settings: Any, services: Any) -> Any:
    raise RuntimeError(f"an unexpected failure quoting {KEY}")


async def test_an_unexpected_error_is_internal_and_quotes_nothing(
    store: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BOUNDARY_TEST_KEYS", KEY)
    operations = {
        **default_operations(),
        "prompts.explode": Operation(OperationRef("prompts.explode", "prompts", IndexManyStage)),
    }
    operations["prompts.explode"] = replace(operations["prompts.explode"], secrets=_explode)
    key_sets = KeySets.parse(["openai=BOUNDARY_TEST_KEYS"])
    running = await create_server(served(store, operations=operations, key_sets=key_sets))
    try:
        async with ServiceClient(f"127.0.0.1:{running.port}", deadline=5, auth=ClientAuth()) as c:
            settings = IndexManyStage(snapshots=[Snapshot(repo="r")])
            details = await _refused(
                c.start_job("prompts", "e", "prompts.explode", str(store), settings), grpc.StatusCode.INTERNAL
            )
    finally:
        await running.stop(0)
    assert details == "internal error (RuntimeError); see the server log"
    assert "RuntimeError: an unexpected failure quoting <redacted>" in caplog.text and KEY not in caplog.text


async def test_index_builds_over_the_limits_are_refused(store: Path) -> None:
    repo = store / "big"
    repo.mkdir()
    for i in range(400):
        (repo / f"m{i}.py").write_text(f"def f{i}():\n    return {i}\n")
    for limits, code in (
        (IndexLimits(max_files=100), grpc.StatusCode.RESOURCE_EXHAUSTED),
        (IndexLimits(max_bytes=1000), grpc.StatusCode.RESOURCE_EXHAUSTED),
        (IndexLimits(seconds=0.001), grpc.StatusCode.DEADLINE_EXCEEDED),
    ):
        running = await create_server(served(store, index_limits=limits))
        try:
            async with ServiceClient(f"127.0.0.1:{running.port}", deadline=10, auth=ClientAuth()) as c:
                request = retrieval_pb2.SearchRequest(repo=str(repo), query="return")
                details = await _refused(c.retrieval.Search(request, timeout=10), code)
                assert "limit" in details
        finally:
            await running.stop(0)


# -- who may call --------------------------------------------------------------------------------------------------
@pytest.fixture
def token_file(tmp_path: Path) -> Path:
    path = tmp_path / "token"
    path.write_text(f"{TOKEN}\n")
    return path


async def test_calls_without_the_token_are_unauthenticated_and_probes_stay_open(
    store: Path, token_file: Path, tmp_path: Path
) -> None:
    running = await create_server(served(store, auth=ServerAuth(token_file=str(token_file))))
    target = f"127.0.0.1:{running.port}"
    wrong = tmp_path / "wrong"
    wrong.write_text("not-the-token\n")
    try:
        for auth in (ClientAuth(), ClientAuth.load(ClientAuthFiles(token_file=str(wrong)))):
            async with ServiceClient(target, deadline=5, auth=auth) as c:
                await _refused(c.get("prompts", "x"), grpc.StatusCode.UNAUTHENTICATED)
                await _refused(
                    c.start_inference("x", InferenceStage(input="i", output="o")), grpc.StatusCode.UNAUTHENTICATED
                )
                watch = c.watch("gateway", "x", deadline=5)
                await _refused(watch.__anext__(), grpc.StatusCode.UNAUTHENTICATED)
                search = c.retrieval.Search(retrieval_pb2.SearchRequest(repo="/", query="q"), timeout=5)
                await _refused(search, grpc.StatusCode.UNAUTHENTICATED)
        async with grpc.aio.insecure_channel(target) as channel:
            reply = await health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=5)
            assert reply.status == health_pb2.HealthCheckResponse.SERVING

            async def ask() -> AsyncIterator[reflection_pb2.ServerReflectionRequest]:
                yield reflection_pb2.ServerReflectionRequest(list_services="")

            replies = reflection_pb2_grpc.ServerReflectionStub(channel).ServerReflectionInfo(ask(), timeout=5)
            names = {s.name async for r in replies for s in r.list_services_response.service}
            assert "patchline.v1.InferenceGatewayService" in names
        async with ServiceClient(
            target, deadline=5, auth=ClientAuth.load(ClientAuthFiles(token_file=str(token_file)))
        ) as c:
            await _refused(c.get("prompts", "x"), grpc.StatusCode.FAILED_PRECONDITION)  # through: no such job
    finally:
        await running.stop(0)


async def test_patchline_run_via_sends_the_token(store: Path, token_file: Path) -> None:
    write_requests(store / "requests.jsonl", ["a", "b", "c"])
    running = await create_server(served(store, auth=ServerAuth(token_file=str(token_file))))
    try:
        with FaultServer() as model:
            manifest = store / "run.yaml"
            manifest.write_text(
                "apiVersion: patchline.dev/v1alpha1\nkind: InferenceRun\nmetadata: {name: tok}\n"
                f"spec:\n  engine: {{type: endpoint, urls: ['{model.base_url}'], model: m}}\n"
                f"  input: {store / 'requests.jsonl'}\n  output: {store / 'out' / 'responses.jsonl'}\n"
            )
            via = f"127.0.0.1:{running.port}"
            with pytest.raises(InputError, match=r"^infer on 127\.0\.0\.1:\d+: UNAUTHENTICATED: "):
                await run_manifest(load_manifest(manifest), RunnerSettings(base=str(store), via=via))
            settings = RunnerSettings(base=str(store), via=via, auth=ClientAuthFiles(token_file=str(token_file)))
            report = await run_manifest(load_manifest(manifest), settings)
    finally:
        await running.stop(0)
    assert report.stages[0].counts.succeeded == 3


async def _handshake_refused(target: str, auth: ClientAuth) -> None:
    """The TLS handshake fails, so the call never reaches a servicer (gRPC reports one of these two codes)."""
    async with ServiceClient(target, deadline=2, auth=auth) as c:
        with pytest.raises(grpc.aio.AioRpcError) as error:
            await c.get("prompts", "x")
    assert error.value.code() in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED)


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    return make_pki(tmp_path_factory.mktemp("pki"))


async def test_tls_round_trip_and_plaintext_refused(store: Path, pki: Pki) -> None:
    auth = ServerAuth(tls_cert=str(pki.server_cert), tls_key=str(pki.server_key))
    running = await create_server(served(store, auth=auth, host="127.0.0.1"))
    target = f"127.0.0.1:{running.port}"
    try:
        trusted = ClientAuth.load(ClientAuthFiles(tls_ca=str(pki.ca)))
        async with ServiceClient(target, deadline=5, auth=trusted) as c:
            await _refused(c.get("prompts", "x"), grpc.StatusCode.FAILED_PRECONDITION)  # answered over TLS
        for auth_ in (ClientAuth(), ClientAuth.load(ClientAuthFiles(tls_ca=str(pki.other_ca)))):
            await _handshake_refused(target, auth_)
    finally:
        await running.stop(0)


async def test_mutual_tls_refuses_clients_without_a_certificate_of_its_ca(store: Path, pki: Pki) -> None:
    auth = ServerAuth(tls_cert=str(pki.server_cert), tls_key=str(pki.server_key), tls_client_ca=str(pki.ca))
    running = await create_server(served(store, auth=auth))
    target = f"127.0.0.1:{running.port}"
    try:
        refused = [
            ClientAuthFiles(tls_ca=str(pki.ca)),
            ClientAuthFiles(tls_ca=str(pki.ca), client_cert=str(pki.stranger_cert), client_key=str(pki.stranger_key)),
        ]
        for files in refused:
            await _handshake_refused(target, ClientAuth.load(files))
        files = ClientAuthFiles(tls_ca=str(pki.ca), client_cert=str(pki.client_cert), client_key=str(pki.client_key))
        async with ServiceClient(target, deadline=5, auth=ClientAuth.load(files)) as c:
            await _refused(c.get("prompts", "x"), grpc.StatusCode.FAILED_PRECONDITION)
    finally:
        await running.stop(0)


async def test_listening_beyond_loopback_needs_auth_or_insecure(store: Path, token_file: Path) -> None:
    with pytest.raises(InputError, match="without TLS or a token"):
        await create_server(served(store, host="0.0.0.0"))  # refused before anything is bound
    check_bind("0.0.0.0", ServerAuth(token_file=str(token_file)), insecure=False)
    check_bind("10.1.2.3", ServerAuth(), insecure=True)
    check_bind("::1", ServerAuth(), insecure=False)


async def test_request_lines_reach_only_the_allowed_paths_of_an_allowed_endpoint(
    client: ServiceClient, store: Path
) -> None:
    write_requests(store / "requests.jsonl", ["a", "b"])
    with (store / "requests.jsonl").open("a") as lines:
        for custom_id, url in [("files", "/v1/files"), ("dots", "/v1/chat/completions/../../v1/files")]:
            lines.write(json.dumps({"custom_id": custom_id, "url": url, "body": {"model": "m", "messages": []}}) + "\n")
    with FaultServer() as model:
        job = InferenceStage(
            input="requests.jsonl", output="out.jsonl", endpoints=ModelEndpoints(urls=[model.base_url])
        )
        await client.start_inference("paths", job)
        final = [j async for j in client.watch("gateway", "paths", deadline=30)][-1]
        sent = {attempt.key for attempt in model.attempts()}
    assert final.phase == common_pb2.PHASE_SUCCEEDED, final.last_error
    assert sent == {"a", "b"} and "2 bad input line(s) not sent" in final.message
    answered = [json.loads(line)["custom_id"] for line in (store / "out.jsonl").read_text().splitlines()]
    assert sorted(answered) == ["a", "b"]


def test_an_allowed_request_path_is_a_plain_absolute_path() -> None:
    assert checked_request_path("/v1/embeddings") == "/v1/embeddings"
    for bad in ("v1/chat/completions", "/v1/../admin", "/v1/./x", "/v1/x?y=1", "http://h/v1", "/v1/a b", ""):
        with pytest.raises(InputError):
            checked_request_path(bad)
