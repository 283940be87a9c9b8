"""``--batch_gen`` reruns and ``--process_batch`` never mix runs: other settings' requests and answers are refused."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from patchline.core.batch import ResponseLine
from patchline.core.errors import PreconditionError
from patchline.core.fingerprint import REQUEST_FINGERPRINT, request_fingerprint
from patchline.core.spec import AgentlessStage
from patchline.workflows.agentless import generate_requests, process_responses
from tests.unit.workflows.agentless.helpers import GOLD_INSTANCES, Scenario, oracle_answer, repair_settings

pytestmark = pytest.mark.unit


def _settings(scenario: Scenario, **changes: object) -> AgentlessStage:
    """Two samples (the greedy one and one at 0.6) over the scenario's loc file."""
    base: dict[str, object] = {
        "model": "deepseek-ai/DeepSeek-V3",
        "sampling__samples": 2,
        "workflow__skip_greedy": False,
        "sampling__temperature": 0.6,
    }
    return repair_settings(scenario, **{**base, **changes})


def _out(scenario: Scenario) -> str:
    return str(scenario.root / "out")


def _requests(scenario: Scenario) -> list[dict[str, object]]:
    path = scenario.root / "out" / "requests-repair.jsonl"
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ({"model": "Qwen/Qwen3-8B"}, "model"),
        ({"sampling__temperature": 1.0}, "temperature"),
        ({"sampling__max_tokens": 4096}, "max_tokens"),
        ({"workflow__context_window": 3}, "context_window"),
    ],
)
def test_a_rerun_with_other_settings_is_refused(scenario: Scenario, change: dict[str, object], named: str) -> None:
    generate_requests(_settings(scenario), _out(scenario))
    before = (scenario.root / "out" / "requests-repair.jsonl").read_bytes()
    args_before = (scenario.root / "out" / "args.json").read_bytes()
    with pytest.raises(PreconditionError) as refused:
        generate_requests(_settings(scenario, **change), _out(scenario))
    message = str(refused.value)
    assert "requests-repair.jsonl" in message and f"'{GOLD_INSTANCES[0]}|0'" in message and named in message
    assert "--restart" in message and "--accept-existing" in message and "\n" not in message
    assert (scenario.root / "out" / "requests-repair.jsonl").read_bytes() == before
    assert (scenario.root / "out" / "args.json").read_bytes() == args_before  # args.json still tells the truth


def test_restart_writes_the_requests_over_and_accept_keeps_them(scenario: Scenario) -> None:
    generate_requests(_settings(scenario), _out(scenario))
    summary = generate_requests(_settings(scenario, model="Qwen/Qwen3-8B", on_mismatch="restart"), _out(scenario))
    assert summary.written == 4 and summary.already_present == 0
    assert {r["body"]["model"] for r in _requests(scenario)} == {"Qwen/Qwen3-8B"}  # type: ignore[index]
    assert len(list((scenario.root / "out").glob("requests-repair.jsonl.replaced-*"))) == 1
    kept = generate_requests(_settings(scenario, model="other", on_mismatch="accept"), _out(scenario))
    assert kept.written == 0 and kept.already_present == 4


def test_settings_that_shape_no_request_change_nothing(scenario: Scenario) -> None:
    generate_requests(_settings(scenario), _out(scenario))
    again = generate_requests(
        _settings(
            scenario, workflow__num_threads=2, workflow__selection__strategy="1", workflow__selection__plausible=True
        ),
        _out(scenario),
    )
    assert again.written == 0 and again.already_present == 4


def _answers_for(requests_file: Path, dest: Path, rows: dict[str, dict[str, object]]) -> None:
    with dest.open("w", encoding="utf-8") as out:
        for raw in requests_file.read_bytes().splitlines():
            line = json.loads(raw)
            body = raw[raw.index(b'"body":') + len(b'"body":') : -1]  # the body's bytes as the executor reads them
            fingerprint = request_fingerprint(line["url"], body)
            instance_id = str(line["custom_id"]).rpartition("|")[0]
            message = {"role": "assistant", "content": oracle_answer(rows[instance_id])}
            response = ResponseLine.success(
                line["custom_id"], {"choices": [{"message": message}]}, patchline={REQUEST_FINGERPRINT: fingerprint}
            )
            out.write(response.model_dump_json() + "\n")


def test_process_batch_refuses_answers_to_another_runs_requests(scenario: Scenario, tmp_path: Path) -> None:
    other, other_out = _settings(scenario, model="Qwen/Qwen3-8B"), str(tmp_path / "other")
    generate_requests(other, other_out)
    _answers_for(tmp_path / "other" / "requests-repair.jsonl", tmp_path / "answers.jsonl", scenario.instances)
    assert process_responses(other, other_out, str(tmp_path / "answers.jsonl")).patches > 0  # its own run: fine
    mine = _settings(scenario)
    generate_requests(mine, _out(scenario))
    with pytest.raises(PreconditionError, match=r"answers\.jsonl: 4 answer\(s\).*other requests"):
        process_responses(mine, _out(scenario), str(tmp_path / "answers.jsonl"))
    accepting = _settings(scenario, on_mismatch="accept")
    assert process_responses(accepting, _out(scenario), str(tmp_path / "answers.jsonl")).patches > 0
