"""Planning carries the spec's sections whole into each stage's settings, and agrees with the workflows' files."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from patchline.core.spec import (
    AgentlessStage,
    EditBenchStage,
    InferenceStage,
    Rollout,
    RolloutStage,
    Sampling,
    parse_manifest,
)
from patchline.pipeline.plan import RoundsPlan, StagePlan, plan_rollout, planned_stages
from patchline.workflows.editbench import EditBenchRun

pytestmark = pytest.mark.unit


def rollout(workflow: dict[str, Any], **spec: Any) -> Rollout:
    run = parse_manifest(
        {
            "apiVersion": "patchline.dev/v1alpha1",
            "kind": "Rollout",
            "metadata": {"name": "p"},
            "spec": {
                "engine": {"type": "endpoint", "urls": ["http://127.0.0.1:1"], "model": "served"},
                "dataset": {"source": "d.jsonl", "instances": ["a__b-1"]},
                "repositories": {"structureDir": "s"},
                "workflow": workflow,
                "executor": {"concurrency": 5, "timeoutSeconds": 9},
                **spec,
            },
        }
    )
    assert isinstance(run, Rollout)
    return run


def test_agentless_stages_hold_the_spec_sections() -> None:
    run = rollout({"type": "agentless", "locFile": "l.jsonl", "topN": 3}, sampling={"maxTokens": 123, "samples": 4})
    stages = planned_stages(plan_rollout(run, run_uri="/r"))
    assert [s.name for s in stages] == ["build_requests", "infer", "process"]
    build, infer, process = stages
    assert isinstance(build.settings, AgentlessStage) and build.settings == process.settings
    assert build.settings.workflow is run.spec.workflow and build.settings.sampling == run.spec.sampling
    assert build.settings.dataset == run.spec.dataset and build.settings.model == "served"
    assert build.settings.batch_output == "/r/responses-repair.jsonl"
    assert isinstance(infer.settings, InferenceStage) and infer.settings.executor == run.spec.executor
    assert infer.settings.input == "/r/requests-repair.jsonl" and infer.settings.endpoints is None


def test_agentless_resampling_rounds_answer_into_the_same_responses() -> None:
    workflow = {"type": "agentless", "locFile": "l.jsonl", "selection": {"resampleInvalid": 2, "plausible": True}}
    plan = plan_rollout(rollout(workflow, sampling={"samples": 3}), run_uri="/r")
    assert [type(item).__name__ for item in plan] == ["StagePlan", "StagePlan", "StagePlan", "RoundsPlan"]
    rounds = plan[-1]
    assert isinstance(rounds, RoundsPlan) and rounds.max_rounds == 2
    infer, process = rounds.stages_of(1)
    assert (infer.name, process.name) == ("infer_resample_2", "process_resample_2")
    assert isinstance(infer.settings, InferenceStage) and infer.settings.input == "/r/requests-resample-2.jsonl"
    assert infer.settings.output == "/r/responses-repair.jsonl"
    assert isinstance(process.settings, AgentlessStage) and process.settings.workflow.selection.plausible
    assert [s.name for s in planned_stages(plan, seen=["infer_resample_1", "process_resample_1"])][-2:] == [
        "infer_resample_1",
        "process_resample_1",
    ]


def test_rollout_stages_differ_only_in_their_files() -> None:
    run = rollout({"type": "testwriter", "numWorkers": 3})
    stages = planned_stages(plan_rollout(run, run_uri="/r"))
    assert [s.name for s in stages] == ["gen_step1", "infer_step1", "proc_step1_gen_step2", "infer_step2", "proc_step2"]
    files = {s.name: s.settings for s in stages if isinstance(s.settings, RolloutStage)}
    assert files["gen_step1"].output_file == "/r/batch_requests_step1.jsonl"
    assert files["proc_step2"].step1_file == "/r/batch_output_step1.jsonl"
    assert files["proc_step2"].sampling == Sampling()  # no sampling section: the model's defaults
    assert all(s.workflow is run.spec.workflow and s.save_dir == "/r" for s in files.values())


def test_editbench_rounds_use_the_files_the_workflow_reads_and_writes(tmp_path: Path) -> None:
    run = rollout({"type": "editbench", "useBm25": True, "topn": 5, "maxRounds": 3})
    items = plan_rollout(run, run_uri=str(tmp_path))
    assert [i.name for i in items] == ["build_prompts", "prepare", "rounds", "merge"]
    rounds = items[2]
    assert isinstance(rounds, RoundsPlan) and rounds.max_rounds == 3
    prepare = items[1]
    assert isinstance(prepare, StagePlan) and isinstance(prepare.settings, EditBenchStage)
    assert prepare.settings.sampling is None  # no sampling section: the seed's per-model table
    workflow_run = EditBenchRun.of(prepare.settings, str(tmp_path))
    for number in range(3):
        infer, collect = rounds.stages_of(number)
        assert isinstance(infer.settings, InferenceStage) and isinstance(collect.settings, EditBenchStage)
        assert (infer.settings.input, infer.settings.output) == workflow_run.round_files(number)
        assert collect.settings.round == number and collect.name == f"collect_r{number}"
    assert [s.name for s in planned_stages(items, seen=["infer_r0", "collect_r0"])] == [
        "build_prompts",
        "prepare",
        "infer_r0",
        "collect_r0",
        "merge",
    ]


def test_every_catalogued_operation_is_implemented_once_and_every_implementation_is_catalogued() -> None:
    from patchline.pipeline import catalog
    from patchline.pipeline.registry import OPERATIONS

    refs = [value for value in vars(catalog).values() if isinstance(value, catalog.OperationRef)]
    assert sorted(ref.name for ref in refs) == sorted(OPERATIONS)
    assert all(OPERATIONS[ref.name].ref is ref for ref in refs)


def test_every_planned_stage_names_a_catalogued_operation_with_settings_of_its_kind() -> None:
    from patchline.pipeline.registry import OPERATIONS

    workflows = [
        {"type": "agentless", "locFile": "l.jsonl", "selection": {"resampleInvalid": 1}},
        {"type": "bugfixer"},
        {"type": "testwriter"},
        {"type": "editbench"},
    ]
    for workflow in workflows:
        plan = plan_rollout(rollout(workflow), run_uri="runs/p")
        names = [item.name for item in plan] + [
            s.name for item in plan if isinstance(item, RoundsPlan) for s in item.stages_of(0)
        ]
        for stage in planned_stages(plan, seen=names):
            assert OPERATIONS[stage.operation.name].check(stage.settings) is stage.settings


def test_a_stage_with_settings_of_another_kind_is_refused_at_planning() -> None:
    from patchline.pipeline.catalog import AGENTLESS_PROCESS

    with pytest.raises(TypeError, match="agentless.process takes AgentlessStage settings"):
        StagePlan("process", AGENTLESS_PROCESS, InferenceStage(input="i", output="o"))
