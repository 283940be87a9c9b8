"""BugFixer and TestWriter stages as operations: ``rollout.gen_step1``, ``.proc_step1_gen_step2``, ``.proc_step2``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from patchline.core.spec import RolloutStage, RolloutStep
from patchline.pipeline.catalog import ROLLOUT_GEN_STEP1, ROLLOUT_PROC_STEP1_GEN_STEP2, ROLLOUT_PROC_STEP2
from patchline.pipeline.operations import Operation, OperationContext, OperationResult
from patchline.workflows.rollout import run_stage

__all__ = ["OPERATIONS"]


def _runner(stage: RolloutStep) -> Callable[[OperationContext[RolloutStage]], OperationResult]:
    def run(context: OperationContext[RolloutStage]) -> OperationResult:
        """Run one rollout stage with the stage's files (stage 3's outputs in ``save_dir``, the run root)."""
        settings = context.settings
        if settings.save_dir is None:
            settings = settings.model_copy(update={"save_dir": context.run.root})
        summary = run_stage(settings, stage, progress=context.progress, hooks=context.services.selection_hooks)
        artifacts = {uri.rsplit("/", 1)[-1].removesuffix(".jsonl"): uri for uri in summary.outputs}
        return OperationResult(
            artifacts=artifacts,
            counts={"total": summary.items, "succeeded": summary.written, "failed": summary.failed},
            message=summary.describe().splitlines()[0],
        )

    return run


OPERATIONS: tuple[Operation[Any], ...] = (
    Operation(ROLLOUT_GEN_STEP1, run=_runner("gen_step1")),
    Operation(ROLLOUT_PROC_STEP1_GEN_STEP2, run=_runner("proc_step1_gen_step2")),
    Operation(ROLLOUT_PROC_STEP2, run=_runner("proc_step2")),
)
