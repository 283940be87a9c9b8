"""The operator against an emulated Kubernetes API over HTTP, with the real services and model servers on loopback.

Each test runs Kopf embedded with patchline's handlers; the test plays the parts of the cluster the
emulator lacks (the endpoint controller: it "marks the pods ready" by creating an EndpointSlice that
points at a model server on 127.0.0.1).
"""

from __future__ import annotations

import asyncio
import json
import socket
import time
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from patchline.pipeline.jobs import JobPhase
from patchline.servers import RunningServer
from patchline_operator.builders import GPU_RESOURCE, headless_service_name, server_name
from patchline_operator.jobs import job_id
from tests.fixtures.fault_server import FaultPlan, FaultServer, write_requests
from tests.integration.operator.conftest import NAMESPACE, Cluster, operator, wait_for

pytestmark = pytest.mark.integration

IR = "patchline.dev/v1alpha1/inferenceruns"
DEPLOYMENTS = "apps/v1/deployments"
SERVICES = "v1/services"


def inference_run(name: str, input_path: Path, **engine: Any) -> dict[str, Any]:
    """An InferenceRun with an SGLang engine (tp 2 x dp 2) and a relative output."""
    return {
        "apiVersion": "patchline.dev/v1alpha1",
        "kind": "InferenceRun",
        "metadata": {"name": name, "labels": {"team": "nlp"}},
        "spec": {
            "engine": {
                "type": "sglang",
                "modelPath": "/models/Qwen3-8B",
                "servedModelName": "qwen3-8b",
                "tpSize": 2,
                "dpSize": 2,
                **engine,
            },
            "input": str(input_path),
            "output": f"runs/{name}/responses.jsonl",
            "executor": {"concurrency": 4, "timeoutSeconds": 10, "maxAttempts": 2},
        },
    }


async def create_run(cluster: Cluster, run: dict[str, Any]) -> dict[str, Any]:
    """Apply an InferenceRun."""
    return await cluster.create("patchline.dev/v1alpha1", "inferenceruns", run)


def phase(cluster: Cluster, name: str, resource: str = IR) -> str | None:
    """The run's status.phase now."""
    obj = cluster.get(resource, name)
    return ((obj or {}).get("status") or {}).get("phase")


def server_gone(cluster: Cluster, run: str) -> bool:
    """No Deployment, Service or headless Service of the run's server is left."""
    return (
        cluster.get(DEPLOYMENTS, server_name(run)) is None
        and cluster.get(SERVICES, server_name(run)) is None
        and cluster.get(SERVICES, headless_service_name(run)) is None
    )


def _container(deployment: dict[str, Any]) -> dict[str, Any]:
    container: dict[str, Any] = deployment["spec"]["template"]["spec"]["containers"][0]
    return container


async def test_inference_run_provisions_runs_and_frees_the_server(
    cluster: Cluster, services: RunningServer, tmp_path: Path
) -> None:
    write_requests(tmp_path / "requests.jsonl", [f"q{i}" for i in range(10)])
    with FaultServer() as model:
        async with operator():
            created = await cluster.create(
                "patchline.dev/v1alpha1", "inferenceruns", inference_run("batch", tmp_path / "requests.jsonl")
            )
            await wait_for(lambda: cluster.get(DEPLOYMENTS, server_name("batch")), what="the Deployment")
            deployment = cluster.must_get(DEPLOYMENTS, server_name("batch"))
            container = _container(deployment)
            args = container["args"]
            assert args[args.index("--tp-size") + 1] == "2" and args[args.index("--dp-size") + 1] == "2"
            assert args[args.index("--host") + 1] == "0.0.0.0"
            assert container["resources"]["limits"][GPU_RESOURCE] == "4"
            assert container["resources"]["requests"][GPU_RESOURCE] == "4"
            assert container["startupProbe"]["httpGet"]["path"] == "/health_generate"
            assert container["livenessProbe"]["httpGet"]["path"] == "/health"
            assert {"name": "dshm", "mountPath": "/dev/shm"} in container["volumeMounts"]
            owners = deployment["metadata"]["ownerReferences"]
            assert owners == [
                {
                    "apiVersion": "patchline.dev/v1alpha1",
                    "kind": "InferenceRun",
                    "name": "batch",
                    "uid": created["metadata"]["uid"],
                    "controller": True,
                    "blockOwnerDeletion": True,
                }
            ]
            for service in (server_name("batch"), headless_service_name("batch")):
                await wait_for(lambda s=service: cluster.get(SERVICES, s), what=service)  # type: ignore[misc]
                svc = cluster.must_get(SERVICES, service)
                assert svc["metadata"]["ownerReferences"][0]["uid"] == created["metadata"]["uid"]
            assert cluster.must_get(SERVICES, headless_service_name("batch"))["spec"]["clusterIP"] == "None"
            await wait_for(lambda: phase(cluster, "batch") == "Provisioning", what="phase Provisioning")
            await cluster.mark_ready(headless_service_name("batch"), model.base_url)
            await wait_for(lambda: phase(cluster, "batch") == "Succeeded", what="phase Succeeded")
            await wait_for(lambda: server_gone(cluster, "batch"), what="the server deleted")
        assert {a.model for a in model.attempts()} == {"qwen3-8b"}
    status = cluster.must_get(IR, "batch")["status"]
    progress = status["progress"]
    assert (progress["total"], progress["succeeded"], progress["failed"]) == (10, 10, 0)
    assert progress["summary"] == "10/10" and progress["tokens"] > 0
    assert status["endpoints"] == [model.base_url] and status["model"] == "qwen3-8b"
    output = tmp_path / "store" / "runs" / "batch" / "responses.jsonl"
    assert status["outputUri"] == str(output)
    assert len(output.read_text().splitlines()) == 10
    conditions = {c["type"]: c for c in status["conditions"]}
    assert conditions["ServerReady"]["status"] == "True"
    assert conditions["Complete"]["status"] == "True" and conditions["Progressing"]["status"] == "False"
    assert "Failed" not in conditions
    assert status["observedGeneration"] == 1
    assert "kopf" not in status  # Kopf's records live in annotations, status has declared fields only
    reasons = [e["reason"] for e in _events(cluster, "batch")]
    assert "Provisioning" in reasons and "Succeeded" in reasons


def _events(cluster: Cluster, name: str) -> list[dict[str, Any]]:
    return [
        dict(obj.raw)
        for (res, _, _), obj in cluster.api.objects.items()
        if res.plural == "events" and (obj.raw.get("involvedObject") or {}).get("name") == name
    ]


async def test_delete_mid_run_cancels_the_job_and_deletes_the_children(
    cluster: Cluster, services: RunningServer, tmp_path: Path
) -> None:
    write_requests(tmp_path / "requests.jsonl", [f"q{i}" for i in range(40)])
    with FaultServer(FaultPlan(latency_s=0.5)) as model:
        async with operator():
            created = await cluster.create(
                "patchline.dev/v1alpha1", "inferenceruns", inference_run("doomed", tmp_path / "requests.jsonl")
            )
            await wait_for(lambda: cluster.get(DEPLOYMENTS, server_name("doomed")), what="the Deployment")
            await cluster.mark_ready(headless_service_name("doomed"), model.base_url)
            await wait_for(lambda: model.attempts(), what="the first request")
            await wait_for(lambda: phase(cluster, "doomed") == "Running", what="phase Running")
            await cluster.delete("patchline.dev/v1alpha1", "inferenceruns", "doomed")
            await wait_for(lambda: cluster.get(IR, "doomed") is None, what="the run gone")
            gateway = services.managers["gateway"]
            job = job_id(NAMESPACE, "doomed", created["metadata"]["uid"], "infer")
            assert gateway.get(job).phase is JobPhase.CANCELLED
            assert server_gone(cluster, "doomed")
    lines = (tmp_path / "store" / "runs" / "doomed" / "responses.jsonl").read_text().splitlines()
    assert len(lines) < 40  # stopped early


async def test_restarted_operator_reattaches_without_a_second_server(
    cluster: Cluster, services: RunningServer, tmp_path: Path
) -> None:
    write_requests(tmp_path / "requests.jsonl", [f"q{i}" for i in range(60)])  # ~6 s at 4 in flight
    with FaultServer(FaultPlan(latency_s=0.4)) as model:
        async with operator():
            created = await cluster.create(
                "patchline.dev/v1alpha1", "inferenceruns", inference_run("steady", tmp_path / "requests.jsonl")
            )
            await wait_for(lambda: cluster.get(DEPLOYMENTS, server_name("steady")), what="the Deployment")
            await cluster.mark_ready(headless_service_name("steady"), model.base_url)
            await wait_for(lambda: phase(cluster, "steady") == "Running", what="phase Running")
        first_uid = cluster.must_get(DEPLOYMENTS, server_name("steady"))["metadata"]["uid"]
        assert phase(cluster, "steady") == "Running"
        job = job_id(NAMESPACE, "steady", created["metadata"]["uid"], "infer")
        # The job goes on with no operator (on a slow machine it may even finish before the restart).
        assert services.managers["gateway"].get(job).phase in (JobPhase.RUNNING, JobPhase.SUCCEEDED)
        async with operator():
            await wait_for(lambda: phase(cluster, "steady") == "Succeeded", what="phase Succeeded")
            await wait_for(lambda: server_gone(cluster, "steady"), what="the server deleted")
        counts = model.attempt_counts()
    # One Deployment ever (a racing second create gets 409 and adopts it), made by the first operator and
    # deleted by the second.
    assert cluster.uids(DEPLOYMENTS, server_name("steady")) == {first_uid}
    assert sorted(counts) == sorted(f"q{i}" for i in range(60)) and set(counts.values()) == {1}
    progress = cluster.must_get(IR, "steady")["status"]["progress"]
    assert (progress["total"], progress["succeeded"]) == (60, 60)
    lines = [
        json.loads(x) for x in (tmp_path / "store" / "runs" / "steady" / "responses.jsonl").read_text().splitlines()
    ]
    assert len({line["custom_id"] for line in lines}) == 60


async def test_invalid_spec_fails_with_the_reason(cluster: Cluster, services: RunningServer, tmp_path: Path) -> None:
    run = inference_run("broken", tmp_path / "requests.jsonl")
    run["spec"]["engine"] = {"type": "endpoint", "urls": ["ftp://models.internal"], "model": "m"}
    async with operator():
        await cluster.create("patchline.dev/v1alpha1", "inferenceruns", run)
        await wait_for(lambda: phase(cluster, "broken") == "Failed", what="phase Failed")
        status = cluster.must_get(IR, "broken")["status"]
        assert "http://" in status["message"] and "spec.engine" in status["message"]
        failed = next(c for c in status["conditions"] if c["type"] == "Failed")
        assert (failed["status"], failed["reason"]) == ("True", "InvalidSpec")
        await wait_for(lambda: any(e["type"] == "Warning" for e in _events(cluster, "broken")), what="a warning Event")
    assert cluster.names(DEPLOYMENTS) == []


async def test_liveness_endpoint_reports_the_operator(cluster: Cluster, services: RunningServer) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    async with operator(liveness=f"http://127.0.0.1:{port}/healthz"):
        report: dict[str, Any] = {}

        async def probe() -> bool:
            try:
                async with cluster.http.get(f"http://127.0.0.1:{port}/healthz") as response:
                    report.update(await response.json() if response.status == 200 else {})
            except aiohttp.ClientConnectionError:
                return False  # not listening yet
            return bool(report)

        deadline = time.monotonic() + 20
        while not await probe():
            assert time.monotonic() < deadline, "the liveness endpoint never answered"
            await asyncio.sleep(0.05)
    assert report["config"]["gateway"] == f"127.0.0.1:{services.port}"
