"""Rollout stages with their files on S3 (moto on loopback): request files, samples and aggregates."""

from __future__ import annotations

import json

import pytest
import s3fs

from patchline.core.spec import RolloutStage
from patchline.core.store import ArtifactStore
from patchline.workflows.rollout import run_stage
from tests.fixtures.lite_repos import RequestsLite, requests_lite  # noqa: F401 - fixture
from tests.fixtures.s3 import S3Endpoint
from tests.fixtures.stages import stage
from tests.unit.workflows.rollout.helpers import ok_line

pytestmark = pytest.mark.integration


def test_stages_write_to_s3_and_rerun_without_duplicates(
    requests_lite: RequestsLite,  # noqa: F811
    s3_endpoint: S3Endpoint,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("PATCHLINE_S3_ENDPOINT_URL", s3_endpoint.url)
    monkeypatch.setenv("PATCHLINE_S3_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("PATCHLINE_S3_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("PATCHLINE_S3_REGION", "us-east-1")
    s3fs.S3FileSystem.clear_instance_cache()
    root = f"s3://{s3_endpoint.create_bucket()}/run"
    store = ArtifactStore(root, config=s3_endpoint.config)
    common = {
        "workflow__type": "bugfixer",
        "dataset__source": str(requests_lite.dataset),
        "repositories__structure_dir": str(requests_lite.structure_dir),
    }
    for _ in range(2):
        run_stage(stage(RolloutStage, **common, output_file=f"{root}/batch_requests_step1.jsonl"), "gen_step1")  # type: ignore[arg-type]
    assert len(store.read_text("batch_requests_step1.jsonl").splitlines()) == len(requests_lite.instance_ids)
    iid = requests_lite.instance_ids[0]
    answer = (
        "```python\n### requests/api.py\n<<<<<<< SEARCH\nfrom . import sessions\n"
        "=======\nfrom . import sessions  # s3\n>>>>>>> REPLACE\n```"
    )
    store.write_text("batch_output_step2.jsonl", ok_line(iid, answer) + "\n")
    config = stage(RolloutStage, **common, input_file=f"{root}/batch_output_step2.jsonl", save_dir=root)  # type: ignore[arg-type]
    for _ in range(2):
        run_stage(config, "proc_step2")
    assert store.exists(f"samples/{iid}.jsonl")
    [processed] = [json.loads(x) for x in store.read_text("output_0_processed.jsonl").splitlines()]
    assert "# s3" in processed["model_patch"] and processed["edited_files"] == ["requests/api.py"]
    assert len(store.read_text("predictions.jsonl").splitlines()) == 1
