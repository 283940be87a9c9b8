"""One manifest, three ways to run it: its settings reach the HTTP bodies unchanged, and the stage records agree.

The same BugFixer Rollout (SGLang engine with a thinking processor, non-default sampling, executor and
selection settings) runs through ``patchline run`` in process, through ``patchline run --via`` the services,
and through the operator on the emulated cluster. A recording proxy in front of the oracle keeps every
request body each way sent; the stage records (``stages/*.json`` locally, ``status.stages`` on the cluster)
are compared field by field, and so are the sample files the workflow's ``selection`` block shaped.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

from patchline.core.spec import StageStatus, parse_manifest
from patchline.gateway.thinking import sglang_logit_processor
from patchline.oracle import OracleServer
from patchline.pipeline.runner import RunnerSettings, run_manifest
from patchline.servers import RunningServer
from patchline_operator.backend import child_name
from patchline_operator.builders import headless_service_name, server_name
from tests.fixtures.lite_repos import LiteRepo, lite_sympy_repo  # noqa: F401 - fixture
from tests.fixtures.recording_proxy import RecordingProxy
from tests.integration.operator.conftest import Cluster, operator, wait_for

pytestmark = pytest.mark.integration

RO = "patchline.dev/v1alpha1/rollouts"
IR = "patchline.dev/v1alpha1/inferenceruns"
STAGES = ["gen_step1", "infer_step1", "proc_step1_gen_step2", "infer_step2", "proc_step2"]


def manifest(repo: LiteRepo) -> dict[str, Any]:
    """A BugFixer Rollout whose every body-shaping setting differs from its default."""
    return {
        "apiVersion": "patchline.dev/v1alpha1",
        "kind": "Rollout",
        "metadata": {"name": "path"},
        "spec": {
            "engine": {
                "type": "sglang",
                "modelPath": "/models/any",
                "servedModelName": "oracle",
                "thinkingProcessor": "qwen3",
            },
            "dataset": {"source": str(repo.dataset), "limit": 2},
            "repositories": {"repoRoot": str(repo.path)},
            "workflow": {
                "type": "bugfixer",
                "numWorkers": 2,
                "selection": {"strategy": "agentless-majority", "plausible": True},
            },
            "sampling": {
                "temperature": 0.3,
                "topP": 0.8,
                "maxTokens": 777,
                "enableThinking": True,
                "thinkingBudget": 99,
            },
            "executor": {"concurrency": 3, "timeoutSeconds": 42, "maxAttempts": 2, "backoffBaseSeconds": 0.1},
        },
    }


def check_bodies(bodies: list[dict[str, Any]]) -> list[str]:
    """Every body carries the manifest's settings, SGLang's thinking keys included; returns them canonical."""
    assert len(bodies) == 4  # two instances, two steps
    for body in bodies:
        assert body["model"] == "oracle"
        assert (body["max_tokens"], body["temperature"], body["top_p"]) == (777, 0.3, 0.8)
        assert body["enable_thinking"] is True and body["thinking_budget"] == 99
        assert body["chat_template_kwargs"] == {"enable_thinking": True, "thinking_budget": 99}
        assert body["custom_params"] == {"thinking_budget": 99}
        assert body["custom_logit_processor"] == sglang_logit_processor("qwen3")  # type: ignore[arg-type]
    return sorted(json.dumps(b, sort_keys=True) for b in bodies)


def records(folder: Path) -> list[dict[str, Any]]:
    """The comparable part of the local stage records, in stage order."""
    found = {p.stem: StageStatus.model_validate_json(p.read_text()) for p in (folder / "stages").glob("*.json")}
    return [comparable(found[name]) for name in STAGES]


def comparable(record: StageStatus) -> dict[str, Any]:
    counts = record.counts
    return {
        "name": record.name,
        "operation": record.operation,
        "phase": record.phase.value,
        "counts": (counts.total, counts.succeeded, counts.failed, counts.pending),
    }


async def test_settings_reach_the_bodies_the_same_way_and_records_agree(
    cluster: Cluster,
    services: RunningServer,
    tmp_path: Path,
    lite_sympy_repo: LiteRepo,  # noqa: F811
) -> None:
    run = parse_manifest(manifest(lite_sympy_repo))
    async with OracleServer(lite_sympy_repo.dataset) as oracle:
        with RecordingProxy(oracle.base_url) as proxy:
            local = RunnerSettings(base=str(tmp_path / "local"), endpoint_override=proxy.base_url)
            await run_manifest(run, local)
            in_process = check_bodies(proxy.taken())
            via = RunnerSettings(
                base=str(tmp_path / "via"), endpoint_override=proxy.base_url, via=f"127.0.0.1:{services.port}"
            )
            await run_manifest(run, via)
            through_services = check_bodies(proxy.taken())
            async with operator():
                await cluster.create("patchline.dev/v1alpha1", "rollouts", manifest(lite_sympy_repo))
                await wait_for(lambda: cluster.get("apps/v1/deployments", server_name("path")), what="the server")
                await cluster.mark_ready(headless_service_name("path"), proxy.base_url)
                await wait_for(
                    lambda: (cluster.get(RO, "path") or {}).get("status", {}).get("phase") in ("Succeeded", "Failed"),
                    timeout=60,
                    what="the Rollout to finish",
                )
            on_cluster = check_bodies(proxy.taken())
    assert in_process == through_services == on_cluster

    # The executor settings went to the gateway whole: the child InferenceRun carries the manifest's section.
    child = cluster.must_get(IR, child_name("path", "infer_step1"))
    assert child["spec"]["executor"]["timeoutSeconds"] == 42 and child["spec"]["executor"]["concurrency"] == 3
    assert child["spec"]["engine"]["thinkingProcessor"] == "qwen3" and child["spec"]["engine"]["flavor"] == "sglang"
    manifest_json = json.loads((tmp_path / "local" / "runs" / "path" / "manifest.json").read_text())
    infer = next(s for s in manifest_json["stages"] if s["name"] == "infer_step1")
    assert infer["settings"]["executor"]["timeoutSeconds"] == 42

    # One driver, one set of rules: the stage records of the three ways agree.
    status = cluster.must_get(RO, "path")["status"]
    assert status["phase"] == "Succeeded", status.get("message")
    cluster_records = [comparable(StageStatus.model_validate(s)) for s in status["stages"]]
    local_records = records(tmp_path / "local" / "runs" / "path")
    assert [r["name"] for r in cluster_records] == STAGES
    assert local_records == records(tmp_path / "via" / "runs" / "path") == cluster_records
    assert all(r["phase"] == "Succeeded" for r in local_records)

    # The selection block reached the workflow each way: the same table and choices, by the manifest's strategy.
    roots = [
        tmp_path / "local" / "runs" / "path",
        tmp_path / "via" / "runs" / "path",
        tmp_path / "store" / "runs" / "path",
    ]
    selections = [(root / "selection.jsonl").read_text() for root in roots]
    assert selections[0] == selections[1] == selections[2]
    assert {json.loads(line)["strategy"] for line in selections[0].splitlines()} == {"agentless-majority"}
    tables = [
        [
            (r["instance_id"], r["sample"], r["valid"], r["normalized_hash"])
            for r in map(json.loads, (root / "samples.jsonl").read_text().splitlines())
        ]
        for root in roots
    ]
    assert tables[0] == tables[1] == tables[2] and all(valid for _, _, valid, _ in tables[0])
    await asyncio.sleep(0)
