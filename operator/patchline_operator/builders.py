"""Kubernetes objects of a run's SGLang model server, as plain dicts: pure functions, no API calls, no Kopf.

A run named ``r`` gets a Deployment and a Service ``r-sglang`` (the stable address) and a headless Service
``r-sglang-pods`` whose endpoints are the individual pods, so the gateway can balance across replicas itself.
Ownership (owner references) is added by the caller with ``kopf.adopt``.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Iterable, Mapping
from typing import Any

from patchline.core.errors import InputError
from patchline.core.sglang_args import engine_server_args, sglang_launch_args
from patchline.core.spec import (
    HfCacheVolume,
    HostPathVolume,
    InferenceRun,
    PvcVolume,
    ResourceList,
    Rollout,
    SGLangEngine,
)

__all__ = [
    "GPU_RESOURCE",
    "HEALTH_PATH",
    "READY_PATH",
    "SGLANG_PORT",
    "endpoint_urls",
    "headless_service_name",
    "ready_addresses",
    "server_labels",
    "server_name",
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
GPU_RESOURCE = "nvidia.com/gpu"
READY_PATH = "/health_generate"  # answers only once the model generates: readiness and startup
HEALTH_PATH = "/health"  # cheap process health: liveness
PROBE_PERIOD_SECONDS = 10
CONTAINER = "sglang"
MANAGED_BY = "patchline-operator"
_SUFFIX = "-sglang"
_HEADLESS_SUFFIX = "-pods"
_MAX_NAME = 63  # Service names are DNS-1035 labels


def server_name(run_name: str) -> str:
    """``{run}-sglang``, shortened with a hash when the run's name is too long for a Service name."""
    base = re.sub(r"[^a-z0-9-]", "-", run_name.lower()).strip("-")
    if not base or not base[0].isalpha():
        base = f"r-{base}".rstrip("-")
    limit = _MAX_NAME - len(_SUFFIX) - len(_HEADLESS_SUFFIX)
    if len(base) > limit or base != run_name:
        digest = hashlib.sha256(run_name.encode("utf-8")).hexdigest()[:8]
        base = f"{base[: limit - 9].rstrip('-')}-{digest}"
    return f"{base}{_SUFFIX}"


def headless_service_name(run_name: str) -> str:
    """The headless Service that lists one endpoint per server pod."""
    return f"{server_name(run_name)}{_HEADLESS_SUFFIX}"


def server_labels(run: Run) -> dict[str, str]:
    """Labels of every server object; the last two also select the pods."""
    name = server_name(run.metadata.name)
    return {
        **run.metadata.labels,
        "app.kubernetes.io/name": "sglang",
        "app.kubernetes.io/component": "model-server",
        "app.kubernetes.io/part-of": "patchline",
        "app.kubernetes.io/managed-by": MANAGED_BY,
        "patchline.dev/run-kind": run.kind,
        "patchline.dev/server": name,
    }


def _selector(run: Run) -> dict[str, str]:
    return {"patchline.dev/server": server_name(run.metadata.name)}


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
    """``python3 -m sglang.launch_server --model-path ... --host 0.0.0.0 --port 30000`` from the spec."""
    return sglang_launch_args(engine_server_args(engine), host="0.0.0.0", port=SGLANG_PORT, python="python3")  # noqa: S104


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
    source = engine.model_volume
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
            ref = {"name": source.token_secret_ref.name, "key": source.token_secret_ref.key}
            env.append({"name": "HF_TOKEN", "valueFrom": {"secretKeyRef": ref}})
    return volumes, mounts, env


def _container(engine: SGLangEngine, mounts: list[Object], env: list[Object]) -> Object:
    command = sglang_command(engine)
    gpus = engine.gpus_per_pod
    container: Object = {
        "name": CONTAINER,
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
    spec: Object = {
        "selector": _selector(run),
        "ports": [{"name": "http", "port": SGLANG_PORT, "targetPort": "http", "protocol": "TCP"}],
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


def service_url(run: Run, namespace: str) -> str:
    """The base URL of the run's server through its ClusterIP Service."""
    return f"http://{server_name(run.metadata.name)}.{namespace}.svc:{SGLANG_PORT}"


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
