"""A BugFixer Rollout through the operator: every stage on the real services, inference as child InferenceRuns,
one SGLang server (played by the oracle on loopback), on real SWE-bench Lite instances materialised from sympy."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from patchline.oracle import OracleServer
from patchline.servers import RunningServer
from patchline_operator.builders import headless_service_name, server_name
from patchline_operator.rollout import child_name
from tests.fixtures.lite_repos import LiteRepo, lite_sympy_repo  # noqa: F401 - fixture
from tests.integration.operator.conftest import NAMESPACE, Cluster, operator, wait_for

pytestmark = pytest.mark.integration

RO = "patchline.dev/v1alpha1/rollouts"
IR = "patchline.dev/v1alpha1/inferenceruns"
STAGES = ["gen_step1", "infer_step1", "proc_step1_gen_step2", "infer_step2", "proc_step2"]


def bugfixer(name: str, repo: LiteRepo) -> dict[str, Any]:
    """A BugFixer Rollout on two instances, with an SGLang engine whose model the oracle answers for."""
    return {
        "apiVersion": "patchline.dev/v1alpha1",
        "kind": "Rollout",
        "metadata": {"name": name},
        "spec": {
            "engine": {"type": "sglang", "modelPath": "/models/any", "servedModelName": "oracle", "dpSize": 2},
            "dataset": {"source": str(repo.dataset), "limit": 2},
            "repositories": {"repoRoot": str(repo.path)},
            "workflow": {"type": "bugfixer", "numWorkers": 2},
            "sampling": {"temperature": 0.0, "maxTokens": 4096},
            "executor": {"concurrency": 4, "timeoutSeconds": 30, "maxAttempts": 2},
        },
    }


def status_of(cluster: Cluster, resource: str, name: str) -> dict[str, Any]:
    """The object's status (empty before the operator wrote one)."""
    status: dict[str, Any] = (cluster.get(resource, name) or {}).get("status") or {}
    return status


async def test_bugfixer_rollout_runs_all_stages_with_one_server(
    cluster: Cluster,
    services: RunningServer,
    tmp_path: Path,
    lite_sympy_repo: LiteRepo,  # noqa: F811
) -> None:
    async with OracleServer(lite_sympy_repo.dataset) as oracle:
        oracle_url = oracle.base_url
        async with operator():
            created = await cluster.create("patchline.dev/v1alpha1", "rollouts", bugfixer("fix", lite_sympy_repo))
            await wait_for(lambda: cluster.get("apps/v1/deployments", server_name("fix")), what="the Deployment")
            await cluster.mark_ready(headless_service_name("fix"), oracle_url)
            await wait_for(lambda: status_of(cluster, RO, "fix").get("phase") in ("Succeeded", "Failed"), timeout=60)
            await wait_for(lambda: cluster.get("apps/v1/deployments", server_name("fix")) is None, what="no server")
    status = status_of(cluster, RO, "fix")
    assert status["phase"] == "Succeeded", status.get("message")
    stages = status["stages"]
    assert [s["name"] for s in stages] == STAGES
    assert all(s["phase"] == "Succeeded" and s["startedAt"] and s["finishedAt"] for s in stages)
    by_name = {s["name"]: s for s in stages}
    assert by_name["gen_step1"]["counts"]["succeeded"] == 2
    assert by_name["infer_step1"]["counts"]["succeeded"] == 2 and by_name["infer_step1"]["counts"]["tokens"] > 0
    run_root = tmp_path / "store" / "runs" / "fix"
    assert by_name["infer_step2"]["artifacts"]["responses"] == str(run_root / "batch_output_step2.jsonl")
    assert status["currentStage"] == "" and status["outputUri"] == str(run_root)
    # The inference stages ran as child InferenceRuns owned by the Rollout, on the one server's pods.
    for stage in ("infer_step1", "infer_step2"):
        child = cluster.must_get(IR, child_name("fix", stage))
        assert child["metadata"]["ownerReferences"][0]["uid"] == created["metadata"]["uid"]
        assert child["spec"]["engine"] == {
            "type": "endpoint",
            "urls": [oracle_url],
            "model": "oracle",
            "flavor": "sglang",
        }
        assert child["status"]["phase"] == "Succeeded"
    assert len(cluster.uids("apps/v1/deployments", server_name("fix"))) == 1
    assert cluster.names("apps/v1/deployments") == []
    predictions = [json.loads(x) for x in (run_root / "predictions.jsonl").read_text().splitlines()]
    assert len(predictions) == 2 and all(p["model_patch"].startswith("diff --git") for p in predictions)


async def test_deleting_a_rollout_removes_its_children_and_server(
    cluster: Cluster,
    services: RunningServer,
    lite_sympy_repo: LiteRepo,  # noqa: F811
) -> None:
    async with OracleServer(lite_sympy_repo.dataset) as oracle:
        oracle_url = oracle.base_url
        async with operator():
            await cluster.create("patchline.dev/v1alpha1", "rollouts", bugfixer("gone", lite_sympy_repo))
            await wait_for(lambda: cluster.get("apps/v1/deployments", server_name("gone")), what="the Deployment")
            await cluster.mark_ready(headless_service_name("gone"), oracle_url)
            await wait_for(lambda: cluster.get(IR, child_name("gone", "infer_step1")), what="the first child run")
            await cluster.delete("patchline.dev/v1alpha1", "rollouts", "gone")
            await wait_for(lambda: cluster.get(RO, "gone") is None, what="the Rollout gone")
            assert cluster.get("apps/v1/deployments", server_name("gone")) is None
            assert cluster.get("v1/services", server_name("gone")) is None
            assert cluster.names(IR) == []


async def test_a_rollout_edited_mid_run_reruns_the_done_stage_with_the_new_settings(
    cluster: Cluster,
    services: RunningServer,
    tmp_path: Path,
    lite_sympy_repo: LiteRepo,  # noqa: F811
) -> None:
    def stage(name: str) -> dict[str, Any]:
        return next((s for s in status_of(cluster, RO, "edit").get("stages", []) if s["name"] == name), {})

    async with OracleServer(lite_sympy_repo.dataset) as oracle, operator():
        await cluster.create("patchline.dev/v1alpha1", "rollouts", bugfixer("edit", lite_sympy_repo))
        await wait_for(lambda: stage("gen_step1").get("phase") == "Succeeded", what="the first stage done")
        before = stage("gen_step1")
        path = f"/apis/patchline.dev/v1alpha1/namespaces/{NAMESPACE}/rollouts/edit"
        patch = {"spec": {"sampling": {"temperature": 0.0, "maxTokens": 1024}}}
        await cluster.request("PATCH", path, patch, content_type="application/merge-patch+json")
        await wait_for(
            lambda: stage("gen_step1").get("settingsDigest") not in (None, before["settingsDigest"]),
            what="the first stage started again with the new settings",
        )
        await cluster.mark_ready(headless_service_name("edit"), oracle.base_url)
        await wait_for(lambda: status_of(cluster, RO, "edit").get("phase") in ("Succeeded", "Failed"), timeout=60)
    status = status_of(cluster, RO, "edit")
    assert status["phase"] == "Succeeded", status.get("message")
    assert stage("gen_step1")["startedAt"] != before["startedAt"]
    requests = (tmp_path / "store" / "runs" / "edit" / "batch_requests_step1.jsonl").read_text().splitlines()
    assert {json.loads(line)["body"]["max_tokens"] for line in requests} == {1024}
