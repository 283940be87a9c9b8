"""The real-model demo's pieces: the gold localisation it builds, and a reason for every sample status."""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path

import pytest
from unidiff.patch import PatchSet

from patchline.demo.prepare import oracle_locations
from patchline.workflows.agentless.records import SAMPLE_STATUS_MEANINGS, SampleStatus

pytestmark = pytest.mark.unit


def test_every_sample_status_has_a_reason() -> None:
    statuses = {v for k, v in vars(SampleStatus).items() if k.isupper()}
    assert statuses == set(SAMPLE_STATUS_MEANINGS)


def test_the_localisation_is_the_gold_patch_files_with_a_line_per_hunk(tmp_path: Path) -> None:
    dataset = tmp_path / "instances.jsonl"
    dataset.write_bytes(resources.files("patchline.demo").joinpath("instances.jsonl").read_bytes())
    oracle_locations(dataset, tmp_path / "loc.jsonl")
    rows = {r["instance_id"]: r for r in map(json.loads, dataset.read_text().splitlines())}
    locs = [json.loads(line) for line in (tmp_path / "loc.jsonl").read_text().splitlines()]
    assert sorted(loc["instance_id"] for loc in locs) == sorted(rows)
    for loc in locs:
        gold = PatchSet(rows[loc["instance_id"]]["patch"])
        assert loc["found_files"] == [f.path for f in gold]
        for f in gold:
            (text,) = loc["found_edit_locs"][f.path]
            assert text.splitlines() == [f"line: {h.source_start + 3}" for h in f]
