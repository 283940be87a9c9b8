"""The response index: latest line per custom_id, failures as data, bad lines reported."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from patchline.core.batch import ResponseLine
from patchline.core.spec import AgentlessWorkflow
from patchline.workflows.agentless.responses import ResponseIndex
from tests.unit.workflows.agentless.helpers import success

pytestmark = pytest.mark.unit

ANSWER_CAP = AgentlessWorkflow(loc_file="l").max_answer_bytes  # the default


def _write(path: Path, lines: list[str]) -> None:
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")


def test_latest_line_wins_and_failures_are_answers(tmp_path: Path) -> None:
    responses = tmp_path / "responses.jsonl"
    _write(
        responses,
        [
            success("a|1", "first").model_dump_json(),
            ResponseLine.failure("a|2", status_code=429, code="rate_limited", message="slow down").model_dump_json(),
            success("a|1", "second").model_dump_json(),
            json.dumps({"custom_id": "a|3", "response": None, "error": None}),
            success("a|4", None, reasoning="thinking only").model_dump_json(),
            success("b|0", "other").model_dump_json(),
            "not json",
            json.dumps({"custom_id": "no-sample-index", "response": {"status_code": 200, "body": {}}}),
            json.dumps([1, 2]),
        ],
    )
    with ResponseIndex.open(str(responses), max_answer_bytes=ANSWER_CAP) as index:
        answers = index.answers("a")
        assert sorted(answers) == [1, 2, 3, 4]
        assert answers[1].content == "second" and not answers[1].failure
        assert answers[2].failure.startswith("429 rate_limited")
        assert answers[3].failure.startswith("0 null_response")
        assert answers[4].reasoning_only and answers[4].reasoning == "thinking only"
        assert index.answers("b")[0].content == "other"
        assert index.answers("missing") == {}
        assert index.lines == 9 and index.foreign_ids == 1
        assert len(index.report) == 2  # "not json" and the list


def test_truncated_last_line_is_reported(tmp_path: Path) -> None:
    responses = tmp_path / "responses.jsonl"
    full = success("a|0", "ok").model_dump_json()
    responses.write_text(full + "\n" + full[: len(full) // 2], encoding="utf-8")
    with ResponseIndex.open(str(responses), max_answer_bytes=ANSWER_CAP) as index:
        assert index.answers("a")[0].content == "ok"
        assert len(index.report) == 1
