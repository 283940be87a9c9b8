"""A whole Rollout through `patchline serve` (a real subprocess) with its artifacts in S3, then in-process.

The demo's BugFixer Rollout runs on the demo's Lite instances with the oracle engine; the run root is
``s3://<bucket>/...`` on moto's S3 server. The serve process gets the storage settings from its
environment, the runner from the same variables; both ways must give the same predictions, and every
predicted patch must apply to its released code base.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from importlib import resources
from pathlib import Path
from typing import Any

import pytest
import yaml

from patchline.core.spec import parse_manifest
from patchline.core.store import ArtifactStore
from patchline.pipeline.runner import RunnerSettings, RunReport, run_manifest
from tests.fixtures.demo_lite import LiteData, build_lite_data, git_apply_check
from tests.fixtures.s3 import S3Endpoint
from tests.fixtures.serve_process import ServeProcess
from tests.fixtures.serving import serve_flags

pytestmark = pytest.mark.e2e

STAGES = ["gen_step1", "infer_step1", "proc_step1_gen_step2", "infer_step2", "proc_step2"]


@pytest.fixture
def s3_env(s3_endpoint: S3Endpoint, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """The storage variables, set for this process (the runner and its stages) and handed to serve."""
    env = {
        "PATCHLINE_S3_ENDPOINT_URL": s3_endpoint.url,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_REGION": "us-east-1",
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return env


@pytest.fixture
def bucket(s3_endpoint: S3Endpoint) -> str:
    return s3_endpoint.create_bucket()


@pytest.fixture
def serve(tmp_path: Path, s3_env: dict[str, str], bucket: str) -> Iterator[ServeProcess]:
    """The services with the bucket as their store (the local test folder is read-only to them)."""
    flags = serve_flags(tmp_path, store=f"s3://{bucket}")
    with ServeProcess(tmp_path / "serve", flags=flags, env=s3_env) as process:
        yield process


def _rollout(lite: LiteData, output: str) -> dict[str, Any]:
    text = resources.files("patchline.demo").joinpath("rollout.yaml").read_text(encoding="utf-8")
    manifest: dict[str, Any] = yaml.safe_load(text)
    manifest["spec"]["dataset"]["source"] = str(lite.dataset)
    manifest["spec"]["repositories"]["structureDir"] = str(lite.structures)
    manifest["spec"]["output"] = output
    return manifest


def _run(manifest: dict[str, Any], settings: RunnerSettings) -> RunReport:
    return asyncio.run(run_manifest(parse_manifest(manifest, source="test"), settings))


def _predictions(store: ArtifactStore) -> dict[str, str]:
    lines = [json.loads(line) for line in store.iter_lines("predictions.jsonl")]
    return {p["instance_id"]: p["model_patch"] for p in lines}


def test_rollout_through_serve_with_s3_equals_the_in_process_run(
    tmp_path: Path, s3_endpoint: S3Endpoint, bucket: str, serve: ServeProcess
) -> None:
    lite = build_lite_data(tmp_path / "lite")
    remote_uri, local_uri = f"s3://{bucket}/run", f"s3://{bucket}/in-process"

    report = _run(_rollout(lite, remote_uri), RunnerSettings(base=str(tmp_path), via=serve.target))
    assert report.run_uri == remote_uri
    assert [r.name for r in report.stages] == STAGES and not report.reused
    assert report.artifacts()["predictions"] == f"{remote_uri}/predictions.jsonl"
    store = ArtifactStore(remote_uri, config=s3_endpoint.config)
    assert not list((tmp_path / "serve").rglob("*.jsonl"))  # nothing landed on the serve process's disk
    assert {"manifest.json", "batch_output_step2.jsonl", "predictions.jsonl"} <= set(store.list_files())
    via_services = _predictions(store)
    assert sorted(via_services) == sorted(lite.rows)
    for iid, patch in via_services.items():
        assert git_apply_check(lite.repos[iid], patch) == "", iid

    again = _run(_rollout(lite, remote_uri), RunnerSettings(base=str(tmp_path), via=serve.target))
    assert again.reused == set(STAGES)  # the stage records in S3 say it is done

    in_process = _run(_rollout(lite, local_uri), RunnerSettings(base=str(tmp_path), storage=s3_endpoint.config))
    assert [r.name for r in in_process.stages] == STAGES
    assert _predictions(ArtifactStore(local_uri, config=s3_endpoint.config)) == via_services
