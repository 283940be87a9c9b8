"""``--batch_gen`` on real instances: request bodies, resume without duplicates, instances without context."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pydantic import ValidationError

from patchline.core.spec import AgentlessStage
from patchline.workflows.agentless import generate_requests
from tests.unit.workflows.agentless.helpers import (
    GOLD_INSTANCES,
    Scenario,
    build_scenario,
    output_folder,
    repair_settings,
)

pytestmark = pytest.mark.unit


def _settings(scenario: Scenario, **changes: object) -> AgentlessStage:
    """The seed README's request flags: three samples with the greedy one, thinking on."""
    seed_flags: dict[str, object] = {
        "model": "deepseek-ai/DeepSeek-V3",
        "sampling__samples": 3,
        "workflow__skip_greedy": False,
        "sampling__temperature": 0.6,
        "sampling__max_tokens": 32768,
        "sampling__thinking_budget": 32768,
        "sampling__enable_thinking": True,
    }
    return repair_settings(scenario, **{**seed_flags, **changes})


def _lines(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_requests_follow_spec(scenario: Scenario) -> None:
    summary = generate_requests(_settings(scenario), output_folder(scenario))
    requests = _lines(scenario.root / "out" / "requests-repair.jsonl")
    assert summary.written == 6 and not summary.skipped
    assert [r["custom_id"] for r in requests] == [f"{iid}|{i}" for iid in GOLD_INSTANCES for i in range(3)]
    first = requests[0]
    assert first["method"] == "POST" and first["url"] == "/v1/chat/completions"
    body = first["body"]
    assert isinstance(body, dict)
    assert body["temperature"] == 0.0 and requests[1]["body"]["temperature"] == 0.6  # type: ignore[index]
    assert body["model"] == "deepseek-ai/DeepSeek-V3" and body["max_tokens"] == 32768 and body["top_p"] == 1.0
    assert body["enable_thinking"] is True and body["thinking_budget"] == 32768
    assert body["chat_template_kwargs"] == {"enable_thinking": True}
    [message] = body["messages"]
    assert message["role"] == "user" and "<<<<<<< SEARCH" in message["content"]
    assert scenario.instances[GOLD_INSTANCES[0]]["problem_statement"] in message["content"]
    assert "### sympy/printing/latex.py\n" in message["content"]
    assert json.loads((scenario.root / "out" / "args.json").read_text())["sampling"]["samples"] == 3
    assert len(_lines(scenario.root / "out" / "used_locs.jsonl")) == 2


def test_skip_greedy_and_resume_add_only_missing(scenario: Scenario) -> None:
    settings = _settings(scenario, workflow__skip_greedy=True)
    assert generate_requests(settings, output_folder(scenario)).written == 4
    path = scenario.root / "out" / "requests-repair.jsonl"
    kept = path.read_text(encoding="utf-8").splitlines()[:-1]
    path.write_text("\n".join(kept) + "\n", encoding="utf-8")  # lose the last request
    summary = generate_requests(settings, output_folder(scenario))
    assert summary.written == 1 and summary.already_present == 3
    ids = [r["custom_id"] for r in _lines(path)]
    assert sorted(ids) == sorted(f"{iid}|{i}" for iid in GOLD_INSTANCES for i in (1, 2)) and len(set(ids)) == 4
    assert generate_requests(settings, output_folder(scenario)).written == 0


def test_instances_without_context_get_no_request(scenario: Scenario) -> None:
    loc = scenario.root / "loc-bad.jsonl"
    loc.write_text(
        "\n".join(
            [
                json.dumps({"instance_id": GOLD_INSTANCES[0], "found_files": ["sympy/missing.py"]}),
                json.dumps(
                    {
                        "instance_id": GOLD_INSTANCES[1],
                        "found_files": ["sympy/polys/factortools.py"],
                        "found_edit_locs": {"sympy/polys/factortools.py": ["function: no_such_function"]},
                    }
                ),
                json.dumps({"instance_id": "django__django-11099", "found_files": ["x.py"]}),
                json.dumps({"instance_id": "sympy__sympy-20590", "found_files": []}),
                "{broken",
            ]
        )
        + "\n",
        encoding="utf-8",
    )
    summary = generate_requests(_settings(scenario, workflow__loc_file=str(loc)), output_folder(scenario))
    assert summary.written == 0
    assert summary.skipped == {
        "no_context": list(GOLD_INSTANCES),
        "not_in_dataset": ["django__django-11099", "sympy__sympy-20590"],
    }
    assert summary.bad_lines == 1
    assert (scenario.root / "out" / "requests-repair.jsonl").read_text() == ""
    assert any("no_context" in line for line in summary.describe())


def test_instances_the_manifest_leaves_out_are_not_selected_not_missing(scenario: Scenario) -> None:
    first, second = GOLD_INSTANCES
    summary = generate_requests(
        _settings(scenario, dataset__instances=[first], sampling__samples=1), output_folder(scenario)
    )
    assert summary.written == 1 and summary.skipped == {"not_selected": [second]}
    assert f"no request (not_selected): 1: {second}" in summary.describe()


def test_settings_refuse_what_cannot_work(scenario: Scenario) -> None:
    with pytest.raises(ValidationError, match="structureDir"):
        _settings(scenario, repositories__structure_dir=None)
    with pytest.raises(ValidationError, match="skipGreedy"):
        _settings(scenario, sampling__samples=1, workflow__skip_greedy=True)
    with pytest.raises(ValidationError, match="selection.strategy"):
        _settings(scenario, workflow__selection__strategy="3")  # sampling.samples is 3
    with pytest.raises(ValidationError, match="pattern"):
        _settings(scenario, workflow__selection__strategy="last")


def test_prompt_template_override(scenario: Scenario, tmp_path: Path) -> None:
    template = tmp_path / "mine.txt"
    template.write_text(
        "ISSUE:\n$problem_statement\nFILES:\n$file_contents\nUse <<<<<<< SEARCH edits.\n", encoding="utf-8"
    )
    generate_requests(
        _settings(scenario, workflow__templates_dir=str(template), sampling__samples=1), output_folder(scenario)
    )
    content = _lines(scenario.root / "out" / "requests-repair.jsonl")[0]["body"]["messages"][0]["content"]  # type: ignore[index]
    assert content.startswith("ISSUE:\n") and "FILES:\n### sympy/" in content


def _shipped_loc(shared_data: Path, instance_id: str) -> dict[str, object]:
    path = shared_data / "locagent_swe_reflexion" / "loc_outputs_mrr_deepseekv3.jsonl"
    for line in path.read_text(encoding="utf-8").splitlines():
        record = json.loads(line)
        if record["instance_id"] == instance_id:
            return record  # type: ignore[no-any-return]
    raise AssertionError(f"{instance_id} is not in {path}")


def test_the_shipped_locagent_file_gives_windows_not_whole_files(
    tmp_path: Path, shared_data: Path, caplog: pytest.LogCaptureFixture
) -> None:
    instance_id = "sympy__sympy-19254"
    scenario = build_scenario(
        tmp_path, shared_data / "swebench_lite" / "swe_bench_lite_test.jsonl", instance_ids=[instance_id], git=False
    )
    record = _shipped_loc(shared_data, instance_id)
    assert "found_edit_locs" not in record and record["raw_output_loc"]
    scenario.loc_file.write_text(json.dumps(record) + "\n", encoding="utf-8")
    summary = generate_requests(
        _settings(scenario, workflow__context_window=10, sampling__samples=1),
        output_folder(scenario),
    )
    assert summary.written == 1
    assert "edit locations read from raw_output_loc: 1" in summary.describe()
    prompt = _lines(scenario.root / "out" / "requests-repair.jsonl")[0]["body"]["messages"][0]["content"]  # type: ignore[index]
    whole = (scenario.repo / "sympy/polys/factortools.py").read_text(encoding="utf-8")
    assert "\n...\n" in prompt and len(prompt) < len(whole) / 2  # windows around the locations
    [used] = _lines(scenario.root / "out" / "used_locs.jsonl")
    assert list(used["found_edit_locs"]) == ["sympy/polys/factortools.py"]  # type: ignore[call-overload]
    assert not [r for r in caplog.records if r.levelname == "WARNING"]


def test_records_without_any_edit_locations_are_counted_and_warned_about(
    scenario: Scenario, caplog: pytest.LogCaptureFixture
) -> None:
    summary = generate_requests(
        _settings(scenario, sampling__samples=1), output_folder(scenario)
    )  # the scenario's loc file has empty locations
    assert summary.written == 2
    assert summary.edit_locs.without == list(GOLD_INSTANCES)
    assert f"no edit locations, files shown whole: 2: {', '.join(GOLD_INSTANCES)}" in summary.describe()
    warnings = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert any("2 of 2 instance(s) have no edit locations" in w and "--loc_interval" in w for w in warnings)
