"""A run as a plan of stages, the stage driver that walks it, and the local runner of manifests."""

from patchline.pipeline.driver import DriveResult, StageBackend, StageBook, StageOutcome, drive, judge
from patchline.pipeline.plan import PlanItem, RoundsPlan, StagePlan, plan_inference_run, plan_rollout, run_root

__all__ = [
    "DriveResult",
    "PlanItem",
    "RoundsPlan",
    "StageBackend",
    "StageBook",
    "StageOutcome",
    "StagePlan",
    "drive",
    "judge",
    "plan_inference_run",
    "plan_rollout",
    "run_root",
]
