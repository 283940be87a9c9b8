"""Kubernetes objects of a run's model server (SGLang on GPUs, llama.cpp on CPU), as plain dicts: pure functions.

A run named ``r`` gets a Deployment and a Service ``r-sglang`` (the stable address) and a headless Service
``r-sglang-pods`` whose endpoints are the individual pods, so the gateway can balance across replicas itself;
a llama.cpp engine gets the same three objects named ``r-llamacpp``. No API calls, no Kopf: ownership
(owner references) is added by the caller with ``kopf.adopt``.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Iterable, Mapping
from types import MappingProxyType
from typing import Any

from patchline.core.errors import InputError
from patchline.core.llamacpp_args import llamacpp_launch_args
from patchline.core.sglang_args import engine_server_args, sglang_launch_args
from patchline.core.spec import (
    DEFAULT_LLAMACPP_IMAGE,
    HfCacheVolume,
    HostPathVolume,
    InferenceRun,
    LlamaCppEngine,
    ModelVolume,
    PvcVolume,
    ResourceList,
    Rollout,
    SecretKeyRef,
    SGLangEngine,
)

__all__ = [
    "GPU_RESOURCE",
    "HEALTH_PATH",
    "LLAMACPP_PORT",
    "READY_PATH",
    "SGLANG_API_KEY_VARIABLE",
    "SGLANG_PORT",
    "endpoint_urls",
    "headless_service_name",
    "llamacpp_command",
    "llamacpp_deployment",
    "llamacpp_objects",
    "ready_addresses",
    "server_labels",
    "server_name",
    "server_objects",
    "server_port",
    "service_url",
    "sglang_command",
    "sglang_deployment",
    "sglang_headless_service",
    "sglang_objects",
    "sglang_service",
]

Object = dict[str, Any]
Run = InferenceRun | Rollout

SGLANG_PORT = 30000
LLAMACPP_PORT = 8080
GPU_RESOURCE = "nvidia.com/gpu"
READY_PATH = "/health_generate"  # answers only once the model generates: readiness and startup
HEALTH_PATH = "/health"  # cheap process health: liveness
PROBE_PERIOD_SECONDS = 10
MANAGED_BY = "patchline-operator"
# The container variable holding the SGLang server's key (apiKeySecretRef); its arguments name the variable,
# which the kubelet expands, so the key is in the Secret only, never in the Deployment.
SGLANG_API_KEY_VARIABLE = "PATCHLINE_SGLANG_API_KEY"
# Engine type -> its server's port (the Services' and the container's). Read-only.
_PORTS: Mapping[str, int] = MappingProxyType({"sglang": SGLANG_PORT, "llamacpp": LLAMACPP_PORT})
_HEADLESS_SUFFIX = "-pods"
_MAX_NAME = 63  # Service names are DNS-1035 labels


def _kind(run: Run) -> str:
    kind = run.spec.engine.type
    if kind not in _PORTS:
        raise InputError(f"{run.kind} {run.metadata.name}: spec.engine.type {kind!r} has no server to create")
    return kind


def server_port(kind: str) -> int:
    """The port of the server of engine type ``kind`` (``sglang`` 30000, ``llamacpp`` 8080)."""
    return _PORTS[kind]


def server_name(run_name: str, kind: str = "sglang") -> str:
    """``{run}-{kind}``, shortened with a hash when the run's name is too long for a Service name."""
    suffix = f"-{kind}"
    base = re.sub(r"[^a-z0-9-]", "-", run_name.lower()).strip("-")
    if not base or not base[0].isalpha():
        base = f"r-{base}".rstrip("-")
    limit = _MAX_NAME - len(suffix) - len(_HEADLESS_SUFFIX)
    if len(base) > limit or base != run_name:
        digest = hashlib.sha256(run_name.encode("utf-8")).hexdigest()[:8]
        base = f"{base[: limit - 9].rstrip('-')}-{digest}"
    return f"{base}{suffix}"


def headless_service_name(run_name: str, kind: str = "sglang") -> str:
    """The headless Service that lists one endpoint per server pod."""
    return f"{server_name(run_name, kind)}{_HEADLESS_SUFFIX}"


def server_labels(run: Run) -> dict[str, str]:
    """Labels of every server object; the last two also select the pods."""
    kind = _kind(run)
    name = server_name(run.metadata.name, kind)
    return {
        **run.metadata.labels,
        "app.kubernetes.io/name": kind,
        "app.kubernetes.io/component": "model-server",
        "app.kubernetes.io/part-of": "patchline",
        "app.kubernetes.io/managed-by": MANAGED_BY,
        "patchline.dev/run-kind": run.kind,
        "patchline.dev/server": name,
    }


def _selector(run: Run) -> dict[str, str]:
    return {"patchline.dev/server": server_name(run.metadata.name, _kind(run))}


def _metadata(run: Run, name: str) -> Object:
    meta: Object = {"name": name, "labels": server_labels(run)}
    if run.metadata.namespace:
        meta["namespace"] = run.metadata.namespace
    return meta


def _engine(run: Run) -> SGLangEngine:
    engine = run.spec.engine
    if not isinstance(engine, SGLangEngine):
        raise InputError(f"{run.kind} {run.metadata.name}: spec.engine.type is {engine.type!r}, not 'sglang'")
    return engine


def sglang_command(engine: SGLangEngine) -> list[str]:
    """``python3 -m sglang.launch_server --model-path ... --host 0.0.0.0 --port 30000`` from the spec (with
    ``--api-key $(PATCHLINE_SGLANG_API_KEY)`` when the key comes from a Secret)."""
    args = engine_server_args(engine)
    if engine.api_key_secret_ref is not None:
        args += ["--api-key", f"$({SGLANG_API_KEY_VARIABLE})"]
    return sglang_launch_args(args, host="0.0.0.0", port=SGLANG_PORT, python="python3")  # noqa: S104


def _resource_map(values: ResourceList, gpus: int) -> dict[str, str]:
    out = {GPU_RESOURCE: str(gpus)}
    for key, value in (("cpu", values.cpu), ("memory", values.memory), ("ephemeral-storage", values.ephemeral_storage)):
        if value is not None:
            out[key] = value
    return out


def _probes(engine: SGLangEngine) -> Object:
    """Startup and readiness on /health_generate (startup within the spec's budget), liveness on /health."""

    def http(path: str, **timing: int) -> Object:
        return {"httpGet": {"path": path, "port": "http"}, **timing}

    startup_failures = max(1, math.ceil(engine.startup_timeout_seconds / PROBE_PERIOD_SECONDS))
    return {
        "startupProbe": http(
            READY_PATH, periodSeconds=PROBE_PERIOD_SECONDS, timeoutSeconds=30, failureThreshold=startup_failures
        ),
        "readinessProbe": http(READY_PATH, periodSeconds=PROBE_PERIOD_SECONDS, timeoutSeconds=30, failureThreshold=3),
        "livenessProbe": http(HEALTH_PATH, periodSeconds=30, timeoutSeconds=10, failureThreshold=5),
    }


def _volumes(engine: SGLangEngine) -> tuple[list[Object], list[Object], list[Object]]:
    """Pod volumes, container mounts and environment: the memory-backed /dev/shm and the model weights."""
    volumes: list[Object] = [{"name": "dshm", "emptyDir": {"medium": "Memory", "sizeLimit": engine.shm_size}}]
    mounts: list[Object] = [{"name": "dshm", "mountPath": "/dev/shm"}]  # noqa: S108 - the pod's own tmpfs
    env: list[Object] = []
    _model_volume(engine.model_volume, volumes, mounts, env)
    if engine.api_key_secret_ref is not None:
        env.append(_secret_env(SGLANG_API_KEY_VARIABLE, engine.api_key_secret_ref))
    return volumes, mounts, env


def _secret_env(variable: str, ref: SecretKeyRef) -> Object:
    """A container variable read from one key of a Secret."""
    return {"name": variable, "valueFrom": {"secretKeyRef": {"name": ref.name, "key": ref.key}}}


def _model_volume(source: ModelVolume | None, volumes: list[Object], mounts: list[Object], env: list[Object]) -> None:
    """Add the volume, mount and environment of the model weights' source (nothing for None)."""
    if isinstance(source, PvcVolume):
        claim = {"claimName": source.claim_name, "readOnly": source.read_only}
        volumes.append({"name": "model", "persistentVolumeClaim": claim})
        mount: Object = {"name": "model", "mountPath": source.mount_path, "readOnly": source.read_only}
        if source.sub_path:
            mount["subPath"] = source.sub_path
        mounts.append(mount)
    elif isinstance(source, HostPathVolume):
        volumes.append({"name": "model", "hostPath": {"path": source.path, "type": "Directory"}})
        mounts.append({"name": "model", "mountPath": source.mount_path, "readOnly": source.read_only})
    elif isinstance(source, HfCacheVolume):
        cache: Object = {"sizeLimit": source.size_limit} if source.size_limit else {}
        volumes.append({"name": "hf-cache", "emptyDir": cache})
        mounts.append({"name": "hf-cache", "mountPath": source.mount_path})
        env.append({"name": "HF_HOME", "value": source.mount_path})
        if source.token_secret_ref:
            env.append(_secret_env("HF_TOKEN", source.token_secret_ref))


def _container(engine: SGLangEngine, mounts: list[Object], env: list[Object]) -> Object:
    command = sglang_command(engine)
    gpus = engine.gpus_per_pod
    container: Object = {
        "name": "sglang",
        "image": engine.image,
        "imagePullPolicy": "IfNotPresent",
        "command": command[:3],
        "args": command[3:],
        "ports": [{"name": "http", "containerPort": SGLANG_PORT, "protocol": "TCP"}],
        "resources": {
            "requests": _resource_map(engine.resources.requests, gpus),
            "limits": _resource_map(engine.resources.limits, gpus),
        },
        **_probes(engine),
        "volumeMounts": mounts,
    }
    if env:
        container["env"] = env
    return container


def sglang_deployment(run: Run) -> Object:
    """The Deployment of the run's SGLang server: ``replicas`` pods of ``tpSize * dpSize`` GPUs each."""
    engine = _engine(run)
    name = server_name(run.metadata.name)
    volumes, mounts, env = _volumes(engine)
    pod_spec: Object = {
        "containers": [_container(engine, mounts, env)],
        "volumes": volumes,
        "enableServiceLinks": False,
        "terminationGracePeriodSeconds": 60,
    }
    if engine.node_selector:
        pod_spec["nodeSelector"] = dict(sorted(engine.node_selector.items()))
    if engine.tolerations:
        pod_spec["tolerations"] = [t.to_manifest() for t in engine.tolerations]
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": _metadata(run, name),
        "spec": {
            "replicas": engine.replicas,
            # Recreate: a rolling update would hold a second set of GPUs while the new pods load the model.
            "strategy": {"type": "Recreate"},
            "selector": {"matchLabels": _selector(run)},
            "template": {"metadata": {"labels": server_labels(run)}, "spec": pod_spec},
        },
    }


def _service(run: Run, name: str, *, headless: bool) -> Object:
    port = server_port(_kind(run))
    spec: Object = {
        "selector": _selector(run),
        "ports": [{"name": "http", "port": port, "targetPort": "http", "protocol": "TCP"}],
    }
    spec = {"clusterIP": "None", **spec} if headless else {"type": "ClusterIP", **spec}
    return {"apiVersion": "v1", "kind": "Service", "metadata": _metadata(run, name), "spec": spec}


def sglang_service(run: Run) -> Object:
    """The ClusterIP Service: one stable address for the server (kube-proxy balances its pods)."""
    _engine(run)
    return _service(run, server_name(run.metadata.name), headless=False)


def sglang_headless_service(run: Run) -> Object:
    """The headless Service: its endpoints are the ready pods, which the gateway balances across itself."""
    _engine(run)
    return _service(run, headless_service_name(run.metadata.name), headless=True)


def sglang_objects(run: Run) -> list[Object]:
    """Every object of the run's server, in creation order: Deployment, Service, headless Service."""
    return [sglang_deployment(run), sglang_service(run), sglang_headless_service(run)]


def llamacpp_command(engine: LlamaCppEngine) -> list[str]:
    """``python3 -m patchline llamacpp serve ... --host 0.0.0.0 --port 8080`` from the spec."""
    return llamacpp_launch_args(engine, host="0.0.0.0", port=LLAMACPP_PORT, python="python3")  # noqa: S104


def _llamacpp_container(engine: LlamaCppEngine, image: str, mounts: list[Object], env: list[Object]) -> Object:
    """The CPU container: the server command, its port, resources, and every probe on ``/health``."""

    def probe(**timing: int) -> Object:
        return {"httpGet": {"path": HEALTH_PATH, "port": "http"}, **timing}

    startup_failures = max(1, math.ceil(engine.startup_timeout_seconds / PROBE_PERIOD_SECONDS))
    command = llamacpp_command(engine)
    container: Object = {
        "name": "llamacpp",
        "image": image,
        "imagePullPolicy": "IfNotPresent",
        "command": command[:2],
        "args": command[2:],
        "ports": [{"name": "http", "containerPort": LLAMACPP_PORT, "protocol": "TCP"}],
        "resources": {
            "requests": _cpu_resources(engine.resources.requests),
            "limits": _cpu_resources(engine.resources.limits),
        },
        # /health is 503 while the model loads and 200 once it serves: startup and readiness; liveness too.
        "startupProbe": probe(periodSeconds=PROBE_PERIOD_SECONDS, timeoutSeconds=5, failureThreshold=startup_failures),
        "readinessProbe": probe(periodSeconds=PROBE_PERIOD_SECONDS, timeoutSeconds=5, failureThreshold=3),
        "livenessProbe": probe(periodSeconds=30, timeoutSeconds=10, failureThreshold=5),
        "volumeMounts": mounts,
    }
    if env:
        container["env"] = env
    return container


def _cpu_resources(values: ResourceList) -> dict[str, str]:
    pairs = (("cpu", values.cpu), ("memory", values.memory), ("ephemeral-storage", values.ephemeral_storage))
    return {key: value for key, value in pairs if value is not None}


def llamacpp_deployment(run: Run, *, default_image: str | None = None) -> Object:
    """The Deployment of the run's llama.cpp server: ``replicas`` CPU pods (no GPU requested).

    ``default_image`` (the operator's configured image) applies when the spec names none.
    """
    engine = run.spec.engine
    if not isinstance(engine, LlamaCppEngine):
        raise InputError(f"{run.kind} {run.metadata.name}: spec.engine.type is {engine.type!r}, not 'llamacpp'")
    volumes: list[Object] = []
    mounts: list[Object] = []
    env: list[Object] = []
    _model_volume(engine.model_volume, volumes, mounts, env)
    image = engine.image or default_image or DEFAULT_LLAMACPP_IMAGE
    pod_spec: Object = {
        "containers": [_llamacpp_container(engine, image, mounts, env)],
        "volumes": volumes,
        "enableServiceLinks": False,
        "terminationGracePeriodSeconds": 30,
    }
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": _metadata(run, server_name(run.metadata.name, "llamacpp")),
        "spec": {
            "replicas": engine.replicas,
            "selector": {"matchLabels": _selector(run)},
            "template": {"metadata": {"labels": server_labels(run)}, "spec": pod_spec},
        },
    }


def llamacpp_objects(run: Run, *, default_image: str | None = None) -> list[Object]:
    """Deployment, Service and headless Service of the run's llama.cpp server, in creation order."""
    name = server_name(run.metadata.name, "llamacpp")
    return [
        llamacpp_deployment(run, default_image=default_image),
        _service(run, name, headless=False),
        _service(run, f"{name}{_HEADLESS_SUFFIX}", headless=True),
    ]


def server_objects(run: Run, *, llamacpp_image: str | None = None) -> list[Object]:
    """The objects of the run's own model server, whichever engine it has (SGLang or llama.cpp)."""
    if _kind(run) == "llamacpp":
        return llamacpp_objects(run, default_image=llamacpp_image)
    return sglang_objects(run)


def service_url(run: Run, namespace: str) -> str:
    """The base URL of the run's server through its ClusterIP Service."""
    kind = _kind(run)
    return f"http://{server_name(run.metadata.name, kind)}.{namespace}.svc:{server_port(kind)}"


def endpoint_urls(addresses: Iterable[str], *, port: int = SGLANG_PORT, domain: str | None = None) -> list[str]:
    """Base URLs of ready pods (addresses from the headless Service's EndpointSlices), sorted and de-duplicated.

    With ``domain`` (``{headless}.{namespace}.svc``) a pod is named by its DNS record below the headless
    Service, the address dashed (``10-0-0-5.r-sglang-pods.ns.svc``, as cluster DNS serves it), so a
    gateway that allows ``*.{namespace}.svc`` endpoints reaches exactly the Services of that namespace.
    """
    if domain is not None:
        return sorted({f"http://{a.replace('.', '-').replace(':', '-')}.{domain}:{port}" for a in addresses if a})
    urls = {f"http://[{a}]:{port}" if ":" in a else f"http://{a}:{port}" for a in addresses if a}
    return sorted(urls)


def ready_addresses(endpoint_slices: Iterable[Mapping[str, Any]]) -> list[str]:
    """Addresses of ready endpoints in EndpointSlice objects (``endpoints[].conditions.ready`` true or unset)."""
    found: list[str] = []
    for slice_ in endpoint_slices:
        for endpoint in slice_.get("endpoints") or []:
            if (endpoint.get("conditions") or {}).get("ready", True) is not False:
                found.extend(endpoint.get("addresses") or [])
    return found
