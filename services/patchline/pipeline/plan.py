"""A run as an ordered plan of stages: which operation each runs, on which service, with which typed settings.

Planning is pure: it reads the run spec and builds each stage's settings model from the spec's sections,
carried whole (``patchline.core.spec.stages``). It imports no workflow, so the operator can plan without
loading what the stages run. The same plan is walked by the stage driver in ``patchline run`` (in process or
``--via`` the services) and by the operator (services and child InferenceRuns).
"""

from __future__ import annotations

import posixpath
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from patchline.core import layout
from patchline.core.spec import (
    AgentlessStage,
    AgentlessWorkflow,
    EditBenchStage,
    EditBenchWorkflow,
    InferenceRun,
    InferenceStage,
    Rollout,
    RolloutSpec,
    RolloutStage,
    RolloutWorkflow,
    Sampling,
    StageSettings,
    resolve_uri,
)
from patchline.pipeline.catalog import (
    AGENTLESS_BUILD_REQUESTS,
    AGENTLESS_PROCESS,
    EDITBENCH_BUILD_PROMPTS,
    EDITBENCH_COLLECT,
    EDITBENCH_MERGE,
    EDITBENCH_PREPARE,
    GATEWAY_EXECUTE,
    ROLLOUT_GEN_STEP1,
    ROLLOUT_PROC_STEP1_GEN_STEP2,
    ROLLOUT_PROC_STEP2,
    OperationRef,
)

__all__ = [
    "PlanItem",
    "RoundsPlan",
    "StagePlan",
    "inference_stage",
    "plan_inference_run",
    "plan_rollout",
    "plan_run",
    "planned_stages",
    "run_root",
]


@dataclass(frozen=True)
class StagePlan:
    """One stage: its name, the operation it runs (``patchline.pipeline.catalog``) and its settings.

    An inference stage's settings get their ``endpoints`` when the model is up; everything else is fixed by
    the spec, so a rerun plans the same stages with the same settings.
    """

    name: str
    operation: OperationRef[Any]
    settings: StageSettings

    def __post_init__(self) -> None:
        if not self.operation.accepts(self.settings):
            raise TypeError(
                f"stage {self.name}: {self.operation.name} takes {self.operation.settings.__name__} settings"
            )

    @property
    def is_inference(self) -> bool:
        """True for a plain request-file inference (a child InferenceRun on a cluster)."""
        return self.operation == GATEWAY_EXECUTE


@dataclass(frozen=True)
class RoundsPlan:
    """Stages repeated in rounds while the last stage of the previous round (or the stage before the first
    round) reports ``pending`` items: EditBench's inference, re-sent with less context after an overflow, and
    Agentless' resampling of instances without a valid sample."""

    name: str
    stages_of: Callable[[int], Sequence[StagePlan]]
    max_rounds: int


PlanItem = StagePlan | RoundsPlan


def planned_stages(plan: Sequence[PlanItem], *, seen: Sequence[str] = ()) -> list[StagePlan]:
    """The plan's stages in order: every plain stage, and of the rounds those whose names are in ``seen``."""
    stages: list[StagePlan] = []
    for item in plan:
        if isinstance(item, StagePlan):
            stages.append(item)
            continue
        for number in range(item.max_rounds):
            round_stages = [s for s in item.stages_of(number) if s.name in seen]
            if not round_stages:
                break
            stages.extend(round_stages)
    return stages


def inference_stage(name: str, *, input_uri: str, output_uri: str, run: Rollout | InferenceRun) -> StagePlan:
    """An inference stage with the spec's executor settings (endpoints are added when the model is up)."""
    settings = InferenceStage(
        input=input_uri, output=output_uri, executor=run.spec.executor, on_mismatch=run.spec.on_mismatch
    )
    return StagePlan(name, GATEWAY_EXECUTE, settings)


def run_root(run: Rollout | InferenceRun, base: str) -> str:
    """Where a run keeps its artifacts and stage records: a Rollout's output, an InferenceRun's output folder."""
    if isinstance(run, Rollout):
        return run.output_uri(base)
    return posixpath.dirname(run.output_uri(base)) or base


def plan_inference_run(run: InferenceRun, *, base: str) -> list[PlanItem]:
    """An InferenceRun is one inference stage."""
    return [
        inference_stage("infer", input_uri=resolve_uri(run.spec.input, base), output_uri=run.output_uri(base), run=run)
    ]


def _shared_sections(spec: RolloutSpec) -> dict[str, Any]:
    """What every workflow stage takes from the Rollout as it is: the data, the repositories, the model name."""
    return {"dataset": spec.dataset, "repositories": spec.repositories, "model": spec.engine.model_name}


def _resumable_sections(spec: RolloutSpec) -> dict[str, Any]:
    """The shared sections of a stage that writes requests or reads answers: with sampling and onMismatch."""
    return {**_shared_sections(spec), "sampling": spec.sampling or Sampling(), "on_mismatch": spec.on_mismatch}


def _agentless(rollout: Rollout, workflow: AgentlessWorkflow, run_uri: str) -> list[PlanItem]:
    """build_requests -> infer -> process, all in the run root; with ``selection.resampleInvalid`` then rounds of
    (infer the round's requests into the same responses, process again) while a round has requests."""
    spec = rollout.spec
    requests, responses = (f"{run_uri}/{name}" for name in (layout.AGENTLESS_REQUESTS, layout.AGENTLESS_RESPONSES))
    settings = AgentlessStage(**_resumable_sections(spec), workflow=workflow, batch_output=responses)
    stages: list[PlanItem] = [
        StagePlan("build_requests", AGENTLESS_BUILD_REQUESTS, settings),
        inference_stage("infer", input_uri=requests, output_uri=responses, run=rollout),
        StagePlan("process", AGENTLESS_PROCESS, settings),
    ]

    def resample_round(number: int) -> list[StagePlan]:
        # Round number + 1's requests are answered into the same response file; processing reads every round.
        round_requests = f"{run_uri}/{layout.agentless_resample_requests(number + 1)}"
        return [
            inference_stage(
                f"infer_resample_{number + 1}", input_uri=round_requests, output_uri=responses, run=rollout
            ),
            StagePlan(f"process_resample_{number + 1}", AGENTLESS_PROCESS, settings),
        ]

    if workflow.selection.resample_invalid:
        stages.append(RoundsPlan("resample", resample_round, workflow.selection.resample_invalid))
    return stages


def _rollout(rollout: Rollout, workflow: RolloutWorkflow, run_uri: str) -> list[PlanItem]:
    """The five stages of a BugFixer or TestWriter rollout, with the step files in the run root."""
    spec = rollout.spec
    settings = RolloutStage(**_resumable_sections(spec), workflow=workflow, save_dir=run_uri)
    requests1, output1 = (f"{run_uri}/{layout.rollout_step_file(kind, 1)}" for kind in ("requests", "output"))
    requests2, output2 = (f"{run_uri}/{layout.rollout_step_file(kind, 2)}" for kind in ("requests", "output"))
    step2 = {"input_file": output1, "output_file": requests2}
    return [
        StagePlan("gen_step1", ROLLOUT_GEN_STEP1, settings.model_copy(update={"output_file": requests1})),
        inference_stage("infer_step1", input_uri=requests1, output_uri=output1, run=rollout),
        StagePlan("proc_step1_gen_step2", ROLLOUT_PROC_STEP1_GEN_STEP2, settings.model_copy(update=step2)),
        inference_stage("infer_step2", input_uri=requests2, output_uri=output2, run=rollout),
        StagePlan(
            "proc_step2",
            ROLLOUT_PROC_STEP2,
            settings.model_copy(update={"input_file": output2, "step1_file": output1}),
        ),
    ]


def _editbench(rollout: Rollout, workflow: EditBenchWorkflow, run_uri: str) -> list[PlanItem]:
    """build_prompts -> prepare -> rounds of (infer, collect) -> merge, in the EditBench layout of the run root."""
    spec = rollout.spec
    settings = EditBenchStage(**_shared_sections(spec), workflow=workflow, sampling=spec.sampling)
    work_dir = layout.editbench_work_dir(
        layout.editbench_infbench(workflow.dataset_name, workflow.effective_run_id), settings.model
    )

    def round_stages(number: int) -> list[StagePlan]:
        requests, responses = (
            f"{run_uri}/{layout.editbench_round(work_dir, number, kind)}" for kind in ("requests", "responses")
        )
        collect = settings.model_copy(update={"round": number})
        return [
            inference_stage(f"infer_r{number}", input_uri=requests, output_uri=responses, run=rollout),
            StagePlan(f"collect_r{number}", EDITBENCH_COLLECT, collect),
        ]

    return [
        StagePlan("build_prompts", EDITBENCH_BUILD_PROMPTS, settings),
        StagePlan("prepare", EDITBENCH_PREPARE, settings),
        RoundsPlan("rounds", round_stages, workflow.max_rounds),
        StagePlan("merge", EDITBENCH_MERGE, settings),
    ]


def plan_run(run: Rollout | InferenceRun, *, base: str) -> list[PlanItem]:
    """The stages of either kind of manifest, its run root below ``base`` (``run_root``)."""
    if isinstance(run, Rollout):
        return plan_rollout(run, run_uri=run_root(run, base))
    return plan_inference_run(run, base=base)


def plan_rollout(rollout: Rollout, *, run_uri: str) -> list[PlanItem]:
    """The stages of a Rollout, in order, as its workflow defines them."""
    workflow = rollout.spec.workflow
    if isinstance(workflow, AgentlessWorkflow):
        return _agentless(rollout, workflow, run_uri)
    if isinstance(workflow, RolloutWorkflow):
        return _rollout(rollout, workflow, run_uri)
    return _editbench(rollout, workflow, run_uri)
