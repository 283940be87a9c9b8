"""``patchline agentless repair`` exits non-zero, saying why in one line, when a run makes nothing useful."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from patchline.cli.app import main
from tests.unit.workflows.agentless.helpers import Scenario, success

pytestmark = pytest.mark.unit


@pytest.fixture(autouse=True)
def _structures_from_the_environment(scenario: Scenario, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PROJECT_FILE_LOC", str(scenario.structures))


def _repair(scenario: Scenario, *extra: str, loc: Path | None = None, dataset: Path | None = None) -> int:
    return main([
        "agentless", "repair", "--loc_file", str(loc or scenario.loc_file), "--output_folder",
        str(scenario.root / "out"), "--dataset", str(dataset or scenario.dataset), "--diff_format",
        "--max_samples", "1", *extra,
    ])  # fmt: skip


def _error(capsys: pytest.CaptureFixture[str]) -> str:
    [line] = [line for line in capsys.readouterr().err.splitlines() if line.startswith("patchline: error:")]
    return line


def test_a_loc_file_of_another_dataset(
    scenario: Scenario, shared_data: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lite = shared_data / "swebench_lite" / "swe_bench_lite_dev.jsonl"
    assert _repair(scenario, "--batch_gen", dataset=lite) == 2
    assert f"none of the 2 instances of {scenario.loc_file} is in {lite}" in _error(capsys)


def test_an_empty_loc_file(scenario: Scenario, capsys: pytest.CaptureFixture[str]) -> None:
    empty = scenario.root / "empty.jsonl"
    empty.write_text("")
    assert _repair(scenario, "--batch_gen", loc=empty) == 2
    assert "no loc record" in _error(capsys)


def test_empty_or_wrong_kind_response_files(scenario: Scenario, capsys: pytest.CaptureFixture[str]) -> None:
    assert _repair(scenario, "--batch_gen") == 0
    responses = scenario.root / "responses.jsonl"
    responses.write_text("")
    assert _repair(scenario, "--process_batch", "--batch_output", str(responses)) == 2
    assert "no response line to process" in _error(capsys)
    step1_like = [
        success(f"{iid}|0", "```\nsympy/printing/latex.py\n```").model_dump_json() for iid in scenario.instances
    ]
    responses.write_text("\n".join(step1_like) + "\n")
    assert _repair(scenario, "--process_batch", "--batch_output", str(responses)) == 4
    assert "none of the 2 answers" in _error(capsys)
    assert json.loads((scenario.root / "out" / "output_0_processed.jsonl").read_text().splitlines()[0])["status"]
