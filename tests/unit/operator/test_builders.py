"""The SGLang server objects the operator creates: arguments, GPUs, probes, volumes, names; valid Kubernetes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from patchline.core.errors import InputError
from patchline.core.spec import DEFAULT_LLAMACPP_IMAGE, InferenceRun, Rollout, load_manifest, parse_manifest
from patchline_operator.builders import (
    GPU_RESOURCE,
    SGLANG_API_KEY_VARIABLE,
    endpoint_urls,
    headless_service_name,
    llamacpp_deployment,
    ready_addresses,
    server_name,
    server_objects,
    service_url,
    sglang_deployment,
    sglang_headless_service,
    sglang_objects,
    sglang_service,
)

pytestmark = pytest.mark.unit

REPO = Path(__file__).resolve().parents[3]
EXAMPLES = sorted((REPO / "k8s" / "examples").glob("*.yaml"))
KUBERNETES_VERSION = "1.33.0"

RUN = {
    "apiVersion": "patchline.dev/v1alpha1",
    "kind": "InferenceRun",
    "metadata": {"name": "qwen-batch", "namespace": "research", "labels": {"team": "nlp"}},
    "spec": {
        "engine": {
            "type": "sglang",
            "modelPath": "/models/Qwen3-8B",
            "servedModelName": "qwen3-8b",
            "image": "registry.local/sglang:v0.5.23",
            "tpSize": 2,
            "dpSize": 4,
            "replicas": 3,
            "reasoningParser": "qwen3",
            "extraArgs": ["--mem-fraction-static", "0.8"],
            "resources": {"requests": {"cpu": "16", "memory": "128Gi"}, "limits": {"memory": "160Gi"}},
            "modelVolume": {"type": "pvc", "claimName": "weights", "subPath": "qwen"},
            "shmSize": "64Gi",
            "nodeSelector": {"gpu": "h100"},
            "tolerations": [{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}],
            "startupTimeoutSeconds": 3600,
        },
        "input": "req.jsonl",
        "output": "resp.jsonl",
    },
}


def _run(**engine: Any) -> InferenceRun:
    data = yaml.safe_load(yaml.safe_dump(RUN))
    data["spec"]["engine"].update(engine)
    run = parse_manifest(data)
    assert isinstance(run, InferenceRun)
    return run


def _container(deployment: dict[str, Any]) -> dict[str, Any]:
    containers = deployment["spec"]["template"]["spec"]["containers"]
    assert len(containers) == 1
    container: dict[str, Any] = containers[0]
    return container


def test_deployment_runs_sglang_with_the_spec_arguments() -> None:
    deployment = sglang_deployment(_run())
    assert deployment["metadata"]["name"] == "qwen-batch-sglang"
    assert deployment["metadata"]["namespace"] == "research"
    assert deployment["spec"]["replicas"] == 3
    container = _container(deployment)
    assert container["image"] == "registry.local/sglang:v0.5.23"
    assert container["command"] == ["python3", "-m", "sglang.launch_server"]
    assert container["args"] == [
        "--model-path", "/models/Qwen3-8B",
        "--tp-size", "2",
        "--dp-size", "4",
        "--reasoning-parser", "qwen3",
        "--served-model-name", "qwen3-8b",
        "--mem-fraction-static", "0.8",
        "--host", "0.0.0.0",
        "--port", "30000",
    ]  # fmt: skip
    assert container["ports"] == [{"name": "http", "containerPort": 30000, "protocol": "TCP"}]


def test_gpus_are_tp_times_dp_in_requests_and_limits() -> None:
    resources = _container(sglang_deployment(_run()))["resources"]
    assert resources["requests"] == {GPU_RESOURCE: "8", "cpu": "16", "memory": "128Gi"}
    assert resources["limits"] == {GPU_RESOURCE: "8", "memory": "160Gi"}
    single = _container(sglang_deployment(_run(tpSize=1, dpSize=1, resources={})))["resources"]
    assert single == {"requests": {GPU_RESOURCE: "1"}, "limits": {GPU_RESOURCE: "1"}}


def test_probes_give_the_startup_budget_of_the_spec() -> None:
    container = _container(sglang_deployment(_run()))
    startup, readiness, liveness = container["startupProbe"], container["readinessProbe"], container["livenessProbe"]
    assert startup["httpGet"] == {"path": "/health_generate", "port": "http"}
    assert startup["periodSeconds"] * startup["failureThreshold"] == 3600
    assert readiness["httpGet"]["path"] == "/health_generate"
    assert liveness["httpGet"]["path"] == "/health"
    short = _container(sglang_deployment(_run(startupTimeoutSeconds=65)))["startupProbe"]
    assert short["failureThreshold"] == 7  # rounded up: never less than the budget


def test_shm_model_volume_scheduling() -> None:
    pod = sglang_deployment(_run())["spec"]["template"]["spec"]
    assert pod["volumes"] == [
        {"name": "dshm", "emptyDir": {"medium": "Memory", "sizeLimit": "64Gi"}},
        {"name": "model", "persistentVolumeClaim": {"claimName": "weights", "readOnly": True}},
    ]
    assert pod["containers"][0]["volumeMounts"] == [
        {"name": "dshm", "mountPath": "/dev/shm"},
        {"name": "model", "mountPath": "/models", "readOnly": True, "subPath": "qwen"},
    ]
    assert pod["nodeSelector"] == {"gpu": "h100"}
    assert pod["tolerations"] == [{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}]


def test_host_path_and_hf_cache_volumes() -> None:
    host = sglang_deployment(_run(modelVolume={"type": "hostPath", "path": "/mnt/models", "mountPath": "/w"}))
    assert host["spec"]["template"]["spec"]["volumes"][1] == {
        "name": "model",
        "hostPath": {"path": "/mnt/models", "type": "Directory"},
    }
    hf = sglang_deployment(
        _run(
            modelPath="Qwen/Qwen3-8B",
            modelVolume={"type": "hfCache", "sizeLimit": "80Gi", "tokenSecretRef": {"name": "hf", "key": "token"}},
        )
    )
    pod = hf["spec"]["template"]["spec"]
    assert pod["volumes"][1] == {"name": "hf-cache", "emptyDir": {"sizeLimit": "80Gi"}}
    assert pod["containers"][0]["env"] == [
        {"name": "HF_HOME", "value": "/root/.cache/huggingface"},
        {"name": "HF_TOKEN", "valueFrom": {"secretKeyRef": {"name": "hf", "key": "token"}}},
    ]
    bare = sglang_deployment(_run(modelVolume=None))["spec"]["template"]["spec"]
    assert [v["name"] for v in bare["volumes"]] == ["dshm"] and "env" not in bare["containers"][0]


def test_services_select_the_server_pods() -> None:
    run = _run()
    deployment, service, headless = sglang_objects(run)
    pod_labels = deployment["spec"]["template"]["metadata"]["labels"]
    assert pod_labels["team"] == "nlp" and pod_labels["patchline.dev/run-kind"] == "InferenceRun"
    for svc in (service, headless):
        assert svc["spec"]["selector"].items() <= pod_labels.items()
        assert svc["spec"]["selector"] == deployment["spec"]["selector"]["matchLabels"]
        assert svc["spec"]["ports"] == [{"name": "http", "port": 30000, "targetPort": "http", "protocol": "TCP"}]
    assert service["spec"]["type"] == "ClusterIP" and "clusterIP" not in service["spec"]
    assert headless["spec"]["clusterIP"] == "None"
    assert headless["metadata"]["name"] == headless_service_name("qwen-batch") == "qwen-batch-sglang-pods"
    assert service_url(run, "research") == "http://qwen-batch-sglang.research.svc:30000"
    assert sglang_service(run) == service and sglang_headless_service(run) == headless


def test_output_is_deterministic() -> None:
    assert yaml.safe_dump_all(sglang_objects(_run())) == yaml.safe_dump_all(sglang_objects(_run()))


@pytest.mark.parametrize(
    ("run_name", "expected"),
    [("qwen-batch", "qwen-batch-sglang"), ("a" * 60, None), ("v1.2.run", None), ("9lives", None)],
)
def test_names_derive_from_the_run_and_stay_valid(run_name: str, expected: str | None) -> None:
    name = server_name(run_name)
    if expected is not None:
        assert name == expected
    assert len(headless_service_name(run_name)) <= 63
    assert name[0].isalpha() and name.endswith("-sglang")
    assert all(c.isalnum() or c == "-" for c in name) and name == name.lower()
    assert server_name(run_name) == name
    assert server_name(run_name + "x") != name


def test_non_sglang_engines_have_no_server() -> None:
    data = yaml.safe_load(yaml.safe_dump(RUN))
    data["spec"]["engine"] = {"type": "endpoint", "urls": ["http://api:8000"], "model": "m"}
    with pytest.raises(InputError, match="spec.engine.type is 'endpoint', not 'sglang'"):
        sglang_objects(parse_manifest(data))


def test_endpoint_urls_from_ready_pod_addresses() -> None:
    slices: list[dict[str, Any]] = [
        {"endpoints": [{"addresses": ["10.0.0.7"], "conditions": {"ready": True}}, {"addresses": ["10.0.0.8"]}]},
        {"endpoints": [{"addresses": ["10.0.0.9"], "conditions": {"ready": False}}, {"addresses": ["fd00::1"]}]},
        {"endpoints": None},
    ]
    assert endpoint_urls(ready_addresses(slices)) == [
        "http://10.0.0.7:30000",
        "http://10.0.0.8:30000",
        "http://[fd00::1]:30000",
    ]


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.name)
def test_objects_of_every_example_validate_against_kubernetes_schemas(example: Path) -> None:
    run = load_manifest(example)
    assert isinstance(run, InferenceRun | Rollout)
    objects = server_objects(run)
    assert [o["kind"] for o in objects] == ["Deployment", "Service", "Service"]
    for obj in objects:
        kubernetes_validate.validate(obj, KUBERNETES_VERSION, strict=True)


def test_public_surface_imports_no_kopf() -> None:
    import sys

    import patchline_operator.builders as builders

    assert "kopf" not in builders.__dict__ and "kubernetes" not in builders.__dict__
    assert sys.modules["patchline_operator.builders"] is builders


def _llamacpp_run(**engine: Any) -> InferenceRun:
    manifest = {
        "apiVersion": "patchline.dev/v1alpha1",
        "kind": "InferenceRun",
        "metadata": {"name": "cpu"},
        "spec": {"engine": {"type": "llamacpp", **engine}, "input": "in.jsonl", "output": "out.jsonl"},
    }
    run = parse_manifest(manifest)
    assert isinstance(run, InferenceRun)
    return run


def test_llamacpp_objects_are_cpu_only_and_take_the_spec_image_first() -> None:
    volume = {"type": "pvc", "claimName": "gguf", "mountPath": "/models"}
    run = _llamacpp_run(model="/models/q.gguf", image="me/llama:1", modelVolume=volume)
    deployment, service, headless = server_objects(run, llamacpp_image="operator/default:1")
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    assert container["image"] == "me/llama:1"
    assert container["args"][container["args"].index("--model") + 1] == "/models/q.gguf"
    assert container["volumeMounts"] == [{"name": "model", "mountPath": "/models", "readOnly": True}]
    assert GPU_RESOURCE not in str(deployment)
    assert (service["metadata"]["name"], headless["metadata"]["name"]) == ("cpu-llamacpp", "cpu-llamacpp-pods")
    assert service_url(run, "ns") == "http://cpu-llamacpp.ns.svc:8080"
    default = llamacpp_deployment(_llamacpp_run())["spec"]["template"]["spec"]["containers"][0]
    assert default["image"] == DEFAULT_LLAMACPP_IMAGE and default["volumeMounts"] == []
    for obj in (deployment, service, headless):
        kubernetes_validate.validate(obj, KUBERNETES_VERSION, strict=True)


def test_the_server_key_from_a_secret_is_expanded_by_the_kubelet_never_written_into_the_deployment() -> None:
    deployment = sglang_deployment(_run(apiKeySecretRef={"name": "sglang-key", "key": "token"}))
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    position = container["args"].index("--api-key")
    assert container["args"][position + 1] == f"$({SGLANG_API_KEY_VARIABLE})"
    assert {"name": SGLANG_API_KEY_VARIABLE, "valueFrom": {"secretKeyRef": {"name": "sglang-key", "key": "token"}}} in (
        container["env"]
    )
    kubernetes_validate.validate(deployment, KUBERNETES_VERSION, strict=True)


def test_the_server_key_is_given_one_way() -> None:
    with pytest.raises(InputError, match="spec.engine: .*apiKeySecretRef or `--api-key` in extraArgs, not both"):
        _run(apiKeySecretRef={"name": "sglang-key"}, extraArgs=["--api-key=k"])
