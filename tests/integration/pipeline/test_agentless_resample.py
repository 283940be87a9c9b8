"""An Agentless Rollout that resamples: rounds of stages while instances have no valid sample, one sample table.

A proxy in front of the oracle gives each prompt's first two requests an answer without edits, so both planned
samples of each instance are invalid; ``process`` writes a resampling round, ``infer_resample_1`` answers it
into the same response file and ``process_resample_1`` ends with valid samples chosen. Run in process and
through the services, with the same records; a user's selection hook runs in process only.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from patchline.core.spec import Rollout, StageStatus, parse_manifest
from patchline.oracle import OracleServer
from patchline.pipeline.operations import StageFailedError
from patchline.pipeline.runner import RunnerSettings, run_manifest
from patchline.servers import create_server
from tests.fixtures.recording_proxy import RecordingProxy
from tests.fixtures.serving import served
from tests.unit.workflows.agentless.helpers import GOLD_INSTANCES, Scenario, build_scenario

pytestmark = pytest.mark.integration

STAGES = ["build_requests", "infer", "process", "infer_resample_1", "process_resample_1"]


def _manifest(scenario: Scenario, **selection: Any) -> Rollout:
    run = parse_manifest(
        {
            "apiVersion": "patchline.dev/v1alpha1",
            "kind": "Rollout",
            "metadata": {"name": "resample"},
            "spec": {
                "engine": {"type": "endpoint", "urls": ["http://127.0.0.1:9"], "model": "oracle"},
                "dataset": {"source": str(scenario.dataset)},
                "repositories": {"structureDir": str(scenario.structures)},
                "workflow": {
                    "type": "agentless",
                    "locFile": str(scenario.loc_file),
                    "topN": 0,
                    "selection": {"resampleInvalid": 2, **selection},
                },
                "sampling": {"samples": 2, "temperature": 0.8},
                "executor": {"concurrency": 2, "maxAttempts": 1},
            },
        }
    )
    assert isinstance(run, Rollout)
    return run


def _records(root: Path) -> list[tuple[str, str, int]]:
    found = {p.stem: StageStatus.model_validate_json(p.read_text()) for p in (root / "stages").glob("*.json")}
    return [(name, found[name].phase.value, found[name].counts.pending) for name in STAGES if name in found]


def _jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def _check_run(root: Path) -> None:
    assert _records(root) == [
        ("build_requests", "Succeeded", 0),
        ("infer", "Succeeded", 0),
        ("process", "Succeeded", 2),  # no patch yet, but a round of 2 requests: the stage goes on
        ("infer_resample_1", "Succeeded", 0),
        ("process_resample_1", "Succeeded", 0),
    ]
    rows = _jsonl(root / "samples.jsonl")
    assert sorted((r["instance_id"], r["sample"], r["round"], r["valid"]) for r in rows) == sorted(
        (iid, i, 1 if i == 2 else 0, i == 2) for iid in GOLD_INSTANCES for i in range(3)
    )
    assert all(r["chosen_sample"] == 2 for r in _jsonl(root / "selection.jsonl"))
    assert all(p["model_patch"].startswith("diff --git") for p in _jsonl(root / "predictions.jsonl"))
    assert not (root / "requests-resample-2.jsonl").exists()


async def test_resampling_rounds_in_process_and_through_the_services(tmp_path: Path, shared_data: Path) -> None:
    scenario = build_scenario(
        tmp_path / "data", shared_data / "swebench_verified" / "swe_bench_verified.jsonl", git=False
    )
    services = await create_server(served(tmp_path))
    try:
        async with OracleServer(scenario.dataset) as oracle:
            for way, via in (("local", None), ("via", f"127.0.0.1:{services.port}")):
                with RecordingProxy(oracle.base_url, unusable_first=2) as proxy:
                    settings = RunnerSettings(base=str(tmp_path / way), endpoint_override=proxy.base_url, via=via)
                    await run_manifest(_manifest(scenario, plausible=True), settings)
                    assert len(proxy.taken()) == 6  # 2 planned + 1 resampled sample per instance
                _check_run(tmp_path / way / "runs" / "resample")
    finally:
        await services.stop(0)


async def test_a_selection_hook_runs_in_process_and_is_refused_by_the_services(
    tmp_path: Path, shared_data: Path
) -> None:
    scenario = build_scenario(
        tmp_path / "data", shared_data / "swebench_verified" / "swe_bench_verified.jsonl", git=False
    )
    hook = {"strategy": "tests.integration.pipeline.selection_hooks:last_sample"}
    services = await create_server(served(tmp_path))
    try:
        async with OracleServer(scenario.dataset) as oracle:
            local = RunnerSettings(base=str(tmp_path / "local"), endpoint_override=oracle.base_url)
            await run_manifest(_manifest(scenario, **hook), local)
            selection = _jsonl(tmp_path / "local" / "runs" / "resample" / "selection.jsonl")
            assert {(r["strategy"], r["chosen_sample"]) for r in selection} == {(hook["strategy"], 1)}
            via = RunnerSettings(
                base=str(tmp_path / "via"), endpoint_override=oracle.base_url, via=f"127.0.0.1:{services.port}"
            )
            with pytest.raises(StageFailedError, match="never import code a caller names"):
                await run_manifest(_manifest(scenario, **hook), via)
    finally:
        await services.stop(0)
