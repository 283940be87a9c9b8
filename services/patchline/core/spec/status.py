"""What the operator (or the local runner) reports about a run: phase, conditions, progress, stages."""

from __future__ import annotations

import enum
from datetime import datetime

from pydantic import Field

from patchline.core.spec.base import StatusModel

__all__ = [
    "Condition",
    "ConditionType",
    "InferenceRunStatus",
    "Phase",
    "ProgressCounts",
    "RolloutStatus",
    "StageStatus",
]


class Phase(enum.StrEnum):
    """Where a run (or a stage) is in its life."""

    PENDING = "Pending"
    PROVISIONING = "Provisioning"
    RUNNING = "Running"
    SUCCEEDED = "Succeeded"
    FAILED = "Failed"

    @property
    def is_final(self) -> bool:
        """True for Succeeded and Failed: nothing more will happen."""
        return self in (Phase.SUCCEEDED, Phase.FAILED)


class ConditionType(enum.StrEnum):
    """The condition types a run reports."""

    SERVER_READY = "ServerReady"
    PROGRESSING = "Progressing"
    COMPLETE = "Complete"
    FAILED = "Failed"


class Condition(StatusModel):
    """One observation about the run, in the usual Kubernetes shape."""

    type: str = Field(min_length=1, description="Condition type: ServerReady, Progressing, Complete or Failed.")
    status: str = Field(pattern=r"^(True|False|Unknown)$", description="`True`, `False` or `Unknown`.")
    reason: str = Field(default="", description="One CamelCase word saying why.")
    message: str = Field(default="", description="A sentence for people.")
    last_transition_time: datetime | None = Field(default=None, description="When the status last changed.")


class ProgressCounts(StatusModel):
    """Request counts and throughput of an inference (or of the stage that runs now)."""

    total: int | None = Field(default=None, ge=0, description="Requests in the input; unknown while streaming.")
    succeeded: int = Field(default=0, ge=0, description="Requests answered successfully.")
    failed: int = Field(default=0, ge=0, description="Requests that failed for good.")
    in_flight: int = Field(default=0, ge=0, description="Requests sent and not yet answered.")
    pending: int = Field(default=0, ge=0, description="Items carried over to the next round (EditBench).")
    tokens: int = Field(default=0, ge=0, description="Prompt plus completion tokens so far.")
    tokens_per_second: float = Field(default=0.0, ge=0.0, description="Completion tokens per second, recently.")
    summary: str = Field(default="", description="Short text for the Progress column, e.g. `120/300 (2 failed)`.")

    def render(self) -> str:
        """The text of the Progress column: ``done/total`` plus failures."""
        done = self.succeeded + self.failed
        text = f"{done}/{self.total}" if self.total is not None else f"{done}"
        return f"{text} ({self.failed} failed)" if self.failed else text


class StageStatus(StatusModel):
    """One stage of a run: what the stage driver records (``stages/{name}.json`` locally, ``status.stages``
    on a cluster)."""

    name: str = Field(min_length=1, description="Stage name, e.g. `infer_step1`.")
    operation: str = Field(default="", description="The operation the stage ran, e.g. `gateway.execute`.")
    phase: Phase = Field(default=Phase.PENDING, description="Where the stage is.")
    started_at: datetime | None = Field(default=None, description="When the stage started.")
    finished_at: datetime | None = Field(default=None, description="When the stage finished.")
    counts: ProgressCounts = Field(default_factory=ProgressCounts, description="Items of the stage.")
    artifacts: dict[str, str] = Field(default_factory=dict, description="Artifact URIs the stage wrote, by role.")
    message: str = Field(default="", description="Last error or note.")
    settings_digest: str = Field(
        default="",
        description="Digest of the settings that decide the stage's outputs: a rerun with other ones runs the "
        "stage again (empty in records of older versions: the record is reused).",
    )


class InferenceRunStatus(StatusModel):
    """Status of an InferenceRun."""

    phase: Phase = Field(default=Phase.PENDING, description="Pending, Provisioning, Running, Succeeded or Failed.")
    conditions: list[Condition] = Field(default_factory=list, description="Observations, one per type.")
    progress: ProgressCounts = Field(default_factory=ProgressCounts, description="Request counts and tokens.")
    model: str = Field(default="", description="Model name the requests go to (the Model column).")
    endpoints: list[str] = Field(default_factory=list, description="Base URLs of the model server(s) in use.")
    output_uri: str = Field(default="", description="Where the responses are written.")
    observed_generation: int | None = Field(default=None, description="The spec generation this status is about.")
    message: str = Field(default="", description="Last error or note.")
    stages: list[StageStatus] = Field(default_factory=list, description="The run's stages, in order (the driver's).")
    current_stage: str = Field(default="", description="The stage running now (empty when none is).")


class RolloutStatus(InferenceRunStatus):
    """Status of a Rollout: the run-wide fields and its stages (a workflow's, several)."""
