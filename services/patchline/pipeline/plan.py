"""A run as an ordered list of planned stages: which operation each stage calls, with which parameters."""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from patchline.core.errors import InputError
from patchline.core.spec import InferenceRun, Rollout

__all__ = ["INFERENCE_OPERATION", "StagePlan", "plan_inference_run", "plan_rollout"]

INFERENCE_OPERATION = "gateway.execute"

# Workflow type -> module with `plan(rollout, run_uri) -> list[StagePlan]`. Read-only.
_PLANNERS: Mapping[str, str] = MappingProxyType(
    {
        "agentless": "patchline.pipeline.adapters.agentless",
        "bugfixer": "patchline.pipeline.adapters.rollout",
        "testwriter": "patchline.pipeline.adapters.rollout",
        "editbench": "patchline.pipeline.adapters.editbench",
    }
)


@dataclass(frozen=True)
class StagePlan:
    """One stage: its name (from the spec), the operation it runs, the hosting service and parameters.

    Inference stages get their ``endpoints`` (and model) when the engine is up; every other parameter
    is fixed by the spec, so a rerun plans the same stages with the same parameters.
    """

    name: str
    operation: str
    service: str
    params: Mapping[str, Any] = field(default_factory=dict)
    needs_model: bool = False  # gets `endpoints`, `model` (and `api_key_env`) when the engine is up

    @property
    def is_inference(self) -> bool:
        """True for a plain request-file inference (a child InferenceRun on a cluster)."""
        return self.operation == INFERENCE_OPERATION


def inference_stage(name: str, *, input_uri: str, output_uri: str, run: Rollout | InferenceRun) -> StagePlan:
    """An inference stage with the executor settings of the spec (endpoints are added at run time)."""
    executor = run.spec.executor
    return StagePlan(
        name,
        INFERENCE_OPERATION,
        "gateway",
        needs_model=True,
        params={
            "input": input_uri,
            "output": output_uri,
            "concurrency": executor.concurrency,
            "timeout": executor.timeout_seconds,
            "max_attempts": executor.max_attempts,
            "affinity": executor.affinity,
            "compact": executor.compact,
            "deadline": executor.deadline_seconds,
        },
    )


def plan_inference_run(run: InferenceRun, *, base: str) -> list[StagePlan]:
    """An InferenceRun is one inference stage."""
    output = run.output_uri(base)
    input_uri = (
        run.spec.input if "://" in run.spec.input or run.spec.input.startswith("/") else f"{base}/{run.spec.input}"
    )
    return [inference_stage("infer", input_uri=input_uri, output_uri=output, run=run)]


def plan_rollout(rollout: Rollout, *, run_uri: str) -> list[StagePlan]:
    """The stages of a Rollout, in order, as its workflow defines them."""
    workflow_type = rollout.spec.workflow.type
    module_name = _PLANNERS.get(workflow_type)
    if module_name is None:
        raise InputError(f"no planner for workflow {workflow_type!r}")
    stages: list[StagePlan] = importlib.import_module(module_name).plan(rollout, run_uri)
    expected = rollout.stages()
    if tuple(stage.name for stage in stages) != expected:
        raise InputError(f"planner of {workflow_type} produced {[s.name for s in stages]}, expected {list(expected)}")
    return stages
