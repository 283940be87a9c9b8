"""Stage 1 on real Lite instances: passk expansion, trees, temperatures, failures, reruns, ranges."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from patchline.core.spec import RolloutStage
from patchline.workflows.rollout import run_stage
from tests.fixtures.lite_repos import RequestsLite
from tests.fixtures.stages import stage
from tests.unit.workflows.rollout.helpers import read_jsonl

pytestmark = pytest.mark.unit


def _run(lite: RequestsLite, out: Path, **kw: object) -> list[dict[str, object]]:
    config = stage(
        RolloutStage,
        workflow__type=kw.pop("workflow__type", "bugfixer"),  # type: ignore[arg-type]
        dataset__source=str(kw.pop("dataset__source", lite.dataset)),
        repositories__structure_dir=str(kw.pop("repositories__structure_dir", lite.structure_dir)),
        output_file=str(out / "batch_requests_step1.jsonl"),
        **kw,  # type: ignore[arg-type]
    )
    run_stage(config, "gen_step1")
    return read_jsonl(out / "batch_requests_step1.jsonl")


def test_bugfixer_passk_expansion_and_tree(requests_lite: RequestsLite, tmp_path: Path) -> None:
    requests = _run(requests_lite, tmp_path, sampling__samples=3, sampling__temperature=0.8, model="m")
    ids = [r["custom_id"] for r in requests]
    assert ids == [f"{iid}__pass{k}" for iid in requests_lite.instance_ids for k in range(3)]
    body = requests[0]["body"]
    assert isinstance(body, dict)
    prompt = body["messages"][0]["content"]
    assert "most relevant files" in prompt and "requests/\n    __init__.py\n" in prompt
    assert "test_requests.py" not in prompt and "tests/" not in prompt
    assert {r["body"]["temperature"] for r in requests} == {0.8}  # type: ignore[index]
    assert body["model"] == "m" and body["enable_thinking"] is False


def test_testwriter_shows_tests_and_fixes_pass_temperatures(requests_lite: RequestsLite, tmp_path: Path) -> None:
    requests = _run(
        requests_lite, tmp_path, workflow__type="testwriter", sampling__samples=2, sampling__temperature=0.6
    )
    prompt = requests[0]["body"]["messages"][0]["content"]  # type: ignore[index]
    assert "tests/\n    __init__.py\n    test_requests.py" in prompt
    assert "test files" in prompt and "most relevant files" in prompt
    temps = {r["custom_id"]: r["body"]["temperature"] for r in requests}  # type: ignore[index]
    assert {t for c, t in temps.items() if c.endswith("__pass0")} == {0.0}
    assert {t for c, t in temps.items() if c.endswith("__pass1")} == {1.0}


def test_passk_one_uses_instance_ids_and_rerun_does_not_duplicate(requests_lite: RequestsLite, tmp_path: Path) -> None:
    first = _run(requests_lite, tmp_path)
    assert [r["custom_id"] for r in first] == list(requests_lite.instance_ids)
    again = _run(requests_lite, tmp_path)
    assert again == first


def test_missing_structure_is_a_failure_record(requests_lite: RequestsLite, tmp_path: Path) -> None:
    structures = shutil.copytree(requests_lite.structure_dir, tmp_path / "structures")
    missing = requests_lite.instance_ids[0]
    (structures / f"{missing}.json").unlink()
    (structures / f"{requests_lite.instance_ids[1]}.json").write_text("{truncated")
    requests = _run(requests_lite, tmp_path, repositories__structure_dir=structures, sampling__samples=2)
    assert len(requests) == 2 * (len(requests_lite.instance_ids) - 2)
    failures = read_jsonl(tmp_path / "failures.jsonl")
    assert {(f["custom_id"], f["reason"]) for f in failures} >= {(f"{missing}__pass0", "structure_not_found")}
    assert len(failures) == 4 and all(f["stage"] == "gen_step1" for f in failures)
    # Once the structure is there, a rerun replaces the failures with requests.
    shutil.copy(requests_lite.structure_dir / f"{missing}.json", structures / f"{missing}.json")
    requests = _run(requests_lite, tmp_path, repositories__structure_dir=structures, sampling__samples=2)
    assert len(requests) == 2 * (len(requests_lite.instance_ids) - 1)
    assert len(read_jsonl(tmp_path / "failures.jsonl")) == 2


def test_ranges_add_up_across_runs(requests_lite: RequestsLite, tmp_path: Path) -> None:
    everything = _run(requests_lite, tmp_path / "all", sampling__samples=2)
    ids = sorted(r["custom_id"] for r in everything)
    _run(requests_lite, tmp_path / "chunks", sampling__samples=2, workflow__start_file="0", workflow__end_file="5")
    chunked = _run(requests_lite, tmp_path / "chunks", sampling__samples=2, workflow__start_file=ids[5])
    assert sorted(str(r["custom_id"]) for r in chunked) == ids


def test_convert_crlf_and_prompt_template(requests_lite: RequestsLite, lite_test_path: Path, tmp_path: Path) -> None:
    line = next(x for x in lite_test_path.read_text().splitlines() if "astropy__astropy-12907" in x)
    assert "\\r\\n" in line
    dataset = tmp_path / "one.jsonl"
    dataset.write_text(line + "\n")
    structures = tmp_path / "structures"
    structures.mkdir()
    (structures / "astropy__astropy-12907.json").write_text(json.dumps(requests_lite.document))
    template = tmp_path / "mine.txt"
    template.write_text("ISSUE:\n$problem_statement\nTREE:\n$structure\nmost relevant files please\n")
    kept = _run(requests_lite, tmp_path / "a", dataset__source=dataset, repositories__structure_dir=structures)
    assert "\r\n" in kept[0]["body"]["messages"][0]["content"]  # type: ignore[index]
    converted = _run(
        requests_lite,
        tmp_path / "b",
        dataset__source=dataset,
        repositories__structure_dir=structures,
        workflow__convert_crlf=True,
        workflow__templates_dir=str(template),
    )
    prompt = converted[0]["body"]["messages"][0]["content"]  # type: ignore[index]
    assert "\r" not in prompt and prompt.startswith("ISSUE:\n") and "TREE:\nrequests/" in prompt
