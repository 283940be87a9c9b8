"""``kubectl apply`` against the emulator: the CRDs, then the example manifests, and the operator reacts to them."""

from __future__ import annotations

import asyncio
import os
import shutil
from pathlib import Path

import pytest
import yaml

from patchline.servers import RunningServer
from patchline_operator.builders import GPU_RESOURCE, headless_service_name, server_name
from tests.fixtures.fault_server import FaultServer, write_requests
from tests.integration.operator.conftest import REPO, Cluster, operator, wait_for

pytestmark = pytest.mark.integration

EXAMPLES = REPO / "k8s" / "examples"
KUBECTL = shutil.which("kubectl")


async def kubectl(cluster: Cluster, tmp_path: Path, *args: str) -> str:
    """Run kubectl against the emulator (its own cache folder); fail the test on a non-zero exit."""
    if KUBECTL is None:
        pytest.fail("kubectl is not installed (it is part of this project's test environment)")
    env = {
        **os.environ,
        "KUBECONFIG": str(cluster.kubeconfig),
        "KUBECACHEDIR": str(tmp_path / "kubecache"),
        "HOME": str(tmp_path),
    }
    process = await asyncio.create_subprocess_exec(
        KUBECTL, *args, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    stdout, stderr = await asyncio.wait_for(process.communicate(), timeout=60)
    assert process.returncode == 0, f"kubectl {' '.join(args)}: {stderr.decode()}"
    return stdout.decode()


async def test_kubectl_apply_crds_then_examples(bare_cluster: Cluster, services: RunningServer, tmp_path: Path) -> None:
    cluster = bare_cluster
    out = await kubectl(cluster, tmp_path, "apply", "--validate=false", "-f", str(REPO / "k8s" / "crds"))
    assert "customresourcedefinition.apiextensions.k8s.io/inferenceruns.patchline.dev created" in out
    assert "customresourcedefinition.apiextensions.k8s.io/rollouts.patchline.dev created" in out
    example_file = "inferencerun.yaml"
    example = yaml.safe_load((EXAMPLES / example_file).read_text())
    name, engine = example["metadata"]["name"], example["spec"]["engine"]
    store = tmp_path / "store"
    (store / example["spec"]["input"]).parent.mkdir(parents=True)
    write_requests(store / example["spec"]["input"], [f"q{i}" for i in range(6)])
    with FaultServer() as model:
        async with operator():
            out = await kubectl(
                cluster, tmp_path, "apply", "--validate=false", "-f", str(EXAMPLES / "inferencerun.yaml")
            )
            assert f"inferencerun.patchline.dev/{name} created" in out
            await wait_for(lambda: cluster.get("apps/v1/deployments", server_name(name)), what="the Deployment")
            deployment = cluster.must_get("apps/v1/deployments", server_name(name))
            container = deployment["spec"]["template"]["spec"]["containers"][0]
            gpus = str(engine["tpSize"] * engine["dpSize"])
            assert container["resources"]["limits"][GPU_RESOURCE] == gpus
            assert deployment["metadata"]["ownerReferences"][0]["name"] == name
            await cluster.mark_ready(headless_service_name(name), model.base_url)
            ir = "patchline.dev/v1alpha1/inferenceruns"
            await wait_for(
                lambda: ((cluster.get(ir, name) or {}).get("status") or {}).get("phase") == "Succeeded",
                what="phase Succeeded",
            )
            await wait_for(lambda: cluster.get("apps/v1/deployments", server_name(name)) is None, what="no server")
        assert {a.model for a in model.attempts()} == {engine["servedModelName"]}
    assert len((store / example["spec"]["output"]).read_text().splitlines()) == 6
    # Every other example is accepted too (the operator is stopped: nothing runs them).
    for path in sorted(EXAMPLES.glob("*-rollout.yaml")):
        manifest = yaml.safe_load(path.read_text())
        out = await kubectl(cluster, tmp_path, "apply", "--validate=false", "-f", str(path))
        assert f"rollout.patchline.dev/{manifest['metadata']['name']} created" in out
        assert cluster.get("patchline.dev/v1alpha1/rollouts", manifest["metadata"]["name"]) is not None
    # The short names work, and the status reads back through kubectl (no printer columns: kmock does not
    # render server-side Tables, so kubectl prints NAME and AGE only).
    assert name in await kubectl(cluster, tmp_path, "get", "ir")
    assert "bugfixer" in await kubectl(cluster, tmp_path, "get", "ro")
    phase = await kubectl(
        cluster, tmp_path, "get", "ir", name, "-o", "jsonpath={.status.phase} {.status.progress.summary}"
    )
    assert phase == "Succeeded 6/6"
