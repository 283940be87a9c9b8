"""``patchline run`` of a manifest with ``engine: llamacpp``: real Agentless stages with a real model, in process
and through ``patchline serve`` (``--via``), on a SWE-bench Lite instance with its localisation from the shared data.

The manifest is ``k8s/examples/agentless-llamacpp-rollout.yaml`` with the data paths filled in. Whatever the
135 M model writes, the run must finish with every artifact of the Agentless layout and a verdict per sample.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from patchline.core.spec import parse_manifest
from patchline.pipeline.runner import RunnerSettings, RunReport, run_manifest
from patchline.workflows.agentless.locations import edit_locs_from_raw_output
from tests.fixtures.demo_lite import LiteData, build_lite_data
from tests.fixtures.serve_process import ServeProcess

pytestmark = [pytest.mark.real_model, pytest.mark.e2e]

EXAMPLE = Path(__file__).resolve().parents[2] / "k8s" / "examples" / "agentless-llamacpp-rollout.yaml"
INSTANCE = "psf__requests-2674"
STAGES = ["build_requests", "infer", "process"]
SAMPLES = 2


@pytest.fixture(scope="module")
def lite(tmp_path_factory: pytest.TempPathFactory) -> LiteData:
    return build_lite_data(tmp_path_factory.mktemp("lite"))


@pytest.fixture(scope="module")
def loc_file(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The instance's real localisation (found files, edit locations from the raw localisation answer)."""
    source = shared_data / "locagent_swe_reflexion" / "loc_outputs_mrr_deepseekv3.jsonl"
    record = next(r for r in map(json.loads, source.read_text().splitlines()) if r["instance_id"] == INSTANCE)
    raw = record["raw_output_loc"] if isinstance(record["raw_output_loc"], list) else [record["raw_output_loc"]]
    loc = {
        "instance_id": INSTANCE,
        "found_files": record["found_files"],
        "found_edit_locs": edit_locs_from_raw_output(raw, record["found_files"]),
    }
    path = tmp_path_factory.mktemp("loc") / "loc_outputs.jsonl"
    path.write_text(json.dumps(loc) + "\n")
    return path


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[ServeProcess]:
    with ServeProcess(tmp_path / "serve") as process:
        yield process


def _manifest(lite: LiteData, loc_file: Path, output: Path) -> dict[str, Any]:
    manifest: dict[str, Any] = yaml.safe_load(EXAMPLE.read_text())
    spec = manifest["spec"]
    assert spec["engine"]["type"] == "llamacpp" and spec["dataset"]["instances"] == [INSTANCE]
    spec["engine"].update(threads=1, slots=2, ctxPerSlot=2048)  # two replicas on two shared cores
    spec["dataset"]["source"] = str(lite.dataset)
    spec["repositories"]["structureDir"] = str(lite.structures)
    spec["workflow"]["locFile"] = str(loc_file)
    spec["sampling"].update(samples=SAMPLES, maxTokens=32)
    spec["output"] = str(output)
    return manifest


def _run(manifest: dict[str, Any], settings: RunnerSettings) -> RunReport:
    return asyncio.run(run_manifest(parse_manifest(manifest, source=str(EXAMPLE)), settings))


def _jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def _check_run(root: Path, report: RunReport) -> None:
    assert [r.name for r in report.stages] == STAGES and not report.reused
    requests = _jsonl(root / "requests-repair.jsonl")
    ids = [f"{INSTANCE}|{k}" for k in range(SAMPLES)]
    assert [r["custom_id"] for r in requests] == ids
    assert {r["body"]["model"] for r in requests} == {"SmolLM2-135M-Instruct"}
    responses = _jsonl(root / "responses-repair.jsonl")
    assert sorted(r["custom_id"] for r in responses) == ids
    for line in responses:
        usage = line["response"]["body"]["usage"]
        assert line["response"]["status_code"] == 200 and usage["completion_tokens"] > 0
        assert line["patchline"]["cached_tokens"] >= 0
    infer = next(r for r in report.stages if r.name == "infer")
    assert infer.counts.succeeded == SAMPLES
    for k in range(SAMPLES):  # one processed record per sample, each with a verdict
        (record,) = _jsonl(root / f"output_{k}_processed.jsonl")
        assert record["instance_id"] == INSTANCE and record["status"]
    (prediction,) = _jsonl(root / "predictions.jsonl")
    assert prediction["instance_id"] == INSTANCE and isinstance(prediction["model_patch"], str)
    manifest = json.loads((root / "manifest.json").read_text())
    assert "--slots" in json.dumps(manifest)  # the server arguments are recorded with the run
    assert sorted(p.name for p in (root / "stages").iterdir()) == sorted(f"{s}.json" for s in STAGES)


def test_agentless_with_a_real_model_in_process(lite: LiteData, loc_file: Path, tmp_path: Path) -> None:
    report = _run(_manifest(lite, loc_file, tmp_path / "run"), RunnerSettings(base=str(tmp_path)))
    _check_run(tmp_path / "run", report)
    again = _run(_manifest(lite, loc_file, tmp_path / "run"), RunnerSettings(base=str(tmp_path)))
    assert again.reused == set(STAGES)  # resumed: nothing redone


def test_agentless_with_a_real_model_through_serve(
    lite: LiteData, loc_file: Path, tmp_path: Path, serve: ServeProcess
) -> None:
    report = _run(_manifest(lite, loc_file, tmp_path / "run"), RunnerSettings(base=str(tmp_path), via=serve.target))
    _check_run(tmp_path / "run", report)
