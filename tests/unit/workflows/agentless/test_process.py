"""``--process_batch`` on real instances: outputs and their shapes, hostile responses, reruns without duplicates."""

from __future__ import annotations

import importlib
import importlib.util
import json
import sys
import types
from pathlib import Path

import pytest

from patchline.core.batch import ResponseLine
from patchline.core.predictions import Prediction
from patchline.edits import apply_unified_diff
from patchline.workflows.agentless import generate_requests, process_responses
from tests.unit.workflows.agentless.helpers import (
    GOLD_INSTANCES,
    Scenario,
    oracle_answer,
    output_folder,
    repair_settings,
    success,
    write_responses,
)

pytestmark = pytest.mark.unit

A, B = GOLD_INSTANCES


def _records(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def _hostile(scenario: Scenario) -> object:
    def answer(iid: str, sample: int) -> ResponseLine | None:
        custom_id = f"{iid}|{sample}"
        if sample == 1:
            return success(custom_id, oracle_answer(scenario.instances[iid]))
        if sample == 2 and iid == A:
            return ResponseLine.failure(custom_id, status_code=400, code="context_length", message="too long")
        if sample == 2:
            return success(custom_id, None, reasoning="ran out of tokens while thinking")
        return None  # sample 3: no response line at all

    return answer


def test_outputs_and_statuses(scenario: Scenario) -> None:
    settings = repair_settings(scenario)
    generate_requests(settings, output_folder(scenario))
    responses = scenario.root / "responses.jsonl"
    write_responses(scenario.root / "out" / "requests-repair.jsonl", responses, _hostile(scenario))  # type: ignore[arg-type]
    summary = process_responses(settings, output_folder(scenario), str(responses))
    out = scenario.root / "out"
    assert summary.instances == 2 and summary.samples == 8 and summary.patches == 2
    assert summary.statuses == {
        "ok": 2,
        "not_requested": 2,
        "request_failed": 1,
        "reasoning_only": 1,
        "missing_response": 2,
    }
    processed = {i: _records(out / f"output_{i}_processed.jsonl") for i in range(4)}
    assert all(len(records) == 2 for records in processed.values())
    first = {r["instance_id"]: r for r in processed[1]}
    for iid in GOLD_INSTANCES:
        record = first[iid]
        assert set(record) >= {
            "model_name_or_path",
            "instance_id",
            "model_patch",
            "raw_model_patch",
            "original_file_content",
            "edited_files",
            "new_file_content",
        }
        [path] = record["edited_files"]  # type: ignore[misc]
        old = (scenario.repo / str(path)).read_text(encoding="utf-8")
        assert record["original_file_content"] == [old]
        assert (
            apply_unified_diff({str(path): old}, str(record["model_patch"]))[str(path)] == record["new_file_content"][0]
        )  # type: ignore[index]
    assert processed[0][0]["status"] == "not_requested" and processed[0][0]["model_patch"] == ""
    raw = {r["instance_id"]: r for r in _records(out / "output.jsonl")}
    assert raw[A]["try_count"] == [1, 2, 3, 4] and len(raw[A]["traj"]) == 4  # type: ignore[arg-type]
    assert raw[B]["traj"][2]["reasoning_content"] == "ran out of tokens while thinking"  # type: ignore[index]
    assert raw[A]["traj"][2]["error"].startswith("400 context_length")  # type: ignore[index]
    assert raw[A]["file_names"] == [["", ["sympy/printing/latex.py"], "", ""]]
    predictions = [Prediction.model_validate(r) for r in _records(out / "predictions.jsonl")]
    assert [p.instance_id for p in predictions] == list(GOLD_INSTANCES)
    assert all(p.model_patch == first[p.instance_id]["model_patch"] for p in predictions)
    log = (out / "repair_logs" / f"{A}.log").read_text(encoding="utf-8")
    assert "sample 2: request_failed" in log and "sample 1: ok" in log


def test_rerun_replaces_records_and_never_duplicates(scenario: Scenario) -> None:
    settings = repair_settings(scenario)
    generate_requests(settings, output_folder(scenario))
    responses = scenario.root / "responses.jsonl"
    write_responses(scenario.root / "out" / "requests-repair.jsonl", responses, _hostile(scenario))  # type: ignore[arg-type]
    process_responses(settings, output_folder(scenario), str(responses))
    out = scenario.root / "out"
    before = {p.name: p.read_bytes() for p in out.glob("*.jsonl")}
    process_responses(settings, output_folder(scenario), str(responses))
    after = {p.name: p.read_bytes() for p in out.glob("*.jsonl")}
    assert before.keys() == after.keys()
    for name in before:
        if name == "samples.jsonl":  # one row per sample
            rows = [(r["instance_id"], r["sample"]) for r in _records(out / name)]
            assert len(rows) == len(set(rows)) == 8
        elif name != "requests-repair.jsonl":
            ids = [r["instance_id"] for r in _records(out / name)]
            assert len(ids) == len(set(ids)) == 2, name
    # a retried line for one sample replaces its record; the other instance keeps its records
    with responses.open("a", encoding="utf-8") as more:
        more.write(success(f"{A}|3", oracle_answer(scenario.instances[A])).model_dump_json() + "\n")
    loc_a = scenario.root / "loc-a.jsonl"
    loc_a.write_text(scenario.loc_file.read_text(encoding="utf-8").splitlines()[0] + "\n", encoding="utf-8")
    only_a = settings.model_copy(update={"workflow": settings.workflow.model_copy(update={"loc_file": str(loc_a)})})
    summary = process_responses(only_a, output_folder(scenario), str(responses))
    assert summary.instances == 1
    third = {r["instance_id"]: r for r in _records(out / "output_3_processed.jsonl")}
    assert set(third) == {A, B}
    assert third[A]["status"] == "ok" and third[B]["status"] == "missing_response"
    assert len(_records(out / "predictions.jsonl")) == 2


def test_predictions_sample_choice(scenario: Scenario) -> None:
    settings = repair_settings(scenario, workflow__selection__strategy="2")
    generate_requests(settings, output_folder(scenario))
    responses = scenario.root / "responses.jsonl"
    write_responses(scenario.root / "out" / "requests-repair.jsonl", responses, _hostile(scenario))  # type: ignore[arg-type]
    process_responses(settings, output_folder(scenario), str(responses))
    predictions = _records(scenario.root / "out" / "predictions.jsonl")
    assert [p["model_patch"] for p in predictions] == ["", ""]  # sample 2 failed for both


def test_instances_without_repository_are_recorded(scenario: Scenario) -> None:
    settings = repair_settings(scenario)
    (scenario.structures / f"{B}.json").unlink()
    responses = scenario.root / "responses.jsonl"
    responses.write_text(success(f"{A}|1", oracle_answer(scenario.instances[A])).model_dump_json() + "\n")
    summary = process_responses(settings, output_folder(scenario), str(responses))
    assert summary.patches == 1 and B in summary.failed_instances
    records = {r["instance_id"]: r for r in _records(scenario.root / "out" / "output_1_processed.jsonl")}
    assert records[B]["status"] == "no_context" and records[B]["model_patch"] == ""


def _swebench_loader() -> object:
    """``swebench.harness.utils.get_predictions_from_file`` (``make install`` installs swebench).

    swebench 5.0.2's package ``__init__`` imports its Modal runner (``modal`` is not installed here), so
    the package folders are registered without running that ``__init__``; the loader module itself and
    everything it imports are the package's own code.
    """
    spec = importlib.util.find_spec("swebench")
    if spec is None or not spec.submodule_search_locations:
        pytest.fail("swebench is not installed: run `make install` (it installs swebench==5.0.2 without its deps)")
    base = next(iter(spec.submodule_search_locations))
    saved = {name: sys.modules.get(name) for name in ("swebench", "swebench.harness")}
    for name, folder in (("swebench", base), ("swebench.harness", f"{base}/harness")):
        if name not in sys.modules:
            package = types.ModuleType(name)
            package.__path__ = [folder]
            sys.modules[name] = package
    try:
        utils = importlib.import_module("swebench.harness.utils")
    finally:
        for name, module in saved.items():
            if module is None:
                sys.modules.pop(name, None)
    return utils.get_predictions_from_file


def test_predictions_load_with_the_swebench_loader(scenario: Scenario) -> None:
    settings = repair_settings(scenario)
    generate_requests(settings, output_folder(scenario))
    responses = scenario.root / "responses.jsonl"
    write_responses(scenario.root / "out" / "requests-repair.jsonl", responses, _hostile(scenario))  # type: ignore[arg-type]
    process_responses(settings, output_folder(scenario), str(responses))
    path = scenario.root / "out" / "predictions.jsonl"
    # the schema the harness reads
    records = _records(path)
    assert [r["instance_id"] for r in records] == list(GOLD_INSTANCES)
    for record in records:
        assert set(record) == {"instance_id", "model_name_or_path", "model_patch"}
        assert all(isinstance(value, str) for value in record.values())
    loader = _swebench_loader()
    loaded = loader(str(path), "princeton-nlp/SWE-bench_Verified", "test")  # type: ignore[operator]
    keys = ("instance_id", "model_name_or_path", "model_patch")  # what run_evaluation and grading read
    assert [tuple(p[k] for k in keys) for p in loaded] == [
        (r["instance_id"], r["model_name_or_path"], r["model_patch"]) for r in records
    ]


def test_instances_the_manifest_leaves_out_are_not_selected_not_missing(scenario: Scenario) -> None:
    settings = repair_settings(scenario, dataset__instances=[A])
    generate_requests(settings, output_folder(scenario))
    responses = scenario.root / "responses.jsonl"
    responses.write_text(success(f"{A}|1", oracle_answer(scenario.instances[A])).model_dump_json() + "\n")
    summary = process_responses(settings, output_folder(scenario), str(responses))
    assert summary.not_selected == [B] and summary.not_in_dataset == []
    assert f"not selected (dataset.instances / dataset.limit): 1: {B}" in summary.describe()
    # A dataset instance the loc file does not hold, selected alone: none of the loc file's is selected.
    rows = [json.loads(line) for line in scenario.dataset.read_text().splitlines()]
    scenario.dataset.write_text("".join(json.dumps(r) + "\n" for r in [*rows, {**rows[0], "instance_id": "c__c-1"}]))
    only_c = repair_settings(scenario, dataset__instances=["c__c-1"])
    error = process_responses(only_c, output_folder(scenario), str(responses)).nothing_done(str(responses))
    assert error is not None and "is selected by dataset.instances / dataset.limit (2 left out)" in str(error)
