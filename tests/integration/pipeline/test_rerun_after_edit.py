"""A rerun of an edited manifest: stages done with other settings run again, how a stage runs changes nothing.

The demo's BugFixer Rollout on its three real SWE-bench Lite instances, answered by the oracle, in process.
"""

from __future__ import annotations

import asyncio
import copy
import json
from importlib import resources
from pathlib import Path
from typing import Any

import pytest
import yaml

from patchline.core.spec import parse_manifest
from patchline.pipeline.operations import StageFailedError
from patchline.pipeline.runner import RunnerSettings, RunReport, run_manifest
from tests.fixtures.demo_lite import build_lite_data

pytestmark = pytest.mark.integration

STAGES = {"gen_step1", "infer_step1", "proc_step1_gen_step2", "infer_step2", "proc_step2"}


def _run(manifest: dict[str, Any], base: Path) -> RunReport:
    return asyncio.run(run_manifest(parse_manifest(manifest, source="test"), RunnerSettings(base=str(base))))


def _predicted(run_root: Path) -> list[str]:
    return sorted(json.loads(line)["instance_id"] for line in (run_root / "predictions.jsonl").read_text().splitlines())


def test_an_edited_manifest_reruns_what_its_edit_changes(tmp_path: Path) -> None:
    lite = build_lite_data(tmp_path / "lite")
    manifest: dict[str, Any] = yaml.safe_load(resources.files("patchline.demo").joinpath("rollout.yaml").read_text())
    spec = manifest["spec"]
    spec["dataset"].update(source=str(lite.dataset), limit=2)
    spec["repositories"]["structureDir"] = str(lite.structures)
    spec["output"] = str(tmp_path / "run")

    first = _run(manifest, tmp_path)
    assert not first.reused and len(_predicted(tmp_path / "run")) == 2

    faster = copy.deepcopy(manifest)  # how requests are sent and how many workers process: not a change
    faster["spec"]["executor"]["concurrency"] = 32
    faster["spec"]["workflow"]["numWorkers"] = 2
    assert _run(faster, tmp_path).reused == STAGES

    every = copy.deepcopy(faster)  # one more instance: every stage runs again and resumes
    del every["spec"]["dataset"]["limit"]
    extended = _run(every, tmp_path)
    assert extended.reused == set() and _predicted(tmp_path / "run") == sorted(lite.rows)
    assert _run(every, tmp_path).reused == STAGES  # the records now hold the new settings

    longer = copy.deepcopy(every)  # other requests: the answers to the old ones are not taken for theirs
    longer["spec"]["sampling"]["maxTokens"] = 1024
    with pytest.raises(
        StageFailedError,
        match=r"^stage infer_step1: .*batch_output_step1.jsonl: 3 answer\(s\) there "
        r"were made for other requests .*--restart starts the output over",
    ):
        _run(longer, tmp_path)
    bodies = [
        json.loads(line)["body"] for line in (tmp_path / "run/batch_requests_step1.jsonl").read_text().splitlines()
    ]
    assert {body["max_tokens"] for body in bodies} == {1024}

    longer["spec"]["onMismatch"] = "restart"
    restarted = _run(longer, tmp_path)
    assert restarted.reused == {"gen_step1"} and _predicted(tmp_path / "run") == sorted(lite.rows)
    assert list((tmp_path / "run").glob("batch_output_step1.jsonl.replaced-*"))  # the old answers kept aside
