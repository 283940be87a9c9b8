"""Documented artifact paths, and the temperature format shared by EditBench writer and readers."""

from __future__ import annotations

import pytest

from patchline.core import layout
from patchline.core.errors import InputError, UnsafePathError
from patchline.core.safepath import safe_component

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(("value", "text"), [(0, "0"), (0.0, "0"), (1.0, "1"), (0.8, "0.8"), (0.25, "0.25"), (2, "2")])
def test_temperature_format_matches_the_original_directories(value: float, text: str) -> None:
    assert layout.format_temperature(value) == text


@pytest.mark.parametrize("value", [-1.0, float("nan"), float("inf")])
def test_invalid_temperatures_are_refused(value: float) -> None:
    with pytest.raises(InputError):
        layout.format_temperature(value)


def test_editbench_paths() -> None:
    assert layout.editbench_result("deepseek-v3.2", 0.0, 1, "all-task-instances_0.2") == (
        "experiment_results/deepseek-v3.2/T=0/n=1/all-task-instances_0.2.jsonl"
    )
    assert layout.editbench_infbench("all", "0.2_bm25_5") == "crawled_data/infbench/all-task-instances_0.2_bm25_5.jsonl"
    assert (
        layout.editbench_infbench("django/django", "0.2")
        == "crawled_data/infbench/django-django-task-instances_0.2.jsonl"
    )


def test_agentless_and_rollout_paths() -> None:
    assert layout.AGENTLESS_REQUESTS == "requests-repair.jsonl"
    assert layout.agentless_processed(3) == "output_3_processed.jsonl"
    assert layout.agentless_log("astropy__astropy-12907") == "repair_logs/astropy__astropy-12907.log"
    assert layout.rollout_sample("a__pass1") == "samples/a__pass1.jsonl"
    assert layout.rollout_processed_tests(0) == "output_0_processed_reproduction_test.jsonl"
    assert layout.rollout_step_file("output", 2) == "batch_output_step2.jsonl"


@pytest.mark.parametrize("bad", ["../x", "a/b", "..", ".hidden", "x" * 300, "id|0", "a\x00b"])
def test_per_item_names_from_data_stay_one_bounded_name_in_their_folder(bad: str) -> None:
    for folder, name in (layout.agentless_log(bad).split("/"), layout.rollout_sample(bad).split("/")):
        assert folder in ("repair_logs", "samples")
        assert name == safe_component(name) and not name.startswith(".") and len(name.encode()) <= 120
    assert layout.rollout_sample(bad) != layout.rollout_sample(bad + "x")
    with pytest.raises(UnsafePathError):
        layout.rollout_sample("")


def test_model_names_may_be_nested_but_never_escape() -> None:
    assert layout.editbench_result_dir("org/model", 0.8, 2) == "experiment_results/org/model/T=0.8/n=2"
    with pytest.raises(UnsafePathError):
        layout.editbench_result_dir("../../etc", 0, 1)
