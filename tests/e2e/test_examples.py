"""Every manifest in ``k8s/examples/`` runs locally against the oracle server and yields its outputs.

Only the data paths of each example change: the dataset becomes the demo's three SWE-bench Lite instances
(or the real EditBench histories), the structure files are built from the released code bases on PyPI,
Agentless gets an "oracle loc" file (the files each gold patch touches, whole), and the output goes to a
temporary folder. The engine stays as written and the runner sends inference to the oracle through the
endpoint override (the one-line override of ``patchline run --endpoint``); EditBench, whose gold answers
only exist once its first stage has built the prompts, uses the oracle engine.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from unidiff.patch import PatchSet

from patchline.core.spec import parse_manifest
from patchline.demo import DEMO_RELEASES
from patchline.oracle import OracleServer
from patchline.pipeline.jobs import JobPhase
from patchline.pipeline.runner import RunnerSettings, RunReport, run_manifest
from patchline.servers import create_server
from tests.fixtures.demo_lite import LiteData, build_lite_data, git_apply_check, touched_files
from tests.fixtures.serving import served
from tests.unit.workflows.editbench.helpers import SNAPSHOTS, load_records, make_repository

pytestmark = pytest.mark.e2e

EXAMPLES = Path(__file__).resolve().parents[2] / "k8s" / "examples"


@pytest.fixture(scope="module")
def lite(tmp_path_factory: pytest.TempPathFactory) -> LiteData:
    data = build_lite_data(tmp_path_factory.mktemp("lite"))
    assert sorted(data.rows) == sorted(DEMO_RELEASES)
    return data


@pytest.fixture(scope="module")
def oracle(lite: LiteData) -> Iterator[str]:
    with OracleServer(lite.dataset) as server:
        yield server.base_url


def _example(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((EXAMPLES / name).read_text(encoding="utf-8"))
    return loaded


def _with_lite_data(manifest: dict[str, Any], lite: LiteData, output: Path) -> dict[str, Any]:
    """The SWE-bench example with the demo's data: dataset, instance selection, structure files, output."""
    spec = manifest["spec"]
    spec["dataset"]["source"] = str(lite.dataset)
    spec["dataset"]["instances"] = sorted(lite.rows)  # the examples name Lite instances without a local code base
    spec["repositories"]["structureDir"] = str(lite.structures)
    spec["output"] = str(output)
    return manifest


def _run(manifest: dict[str, Any], settings: RunnerSettings) -> RunReport:
    run = parse_manifest(manifest, source="k8s/examples")
    return asyncio.run(run_manifest(run, settings))


def _jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def _check_predictions(path: Path, lite: LiteData) -> dict[str, list[str]]:
    """Every prediction's patch applies to its release; returns instance id -> its patches."""
    patches: dict[str, list[str]] = defaultdict(list)
    for prediction in _jsonl(path):
        iid, patch = prediction["instance_id"], prediction["model_patch"]
        assert patch.startswith("diff --git a/"), (iid, patch[:200])
        assert git_apply_check(lite.repos[iid], patch) == "", iid
        assert set(touched_files(patch)) == set(touched_files(lite.rows[iid]["patch"]))
        patches[iid].append(patch)
    assert sorted(patches) == sorted(lite.rows)
    return patches


def test_agentless_repair_example(lite: LiteData, oracle: str, tmp_path: Path) -> None:
    manifest = _with_lite_data(_example("agentless-repair-rollout.yaml"), lite, tmp_path / "run")
    manifest["spec"]["workflow"]["locFile"] = str(lite.loc_file)
    report = _run(manifest, RunnerSettings(base=str(tmp_path), endpoint_override=oracle))
    assert [r.name for r in report.stages] == ["build_requests", "infer", "process"]
    requests = _jsonl(tmp_path / "run" / "requests-repair.jsonl")
    samples = manifest["spec"]["sampling"]["samples"] - 1  # skipGreedy leaves out sample 0
    assert len(requests) == len(lite.rows) * samples
    assert {r["body"]["model"] for r in requests} == {"qwen3-32b"}
    patches = _check_predictions(tmp_path / "run" / "predictions.jsonl", lite)
    assert all(len(p) == 1 for p in patches.values())  # SWE-bench predictions: one per instance


def test_bugfixer_example(lite: LiteData, oracle: str, tmp_path: Path) -> None:
    manifest = _with_lite_data(_example("bugfixer-rollout.yaml"), lite, tmp_path / "run")
    report = _run(manifest, RunnerSettings(base=str(tmp_path), endpoint_override=oracle))
    assert [r.name for r in report.stages] == [
        "gen_step1",
        "infer_step1",
        "proc_step1_gen_step2",
        "infer_step2",
        "proc_step2",
    ]
    step2 = _jsonl(tmp_path / "run" / "batch_output_step2.jsonl")
    assert len(step2) == len(lite.rows) * manifest["spec"]["sampling"]["samples"]
    _check_predictions(tmp_path / "run" / "predictions.jsonl", lite)


def test_testwriter_example(lite: LiteData, oracle: str, tmp_path: Path) -> None:
    manifest = _with_lite_data(_example("testwriter-rollout.yaml"), lite, tmp_path / "run")
    _run(manifest, RunnerSettings(base=str(tmp_path), endpoint_override=oracle))
    # Step 2 shows a test file of the code base; requests 2.10.0's sdist ships none, so that instance is a
    # recorded per-item failure, and the others get their reproduction tests.
    with_tests = {
        iid
        for iid, row in lite.rows.items()
        if any((lite.repos[iid] / p).is_file() for p in touched_files(row["test_patch"]))
    }
    assert with_tests == {"pallets__flask-4045", "psf__requests-2674"}
    failures = _jsonl(tmp_path / "run" / "failures.jsonl")
    assert {(f["custom_id"].split("__pass")[0], f["reason"]) for f in failures} == {
        ("psf__requests-3362", "no_test_files_found")
    }
    records = _jsonl(tmp_path / "run" / "output_0_processed_reproduction_test.jsonl")
    assert sorted(r["instance_id"] for r in records) == sorted(with_tests)
    for record in records:
        patch = record["test_patch"]
        (added,) = PatchSet(patch)
        assert added.is_added_file and added.path == "reproduce_bug.py", patch[:300]
        assert record["test_func_name"] and f"def {record['test_func_name']}" in patch
        assert git_apply_check(lite.repos[record["instance_id"]], patch) == ""


def _editbench_project(shared_data: Path, root: Path) -> tuple[Path, dict[str, dict[str, Any]]]:
    """The real histories as one bench file, each repository a git repo below ``root/repos`` at base_commit.

    As in the EditBench helper's own tests: the repository holds the record's original files, plus a
    vendored package so BM25 has a corpus to rank beyond them.
    """
    import click

    extra = {f"vendor/click/{p.name}": p.read_text(encoding="utf-8") for p in Path(click.__file__).parent.glob("*.py")}
    lines = []
    for record in load_records(shared_data, SNAPSHOTS):
        owner, name = record["repo"].split("/")
        # One repository per owner__name (where the workflow looks); each record's files are one commit of it.
        commit = make_repository(root / "repos" / f"{owner}__{name}", record, extra)
        lines.append({**record, "base_commit": commit, "title_mes": f"Work on {record['instance_id']}"})
    bench = root / "bench" / "all-task-instances.jsonl"
    bench.parent.mkdir(parents=True)
    bench.write_text("".join(json.dumps(line) + "\n" for line in lines), encoding="utf-8")
    return bench, {line["instance_id"]: line for line in lines}


def _editbench_manifest(shared_data: Path, tmp_path: Path) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    bench, lines = _editbench_project(shared_data, tmp_path)
    manifest = _example("editbench-rollout.yaml")
    spec = manifest["spec"]
    # The gold answers are the infbench the first stage writes, so the oracle engine (started after it) answers.
    spec["engine"] = {"type": "oracle", "model": spec["engine"]["servedModelName"]}
    spec["dataset"]["source"] = str(bench)
    spec["repositories"]["repoRoot"] = str(tmp_path / "repos")
    spec["output"] = str(tmp_path / "run")
    return manifest, lines


def _check_editbench(manifest: dict[str, Any], lines: dict[str, dict[str, Any]], tmp_path: Path) -> None:
    model = manifest["spec"]["engine"]["model"]
    run_id = "0.2_bm25_5"
    infbench = _jsonl(tmp_path / "run" / "crawled_data" / "infbench" / f"all-task-instances_{run_id}.jsonl")
    assert sorted(line["instance_id"] for line in infbench) == sorted(lines)
    assert all("vendor/click/" in line["prompt"] for line in infbench)  # BM25 added files beyond the history's
    folder = tmp_path / "run" / "experiment_results" / model / "T=0" / "n=1"
    merged = _jsonl(folder / f"all-task-instances_{run_id}.jsonl")
    assert sorted(r["instance_id"] for r in merged) == sorted(lines)
    truth = {line["instance_id"]: line["ground_truth"] for line in infbench}
    for record in merged:
        assert record["model_name"] == model and record["temperature"] == 0.0 and record["n"] == 1
        assert record["model_patch"].strip() == truth[record["instance_id"]].strip()


def test_editbench_example(shared_data: Path, tmp_path: Path) -> None:
    manifest, lines = _editbench_manifest(shared_data, tmp_path)
    report = _run(manifest, RunnerSettings(base=str(tmp_path)))
    assert [r.name for r in report.stages] == ["build_prompts", "prepare", "infer_r0", "collect_r0", "merge"]
    _check_editbench(manifest, lines, tmp_path)


async def test_editbench_example_through_the_services(shared_data: Path, tmp_path: Path) -> None:
    """As services, the inference rounds are gateway jobs and BM25 runs on the Retrieval service."""
    manifest, lines = _editbench_manifest(shared_data, tmp_path)
    running = await create_server(served(tmp_path))
    try:
        via = RunnerSettings(base=str(tmp_path), via=f"127.0.0.1:{running.port}")
        report = await run_manifest(parse_manifest(manifest, source="k8s/examples"), via)
        labels = {"method": "/patchline.v1.RetrievalService/Search", "code": "OK"}
        searches = running.metrics.registry.get_sample_value("patchline_rpc_total", labels)
        gateway_jobs = running.managers["gateway"].count(JobPhase.SUCCEEDED)
    finally:
        await running.stop(0)
    assert [r.name for r in report.stages] == ["build_prompts", "prepare", "infer_r0", "collect_r0", "merge"]
    assert searches == len(lines) and gateway_jobs == 1
    _check_editbench(manifest, lines, tmp_path)


def _inference_requests(lite: LiteData, path: Path) -> list[str]:
    """One request per instance asking for a unified diff (the oracle answers with the gold patch)."""
    ids = []
    with path.open("w", encoding="utf-8") as out:
        for iid, row in sorted(lite.rows.items()):
            prompt = f"Fix this issue:\n{row['problem_statement']}\nAnswer with a diff inside <patch></patch>."
            body = {"model": "any", "messages": [{"role": "user", "content": prompt}], "max_tokens": 512}
            out.write(json.dumps({"custom_id": iid, "method": "POST", "url": "/v1/chat/completions", "body": body}))
            out.write("\n")
            ids.append(iid)
    return ids


def _inference_manifest(lite: LiteData, tmp_path: Path) -> tuple[dict[str, Any], list[str]]:
    manifest = _example("inferencerun.yaml")
    ids = _inference_requests(lite, tmp_path / "requests.jsonl")
    manifest["spec"]["input"] = str(tmp_path / "requests.jsonl")
    manifest["spec"]["output"] = str(tmp_path / "run" / "responses.jsonl")
    return manifest, ids


def _check_responses(path: Path, ids: list[str], lite: LiteData) -> None:
    responses = {r["custom_id"]: r for r in _jsonl(path)}
    assert sorted(responses) == ids
    for iid, line in responses.items():
        assert line["response"]["status_code"] == 200 and line["error"] is None
        content = line["response"]["body"]["choices"][0]["message"]["content"]
        assert lite.rows[iid]["patch"].strip() in content


def test_inferencerun_example(lite: LiteData, oracle: str, tmp_path: Path) -> None:
    manifest, ids = _inference_manifest(lite, tmp_path)
    report = _run(manifest, RunnerSettings(base=str(tmp_path), endpoint_override=oracle))
    assert report.stages[0].counts.succeeded == len(ids)
    _check_responses(tmp_path / "run" / "responses.jsonl", ids, lite)


def test_patchline_run_command_with_the_endpoint_override(lite: LiteData, oracle: str, tmp_path: Path) -> None:
    manifest = _with_lite_data(_example("bugfixer-rollout.yaml"), lite, tmp_path / "run")
    path = tmp_path / "bugfixer-rollout.yaml"
    path.write_text(yaml.safe_dump(manifest), encoding="utf-8")
    command = [sys.executable, "-m", "patchline", "run", str(path), "--base", str(tmp_path), "--endpoint", oracle]
    printed = []
    for _ in range(2):  # the second run finds every stage done
        done = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
        assert done.returncode == 0, done.stderr
        printed.append(done.stdout.splitlines())
    first, second = printed
    assert first[0] == f"Rollout bugfixer: {tmp_path / 'run'}"
    stages = ["gen_step1", "infer_step1", "proc_step1_gen_step2", "infer_step2", "proc_step2"]
    assert [line.split()[0] for line in first[1:6]] == stages
    assert "12 succeeded" in first[2] and " s " in first[2]  # 3 instances x 4 samples answered by the oracle
    assert f"  predictions: {tmp_path / 'run' / 'predictions.jsonl'}" in first
    assert [line.split()[0] for line in second[1:6]] == stages
    assert all("done earlier" in line for line in second[1:6])
    _check_predictions(tmp_path / "run" / "predictions.jsonl", lite)
