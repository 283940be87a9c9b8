"""Agentless runs with the output folder on S3 (moto on loopback), worker processes, and a folder of checkouts."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from patchline.core.spec import AgentlessStage
from patchline.core.store import ArtifactStore
from patchline.workflows.agentless import generate_requests, process_responses
from tests.fixtures.s3 import S3Endpoint
from tests.fixtures.stages import stage
from tests.unit.workflows.agentless.helpers import GOLD_INSTANCES, build_scenario, oracle_answer, success

pytestmark = pytest.mark.integration


def _s3_env(monkeypatch: pytest.MonkeyPatch, endpoint: S3Endpoint) -> None:
    monkeypatch.setenv("PATCHLINE_S3_ENDPOINT_URL", endpoint.url)
    monkeypatch.setenv("PATCHLINE_S3_REGION", "us-east-1")
    monkeypatch.setenv("PATCHLINE_S3_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("PATCHLINE_S3_SECRET_ACCESS_KEY", "testing")


def test_output_folder_on_s3_with_workers_and_checkouts_folder(
    tmp_path: Path, shared_data: Path, s3_endpoint: S3Endpoint, monkeypatch: pytest.MonkeyPatch
) -> None:
    _s3_env(monkeypatch, s3_endpoint)
    scenario = build_scenario(
        tmp_path / "data",
        shared_data / "swebench_verified" / "swe_bench_verified.jsonl",
        base_commit_is_repo=True,
        found_edit_locs={
            GOLD_INSTANCES[0]: {"sympy/printing/latex.py": ["class: LatexPrinter\nfunction: _print_Subs"]},
            GOLD_INSTANCES[1]: {"sympy/polys/factortools.py": ["function: dmp_ext_factor\nline: 1150"]},
        },
    )
    checkouts = tmp_path / "checkouts"
    checkouts.mkdir()
    shutil.move(str(scenario.repo), str(checkouts / "sympy__sympy"))  # the layout for many repositories
    bucket = s3_endpoint.create_bucket()
    settings = stage(
        AgentlessStage,
        workflow__loc_file=str(scenario.loc_file),
        dataset__source=str(scenario.dataset),
        model="m",
        workflow__loc_interval=True,
        workflow__top_n=0,
        workflow__context_window=10,
        sampling__samples=2,
        workflow__cot=True,
        workflow__num_threads=2,
        repositories__repo_root=str(checkouts),
    )
    out = f"s3://{bucket}/run"
    assert generate_requests(settings, out).written == 4
    assert generate_requests(settings, out).written == 0  # resumed from the object store
    store = ArtifactStore(f"s3://{bucket}/run")
    requests = [json.loads(line) for line in store.iter_lines("requests-repair.jsonl")]
    prompt = requests[0]["body"]["messages"][0]["content"]
    assert "def _print_Subs(self, subs):" in prompt and "\n...\n" in prompt  # a window, not the whole file
    responses = "".join(
        success(r["custom_id"], oracle_answer(scenario.instances[r["custom_id"].split("|")[0]])).model_dump_json()
        + "\n"
        for r in requests
    )
    store.write_text("responses.jsonl", responses)
    summary = process_responses(settings, out, f"s3://{bucket}/run/responses.jsonl")
    assert summary.patches == 4 and summary.statuses == {"ok": 4}
    names = set(store.list_files())
    assert {"output.jsonl", "output_0_processed.jsonl", "output_1_processed.jsonl", "predictions.jsonl"} <= names
    assert {f"repair_logs/{iid}.log" for iid in GOLD_INSTANCES} <= names
    predictions = [json.loads(line) for line in store.iter_lines("predictions.jsonl")]
    assert [p["instance_id"] for p in predictions] == list(GOLD_INSTANCES)
    assert all(p["model_patch"].startswith("diff --git a/sympy/") for p in predictions)
    process_responses(settings, out, f"s3://{bucket}/run/responses.jsonl")  # rerun: replaced, not appended
    assert len(list(store.iter_lines("output.jsonl"))) == 2
