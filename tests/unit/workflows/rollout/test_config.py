"""Rollout settings: custom_id ranges, pass temperatures, request bodies."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from patchline.core.errors import InputError
from patchline.core.spec import RolloutStage
from patchline.workflows.rollout.common import pass_temperature
from patchline.workflows.rollout.config import IdRange, build_request, problem_statement
from tests.fixtures.stages import stage

pytestmark = pytest.mark.unit

IDS = ["b__pass1", "a__pass0", "c__pass0", "a__pass1", "b__pass0"]


def _config(**kw: object) -> RolloutStage:
    return stage(
        RolloutStage,
        workflow__type=kw.pop("workflow__type", "bugfixer"),
        dataset__source="d.jsonl",
        repositories__structure_dir="s",
        **kw,
    )  # type: ignore[arg-type]


def test_id_range_by_custom_id_start_included_end_excluded() -> None:
    assert IdRange("a__pass1", "b__pass1").select(IDS) == {"a__pass1", "b__pass0"}
    assert IdRange(None, "b").select(IDS) == {"a__pass0", "a__pass1"}
    assert IdRange("c", None).select(IDS) == {"c__pass0"}
    assert IdRange().select(IDS) == set(IDS)


def test_id_range_by_position_in_sorted_order() -> None:
    assert IdRange("1", "3").select(IDS) == {"a__pass1", "b__pass0"}
    assert IdRange("4", None).select(IDS) == {"c__pass0"}


def test_id_range_mixing_positions_and_ids_is_refused() -> None:
    with pytest.raises(InputError):
        IdRange("1", "b").select(IDS)


def test_testwriter_temperatures_pass0_greedy_others_one() -> None:
    config = _config(workflow__type="testwriter", sampling__temperature=0.7, sampling__samples=4)
    assert [pass_temperature(config, f"i__pass{k}") for k in range(4)] == [0.0, 1.0, 1.0, 1.0]
    single = _config(workflow__type="testwriter", sampling__temperature=0.7, sampling__samples=1)
    assert pass_temperature(single, "i") == 0.7  # passk 1: the custom_id is the instance id
    assert pass_temperature(single, "i__pass3") == 1.0  # ... unless the file's ids carry pass suffixes
    detected = _config(workflow__type="testwriter", sampling__temperature=0.7)
    assert pass_temperature(detected, "i__pass0") == 0.0
    assert pass_temperature(detected, "i") == 0.7


def test_bugfixer_uses_temp_for_every_pass() -> None:
    config = _config(sampling__temperature=0.6, sampling__samples=3)
    assert {pass_temperature(config, f"i__pass{k}") for k in range(3)} == {0.6}


def test_request_body_has_thinking_keys_in_both_forms() -> None:
    config = _config(
        model="m", sampling__max_tokens=100, sampling__enable_thinking=True, sampling__thinking_budget=5000
    )
    request = build_request("x__pass0", "hello", temperature=0.0, settings=config)
    body = request.body
    assert request.url == "/v1/chat/completions" and request.method == "POST"
    assert body["messages"] == [{"role": "user", "content": "hello"}]
    assert body["model"] == "m" and body["max_tokens"] == 100 and body["temperature"] == 0.0
    assert body["enable_thinking"] is True and body["chat_template_kwargs"] == {"enable_thinking": True}
    assert body["thinking_budget"] == 5000


@pytest.mark.parametrize(
    "kw",
    [
        {"workflow__type": "fixer"},
        {"sampling__samples": 0},
        {"workflow__num_workers": 0},
        {"repositories__structure_dir": None},
    ],
)
def test_bad_settings_are_refused_by_the_model(kw: dict[str, object]) -> None:
    base: dict[str, object] = {"workflow__type": "bugfixer", "dataset__source": "d", "repositories__structure_dir": "s"}
    with pytest.raises(ValidationError):
        stage(RolloutStage, **{**base, **kw})


def test_convert_crlf() -> None:
    assert problem_statement(_config(workflow__convert_crlf=True), "a\r\nb\r\n") == "a\nb\n"
    assert problem_statement(_config(), "a\r\nb") == "a\r\nb"
