"""An emulated Kubernetes API (KMock over HTTP), the patchline services on loopback, and the operator embedded."""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import aiohttp
import kmock
import kopf
import pytest
import yaml

import patchline_operator.handlers  # noqa: F401 - registers the handlers with Kopf's default registry
from patchline.servers import RunningServer, create_server
from tests.fixtures.serving import served
from tests.integration.operator.emulator import PatchlineKube, crd_resource_info

REPO = Path(__file__).resolve().parents[3]
CRDS = sorted((REPO / "k8s" / "crds").glob("*.yaml"))
NAMESPACE = "research"
T = TypeVar("T")


@dataclass
class Cluster:
    """The emulator, its URL and an HTTP client to it, plus a kubeconfig pointing at it."""

    api: PatchlineKube
    url: str
    http: aiohttp.ClientSession
    kubeconfig: Path

    async def request(self, method: str, path: str, body: Any = None, *, content_type: str = "application/json") -> Any:
        """One API call, as a client would make it (so watches see it); raises on an error status."""
        async with self.http.request(
            method, f"{self.url}{path}", json=body, headers={"Content-Type": content_type}
        ) as response:
            payload = await response.json(content_type=None)
            if response.status >= 400:
                raise AssertionError(f"{method} {path}: {response.status} {payload}")
            return payload

    async def create(self, api_version: str, plural: str, obj: dict[str, Any]) -> dict[str, Any]:
        """POST an object into NAMESPACE."""
        prefix = "/api/v1" if api_version == "v1" else f"/apis/{api_version}"
        created: dict[str, Any] = await self.request("POST", f"{prefix}/namespaces/{NAMESPACE}/{plural}", obj)
        return created

    async def delete(self, api_version: str, plural: str, name: str) -> None:
        """DELETE an object of NAMESPACE."""
        prefix = "/api/v1" if api_version == "v1" else f"/apis/{api_version}"
        await self.request("DELETE", f"{prefix}/namespaces/{NAMESPACE}/{plural}/{name}")

    def must_get(self, resource: str, name: str) -> dict[str, Any]:
        """The stored object; fails the test when it is absent."""
        found = self.get(resource, name)
        if found is None:
            raise AssertionError(f"{resource} {name} does not exist")
        return found

    def get(self, resource: str, name: str) -> dict[str, Any] | None:
        """The stored object (``apps/v1/deployments``), None when absent or deleted."""
        key = (kmock.resource(resource), NAMESPACE, name)
        if key not in self.api.objects or self.api.objects[key].deleted:
            return None
        return dict(self.api.objects[key].raw)

    def names(self, resource: str) -> list[str]:
        """Names of the live objects of one resource."""
        wanted = kmock.resource(resource)
        return sorted(name for (res, _, name), obj in self.api.objects.items() if res == wanted and not obj.deleted)

    def uids(self, resource: str, name: str) -> set[str]:
        """The uids the object ever had: one per creation (a re-created object gets a new one)."""
        key = (kmock.resource(resource), NAMESPACE, name)
        if key not in self.api.objects:
            return set()
        return {v["metadata"]["uid"] for v in self.api.objects[key].history if v is not None}

    def requests_to(self, method: str, path_part: str) -> int:
        """How many requests of ``method`` had ``path_part`` in their path."""
        return sum(1 for r in self.api if getattr(r.method, "value", r.method) == method and path_part in r.url.path)

    async def mark_ready(self, service: str, url: str) -> None:
        """What the endpoint controller does once the pods are ready: an EndpointSlice of ``service``."""
        host, port = url.removeprefix("http://").rsplit(":", 1)
        await self.create(
            "discovery.k8s.io/v1",
            "endpointslices",
            {
                "apiVersion": "discovery.k8s.io/v1",
                "kind": "EndpointSlice",
                "metadata": {"name": f"{service}-abcde", "labels": {"kubernetes.io/service-name": service}},
                "addressType": "IPv4",
                "ports": [{"name": "http", "port": int(port), "protocol": "TCP"}],
                "endpoints": [{"addresses": [host], "conditions": {"ready": True}}],
            },
        )


async def wait_for(check: Callable[[], T], *, timeout: float = 20.0, what: str = "condition") -> T:
    """Poll ``check`` until it returns something truthy (bounded; never a fixed sleep)."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        await asyncio.sleep(0.05)


def declare_builtins(api: PatchlineKube) -> None:
    """The built-in kinds the operator and kubectl use (kmock's bundled discovery of a K3s cluster)."""
    api.resources.load_bundled()


def declare_crds(api: PatchlineKube) -> None:
    """The patchline kinds, as the API server would serve them once the CRDs are applied."""
    for path in CRDS:
        for key, info in crd_resource_info(yaml.safe_load(path.read_text())).items():
            api.resources[key] = info


@pytest.fixture
async def bare_cluster(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Cluster]:
    """The emulator with only built-in kinds, and KUBECONFIG pointing at it."""
    async with PatchlineKube() as api, kmock.Server(api) as server:
        declare_builtins(api)
        url = str(server.url).rstrip("/")
        kubeconfig = tmp_path / "kubeconfig"
        kubeconfig.write_text(
            yaml.safe_dump(
                {
                    "apiVersion": "v1",
                    "kind": "Config",
                    "clusters": [{"name": "kmock", "cluster": {"server": url}}],
                    "users": [{"name": "kmock", "user": {"token": "test-token"}}],
                    "contexts": [
                        {"name": "kmock", "context": {"cluster": "kmock", "user": "kmock", "namespace": NAMESPACE}}
                    ],
                    "current-context": "kmock",
                }
            )
        )
        monkeypatch.setenv("KUBECONFIG", str(kubeconfig))
        async with aiohttp.ClientSession() as http:
            yield Cluster(api, url, http, kubeconfig)


@pytest.fixture
async def cluster(bare_cluster: Cluster) -> Cluster:
    """The emulator with the patchline CRDs registered."""
    declare_crds(bare_cluster.api)
    return bare_cluster


@pytest.fixture
async def services(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[RunningServer]:
    """The four patchline services on a loopback port, and the operator's settings pointing at them."""
    running = await create_server(served(tmp_path))
    monkeypatch.setenv("PATCHLINE_SERVICES_ADDRESS", f"127.0.0.1:{running.port}")
    monkeypatch.setenv("PATCHLINE_STORE_URI", str(tmp_path / "store"))
    monkeypatch.setenv("PATCHLINE_OPERATOR_POLL_SECONDS", "0.1")
    yield running
    await running.stop(0)


@contextlib.asynccontextmanager
async def operator(*, liveness: str | None = None) -> AsyncIterator[threading.Thread]:
    """Kopf with patchline's handlers, embedded in a thread with its own loop (as Kopf's embedding example
    does: Kopf cancels every task of its loop when it stops, which must not hit the test's servers)."""
    stop = threading.Event()
    ready = threading.Event()

    def run() -> None:
        asyncio.run(
            kopf.operator(
                standalone=True,
                clusterwide=True,
                stop_flag=stop,
                ready_flag=ready,
                memo=kopf.Memo(),
                liveness_endpoint=liveness,
            )
        )

    thread = threading.Thread(target=run, name="kopf", daemon=True)
    thread.start()
    try:
        await asyncio.to_thread(ready.wait, 20)
        yield thread
    finally:
        stop.set()
        await asyncio.to_thread(thread.join, 30)
        if thread.is_alive():
            raise AssertionError("the operator did not stop within 30 s")
