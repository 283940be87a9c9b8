"""The model a run talks to on a cluster: its own SGLang or llama.cpp server (Deployment + Services), an endpoint,
or the oracle.

The server objects are created or adopted by derived names (``builders.server_name``), so asking again -
every tick, or after an operator restart - never makes a second server. Ready pods are read from the
headless Service's EndpointSlices: one URL per ready address, with the slice's port.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import kopf

from patchline.core.errors import InputError
from patchline.core.settings import secret_key_set
from patchline.core.spec import (
    EndpointEngine,
    InferenceRun,
    ModelEndpoints,
    OracleEngine,
    Rollout,
    SecretKeyRef,
    ServedEngine,
    SGLangEngine,
)
from patchline_operator.builders import (
    SGLANG_PORT,
    endpoint_urls,
    headless_service_name,
    ready_addresses,
    server_name,
    server_objects,
)
from patchline_operator.config import OperatorConfig
from patchline_operator.kube import KubeApi
from patchline_operator.status import as_body

__all__ = ["delete_server", "ensure_server", "key_set_of", "model_target", "slice_urls"]

Run = InferenceRun | Rollout


def key_set_of(engine: EndpointEngine | SGLangEngine) -> str | None:
    """The key set a run's requests use: an endpoint's ``apiKeySet``, else ``<secret>/<key>`` of the engine's
    ``apiKeySecretRef`` (the chart's ``keySets`` list configures that set on the gateway, holding the Secret's
    key in ``PATCHLINE_KEY_<SECRET>_<KEY>``), else the gateway's default set."""
    if isinstance(engine, EndpointEngine) and engine.api_key_set:
        return engine.api_key_set
    ref: SecretKeyRef | None = engine.api_key_secret_ref
    return secret_key_set(ref.name, ref.key) if ref is not None else None


async def ensure_server(
    kube: KubeApi, run: Run, owner: Mapping[str, Any], namespace: str, *, config: OperatorConfig | None = None
) -> int:
    """Create (or find) the run's Deployment, Service and headless Service, owned by ``owner``.

    ``config`` gives the llama.cpp image for specs that name none. Returns how many objects were
    created now (0 when they all existed).
    """
    created = 0
    for obj in server_objects(run, llamacpp_image=config.llamacpp_image if config else None):
        kopf.adopt(obj, owner=as_body(owner))
        _, new = await kube.create_or_get(obj, namespace)
        created += new
    return created


async def delete_server(kube: KubeApi, run: Run, namespace: str) -> int:
    """Delete the run's server objects (an owner-reference GC would too; this frees the GPUs now)."""
    kind = run.spec.engine.type
    name = server_name(run.metadata.name, kind)
    deleted = [
        await kube.delete_if_exists("apps/v1", "Deployment", namespace, name),
        await kube.delete_if_exists("v1", "Service", namespace, name),
        await kube.delete_if_exists("v1", "Service", namespace, headless_service_name(run.metadata.name, kind)),
    ]
    return sum(deleted)


def slice_urls(endpoint_slices: Iterable[Mapping[str, Any]], *, domain: str | None = None) -> list[str]:
    """One base URL per ready address, with the port of its slice (``http``, else the first, else 30000);
    with ``domain``, pods are named by DNS below it (``builders.endpoint_urls``)."""
    urls: set[str] = set()
    for slice_ in endpoint_slices:
        ports = slice_.get("ports") or []
        named = [p for p in ports if p.get("name") == "http"] or ports
        port = int(named[0].get("port") or SGLANG_PORT) if named else SGLANG_PORT
        urls.update(endpoint_urls(ready_addresses([slice_]), port=port, domain=domain))
    return sorted(urls)


async def model_target(kube: KubeApi, run: Run, namespace: str, config: OperatorConfig) -> ModelEndpoints | None:
    """The run's model endpoints now; None while its own server (SGLang or llama.cpp) has no ready pod."""
    engine = run.spec.engine
    if isinstance(engine, ServedEngine):
        headless = headless_service_name(run.metadata.name, engine.type)
        domain = f"{headless}.{namespace}.svc" if config.pod_dns else None
        urls = slice_urls(await kube.endpoint_slices(namespace, headless), domain=domain)
        if not urls:
            return None
        key_set = key_set_of(engine) if isinstance(engine, SGLangEngine) else None
        return engine.model_endpoints(urls).model_copy(update={"api_key_set": key_set})
    if isinstance(engine, EndpointEngine):
        return engine.model_endpoints().model_copy(update={"api_key_set": key_set_of(engine)})
    if isinstance(engine, OracleEngine):
        if not config.oracle_url:
            raise InputError("spec.engine.type oracle: the operator has no oracle server (set PATCHLINE_ORACLE_URL)")
        return engine.model_endpoints([config.oracle_url])
    raise InputError(f"unsupported engine {type(engine).__name__}")
