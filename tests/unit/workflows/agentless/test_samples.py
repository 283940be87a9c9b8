"""Samples as a dimension of ``--process_batch``: 11 samples end, with no extra command, in the majority's prediction.

The answers are SEARCH/REPLACE edits made from real diffs of the installed sympy files: the gold fix (twice
written differently), another change, a syntax error and empty answers, so the vote, the verdicts and the
explanation are checked on the shapes real samples have. Then resampling: an instance without a valid
sample gets a request file for the next round, whose answers, appended to the same response file, join
the table.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from patchline.core.batch import ResponseLine
from patchline.edits import apply_unified_diff, render_patch, search_replace_from_diff
from patchline.workflows.agentless import generate_requests, process_responses
from tests.unit.workflows.agentless.helpers import (
    GOLD_INSTANCES,
    Scenario,
    output_folder,
    patch_paths,
    repair_settings,
    success,
    write_responses,
)

pytestmark = pytest.mark.unit

A, B = GOLD_INSTANCES


def _records(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def _variants(scenario: Scenario, iid: str) -> dict[str, str]:
    """Answers for one instance: the gold fix, the same fix with a comment, another change, a broken one."""
    row = scenario.instances[iid]
    [path] = patch_paths(row["patch"])
    old = (scenario.repo / path).read_text(encoding="utf-8")
    gold = apply_unified_diff({path: old}, row["patch"])[path] or ""
    changed = next(line for line in row["patch"].splitlines() if line.startswith("+") and not line.startswith("+++"))
    commented = gold.replace(changed[1:], changed[1:] + "  # the fix", 1)
    other = old.replace("\n\n\ndef ", "\n\n\ndef _patchline_unused():\n    return None\n\n\ndef ", 1)
    broken = gold.replace(changed[1:], changed[1:] + " (", 1)

    def answer(new: str) -> str:
        return "Here is the fix.\n\n" + search_replace_from_diff(render_patch({path: (old, new)}))

    return {"gold": answer(gold), "commented": answer(commented), "other": answer(other), "broken": answer(broken)}


# Sample i of instance A answers PLAN[i]: the fix's form wins 4 to 3; its first sample (2) is the commented one.
PLAN = ["", "other", "commented", "gold", "other", "broken", "gold", "gold", "", "broken", "other"]


def _answers(scenario: Scenario) -> object:
    variants = {iid: _variants(scenario, iid) for iid in GOLD_INSTANCES}

    def answer(iid: str, sample: int) -> ResponseLine | None:
        kind = PLAN[sample] if iid == A else ("broken" if sample % 2 else "")
        text = variants[iid][kind] if kind else "I could not find the bug."
        return success(f"{iid}|{sample}", text)

    return answer


def test_eleven_samples_end_in_the_majority_prediction_with_its_reasons(scenario: Scenario) -> None:
    settings = repair_settings(scenario, sampling__samples=11, workflow__skip_greedy=False)
    generate_requests(settings, output_folder(scenario))
    responses = scenario.root / "responses.jsonl"
    write_responses(scenario.root / "out" / "requests-repair.jsonl", responses, _answers(scenario))  # type: ignore[arg-type]
    summary = process_responses(settings, output_folder(scenario), str(responses))
    out = scenario.root / "out"
    table = _records(out / "samples.jsonl")
    assert len(table) == 22 and {(r["instance_id"], r["sample"]) for r in table} == {
        (iid, i) for iid in GOLD_INSTANCES for i in range(11)
    }
    rows = {r["sample"]: r for r in table if r["instance_id"] == A}
    assert rows[2]["normalized_hash"] == rows[3]["normalized_hash"] == rows[7]["normalized_hash"]
    assert rows[1]["normalized_hash"] != rows[2]["normalized_hash"]
    assert rows[5]["status"] == "syntax_error" and rows[5]["model_patch"] == "" and not rows[5]["valid"]
    assert rows[3]["valid"] and rows[3]["applies"] and rows[3]["syntax_ok"] and rows[0]["applies"] is None
    assert rows[3]["prompt_tokens"] == 1  # the usage the server reported

    selection = {r["instance_id"]: r for r in _records(out / "selection.jsonl")}
    assert selection[A]["strategy"] == "agentless-majority" and selection[A]["chosen_sample"] == 2
    assert [(v["votes"], v["samples"]) for v in selection[A]["votes"]] == [(4, [2, 3, 6, 7]), (3, [1, 4, 10])]
    assert {e["sample"] for e in selection[A]["excluded"]} == {0, 5, 8, 9}
    assert selection[B]["chosen_sample"] is None and selection[B]["reason"] == "every patch is empty"

    predictions = {r["instance_id"]: r for r in _records(out / "predictions.jsonl")}
    assert predictions[A]["model_patch"] == rows[2]["model_patch"] and "# the fix" in predictions[A]["model_patch"]
    assert predictions[B]["model_patch"] == ""
    for i in range(11):  # pass@k: one harness file per sample index
        per_sample = {r["instance_id"]: r["model_patch"] for r in _records(out / "predictions" / f"sample_{i}.jsonl")}
        assert per_sample == {A: rows[i]["model_patch"], B: ""}
        normalized = {r["instance_id"]: r for r in _records(out / f"output_{i}_normalized.jsonl")}
        assert normalized[A]["normalized_patch"] == rows[i]["normalized_patch"]
        assert normalized[A]["model_patch"] == rows[i]["model_patch"]  # the processed record, plus its form
    assert summary.selection.instances == 2 and summary.selection.without_valid == [B]


def test_resampling_adds_rounds_for_instances_without_a_valid_sample(scenario: Scenario) -> None:
    settings = repair_settings(
        scenario,
        sampling__samples=3,
        workflow__skip_greedy=False,
        workflow__selection__resample_invalid=2,
        workflow__selection__resample_samples=2,
    )
    generate_requests(settings, output_folder(scenario))
    out = scenario.root / "out"
    responses = scenario.root / "responses.jsonl"
    variants = {iid: _variants(scenario, iid) for iid in GOLD_INSTANCES}
    write_responses(
        out / "requests-repair.jsonl",
        responses,
        lambda iid, i: success(f"{iid}|{i}", variants[iid]["gold" if iid == A else "broken"]),
    )
    first = process_responses(settings, output_folder(scenario), str(responses))
    assert first.resample.round == 1 and first.resample.requests == 2 and first.resample.instances == 1
    assert any("patchline infer process_batch_requests --input_file" in line for line in first.describe())
    round_one = [json.loads(line) for line in (out / "requests-resample-1.jsonl").read_text().splitlines()]
    assert [r["custom_id"] for r in round_one] == [f"{B}|3", f"{B}|4"]  # new indices, the same prompt
    original = json.loads((out / "requests-repair.jsonl").read_text().splitlines()[-1])
    assert round_one[0]["body"]["messages"] == original["body"]["messages"]

    again = process_responses(settings, output_folder(scenario), str(responses))  # not sent yet: nothing new
    assert again.resample.waiting == 2 and again.resample.requests == 0
    assert not (out / "requests-resample-2.jsonl").exists()

    write_responses(
        out / "requests-resample-1.jsonl", responses, lambda iid, i: success(f"{iid}|{i}", variants[iid]["gold"])
    )
    done = process_responses(settings, output_folder(scenario), str(responses))
    assert (
        done.resample.requests == 0 and done.resample.waiting == 0 and not (out / "requests-resample-2.jsonl").exists()
    )
    rows = [r for r in _records(out / "samples.jsonl") if r["instance_id"] == B]
    assert [(r["sample"], r["round"], r["valid"]) for r in rows] == [
        (0, 0, False),
        (1, 0, False),
        (2, 0, False),
        (3, 1, True),
        (4, 1, True),
    ]
    selection = {r["instance_id"]: r for r in _records(out / "selection.jsonl")}
    assert selection[B]["chosen_sample"] == 3
    assert not (out / "output_3_processed.jsonl").exists()  # resampled samples live in the table only
    assert len(_records(out / "predictions" / "sample_3.jsonl")) == 1


def _empty_answers(tokens: int) -> object:
    def answer(iid: str, sample: int) -> ResponseLine:
        body = {"choices": [{"message": {"content": ""}}], "usage": {"prompt_tokens": tokens}}
        return ResponseLine.success(f"{iid}|{sample}", body)

    return answer


@pytest.mark.parametrize(("tokens", "written", "held_back"), [(1, 1, 1), (5, 0, 2)])
def test_a_token_budget_holds_resampling_back(scenario: Scenario, tokens: int, written: int, held_back: int) -> None:
    """Answers that used ``tokens`` each make one more sample cost as much; the budget of 1 token admits
    one instance's request or none."""
    settings = repair_settings(
        scenario,
        sampling__samples=2,
        workflow__skip_greedy=False,
        workflow__selection__resample_invalid=1,
        workflow__selection__resample_token_budget=1,
    )
    generate_requests(settings, output_folder(scenario))
    responses = scenario.root / "responses.jsonl"
    write_responses(scenario.root / "out" / "requests-repair.jsonl", responses, _empty_answers(tokens))  # type: ignore[arg-type]
    summary = process_responses(settings, output_folder(scenario), str(responses))
    assert summary.resample.requests == written and summary.resample.over_budget == held_back
    assert (scenario.root / "out" / "requests-resample-1.jsonl").exists() == bool(written)
