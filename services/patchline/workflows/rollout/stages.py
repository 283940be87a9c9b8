"""The stage table of the rollouts: stage name (as the seed README spells it) -> the function that runs it."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from types import MappingProxyType

from patchline.core.errors import InputError
from patchline.core.progress import NullProgress, Progress
from patchline.core.spec import RolloutStage
from patchline.workflows.rollout.common import StageSummary
from patchline.workflows.rollout.step1 import run_step1
from patchline.workflows.rollout.step2 import run_step2
from patchline.workflows.rollout.step3 import run_step3

__all__ = ["STAGE_RUNNERS", "run_stage"]

StageRunner = Callable[..., StageSummary]

STAGE_RUNNERS: Mapping[str, StageRunner] = MappingProxyType(
    {
        "gen_step1": run_step1,
        "proc_step1_gen_step2": run_step2,
        "proc_step2": run_step3,
    }
)


def run_stage(
    config: RolloutStage,
    stage: str,
    *,
    progress: Progress | None = None,
    hooks: bool = False,
) -> StageSummary:
    """Run one stage of the configured rollout (``config.on_mismatch``: lines of another run, see each stage).

    ``hooks``: whether the stage that selects predictions (``proc_step2``) may import a ``module:function``
    strategy (the user's own process).
    """
    runner = STAGE_RUNNERS.get(stage)
    if runner is None:
        raise InputError(f"unknown stage {stage!r}; expected one of {', '.join(STAGE_RUNNERS)}")
    options = {"hooks": hooks} if runner is run_step3 else {}
    return runner(config, progress=progress or NullProgress(), **options)
