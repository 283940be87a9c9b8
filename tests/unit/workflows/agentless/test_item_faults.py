"""One bad item never aborts ``--process_batch``: deep lines, huge answers, slow instances, unusual ids."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from patchline.core.spec import AgentlessWorkflow
from patchline.core.structure import structure_file_name
from patchline.workflows.agentless import generate_requests, process_responses
from patchline.workflows.agentless.responses import ResponseIndex
from tests.unit.workflows.agentless.helpers import (
    GOLD_INSTANCES,
    Scenario,
    oracle_answer,
    output_folder,
    repair_settings,
    success,
)

pytestmark = pytest.mark.unit

ANSWER_CAP = AgentlessWorkflow(loc_file="l").max_answer_bytes  # the default

A, B = GOLD_INSTANCES


def _gold(scenario: Scenario, iid: str) -> str:
    return success(f"{iid}|1", oracle_answer(scenario.instances[iid])).model_dump_json()


def _records(path: Path) -> dict[str, dict[str, object]]:
    return {r["instance_id"]: r for r in map(json.loads, path.read_text(encoding="utf-8").splitlines())}


def test_deep_nesting_huge_answers_and_bad_lines_fail_alone_with_their_line_numbers(scenario: Scenario) -> None:
    settings = repair_settings(scenario, sampling__samples=2)
    generate_requests(settings, output_folder(scenario))
    deep = '{"custom_id": "' + A + '|1", "response": ' + "[" * 100_000 + "]" * 100_000 + "}"
    huge = success(f"{A}|1", "x" * (ANSWER_CAP + 1)).model_dump_json()
    broken = json.dumps({"custom_id": f"{B}|0", "response": {"status_code": "not a number", "body": {}}})
    responses = scenario.root / "responses.jsonl"
    responses.write_text("\n".join([deep, _gold(scenario, B), broken, huge, "[" * 50_000]) + "\n")
    summary = process_responses(settings, output_folder(scenario), str(responses))
    out = scenario.root / "out"
    processed = _records(out / "output_1_processed.jsonl")
    assert processed[A]["status"] == "answer_too_large" and processed[A]["model_patch"] == ""
    assert processed[B]["status"] == "ok"
    assert summary.statuses["answer_too_large"] == 1
    log = (out / "repair_logs" / f"{A}.log").read_text()
    assert f"more than the cap of {ANSWER_CAP}" in log
    # Bad lines are reported where they are: line 1 (too deep), 3 (a bad field) and 5 (too deep, no id).
    with ResponseIndex.open(str(responses), max_answer_bytes=ANSWER_CAP) as index:
        index.answers(A), index.answers(B)
        reported = sorted(error.line_no for error in index.report.errors)
    assert reported == [1, 3, 5]
    assert summary.bad_lines >= 2


def test_a_slow_instance_times_out_alone(scenario: Scenario) -> None:
    # The limit leaves a busy machine room for the healthy instance; the slow one needs several times more.
    settings = repair_settings(scenario, sampling__samples=2, workflow__item_timeout_seconds=2.0)
    generate_requests(settings, output_folder(scenario))
    [path] = json.loads(scenario.loc_file.read_text().splitlines()[0])["found_files"]
    # 55,000 edits that match nothing: about 6 s of work for one instance, under the 4 MiB size cap.
    edits = "".join(f"<<<<<<< SEARCH\ndef f{i}():\n=======\ndef g():\n>>>>>>> REPLACE\n" for i in range(55_000))
    slow = success(f"{A}|1", f"```python\n### {path}\n{edits}```\n").model_dump_json()
    responses = scenario.root / "responses.jsonl"
    responses.write_text(slow + "\n" + _gold(scenario, B) + "\n")
    summary = process_responses(settings, output_folder(scenario), str(responses))
    processed = _records(scenario.root / "out" / "output_1_processed.jsonl")
    assert processed[A]["status"] == "timeout" and processed[B]["status"] == "ok"
    assert summary.failed_instances[A].startswith("timeout")
    assert len(_records(scenario.root / "out" / "predictions.jsonl")) == 2


def test_an_instance_id_too_long_for_a_file_name_is_processed(scenario: Scenario, tmp_path: Path) -> None:
    long_id = "sympy__sympy-" + "9" * 290
    rows = [json.loads(line) for line in scenario.dataset.read_text().splitlines()]
    row = next(r for r in rows if r["instance_id"] == A)
    scenario.dataset.write_text("".join(json.dumps(r) + "\n" for r in [*rows, {**row, "instance_id": long_id}]))
    loc = json.loads(next(x for x in scenario.loc_file.read_text().splitlines() if A in x))
    with scenario.loc_file.open("a") as out:
        out.write(json.dumps({**loc, "instance_id": long_id}) + "\n")
    structure = json.loads((scenario.structures / f"{A}.json").read_text())
    (scenario.structures / structure_file_name(long_id)).write_text(json.dumps({**structure, "instance_id": long_id}))
    settings = repair_settings(scenario, sampling__samples=2)
    generate_requests(settings, output_folder(scenario))
    responses = scenario.root / "responses.jsonl"
    long_answer = success(f"{long_id}|1", oracle_answer(scenario.instances[A])).model_dump_json()
    responses.write_text("\n".join([_gold(scenario, A), long_answer, _gold(scenario, B)]) + "\n")
    summary = process_responses(settings, output_folder(scenario), str(responses))
    out = scenario.root / "out"
    processed = _records(out / "output_1_processed.jsonl")
    assert {processed[i]["status"] for i in (A, B, long_id)} == {"ok"}
    assert summary.patches == 3
    logs = sorted(p.name for p in (out / "repair_logs").iterdir())
    assert len(logs) == 3 and all(len(name) < 120 for name in logs)
    assert any(long_id in p.read_text() for p in (out / "repair_logs").iterdir())
