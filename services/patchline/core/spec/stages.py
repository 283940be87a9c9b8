"""The settings of each stage kind: one frozen model per kind, carried whole from manifest to workflow.

A stage's settings are composed of the manifest's own sections (``dataset``, ``repositories``, ``workflow``,
``sampling``, ``executor``), never copied field by field, plus what wires the stage to its files. The same
object is what ``patchline run`` plans, what the CLI builds from its flags (``patchline.cli.flags``), what a
gRPC Start carries (``proto/patchline/v1/stages.proto`` is generated from these models by ``make proto``) and
what the workflow receives. Each default is written once, here or in the section's model.

    manifest (YAML / CR)      CLI flags
          │                       │
      RolloutSpec           flags.build(Stage)
          │ plan_rollout          │
          ▼                       ▼
      StagePlan.settings: AgentlessStage | RolloutStage | EditBenchStage | InferenceStage | IndexManyStage
          │  in process, or as a typed gRPC message (patchline.client.messages), or in a child InferenceRun
          ▼
      the workflow (requests bodies, processing) / the executor (HTTP)
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, field_validator, model_validator

from patchline.core.spec.access import ReadUri, WriteUri
from patchline.core.spec.base import SpecModel
from patchline.core.spec.executor import ExecutorSettings, ModelEndpoints, OnMismatch
from patchline.core.spec.identity import HOW_IT_RUNS
from patchline.core.spec.manifest import Dataset, Repositories, Sampling
from patchline.core.spec.workflow import AgentlessWorkflow, EditBenchWorkflow, RolloutWorkflow

__all__ = [
    "STAGE_KINDS",
    "AgentlessStage",
    "EditBenchStage",
    "IndexManyStage",
    "InferenceStage",
    "RolloutStage",
    "RolloutStep",
    "Snapshot",
    "StageSettings",
]

RolloutStep = Literal["gen_step1", "proc_step1_gen_step2", "proc_step2"]


class _Resumable(SpecModel):
    """A stage whose outputs a rerun resumes (every stage that writes requests or reads answers)."""

    on_mismatch: OnMismatch


class InferenceStage(_Resumable):
    """``gateway.execute``: a request file through the executor into a response file (resumed, never truncated)."""

    input: ReadUri = Field(min_length=1, description="Request lines (OpenAI batch format): a path or URI.")
    output: WriteUri = Field(min_length=1, description="Response lines: a path or URI; an existing file is resumed.")
    executor: Annotated[ExecutorSettings, HOW_IT_RUNS] = Field(
        default_factory=ExecutorSettings, description="How requests are sent."
    )
    endpoints: ModelEndpoints | None = Field(
        default=None, description="Where requests go; filled in when the model is up (required to run)."
    )


def _needs_code(repositories: Repositories) -> Repositories:
    if not repositories.has_code:
        raise ValueError("set structureDir (structure JSON folder) or repoRoot (git repositories)")
    return repositories


class AgentlessStage(_Resumable):
    """Both Agentless operations: ``agentless.build_requests`` (``--batch_gen``) and ``agentless.process``."""

    dataset: Dataset = Field(
        default_factory=lambda: Dataset(source="princeton-nlp/SWE-bench_Lite"), description="Task instances."
    )
    repositories: Repositories = Field(default_factory=Repositories, description="Where repository code comes from.")
    workflow: AgentlessWorkflow = Field(description="Agentless parameters.")
    sampling: Sampling = Field(default_factory=Sampling, description="How the model samples.")
    model: str = Field(default="gpt-4o-2024-05-13", min_length=1, description="body.model of the requests.")
    batch_output: ReadUri | None = Field(
        default=None, description="process: the response file (default: responses-repair.jsonl in the run root)."
    )

    _has_code = field_validator("repositories")(_needs_code)

    @model_validator(mode="after")
    def _consistent(self) -> AgentlessStage:
        if self.workflow.skip_greedy and self.sampling.samples < 2:
            raise ValueError("workflow.skipGreedy with sampling.samples 1 leaves no sample to request")
        chosen = self.workflow.strategy
        if chosen.isdigit() and int(chosen) >= self.sampling.samples:
            raise ValueError(f"workflow.selection.strategy {chosen} is not a sample index below sampling.samples")
        return self

    @property
    def first_sample(self) -> int:
        """The lowest sample index that gets a request (1 with ``skip_greedy``)."""
        return 1 if self.workflow.skip_greedy else 0

    def sample_temperature(self, index: int) -> float:
        """Sample 0 is greedy; the others use the sampling temperature."""
        return 0.0 if index == 0 else self.sampling.temperature


class RolloutStage(_Resumable):
    """One BugFixer / TestWriter stage: ``rollout.gen_step1``, ``.proc_step1_gen_step2`` or ``.proc_step2``."""

    dataset: Dataset = Field(
        default_factory=lambda: Dataset(source="princeton-nlp/SWE-bench_Verified"), description="Task instances."
    )
    repositories: Repositories = Field(default_factory=Repositories, description="Where repository code comes from.")
    workflow: RolloutWorkflow = Field(description="BugFixer or TestWriter parameters.")
    sampling: Sampling = Field(default_factory=Sampling, description="How the model samples (samples = passk).")
    model: str = Field(default="deepseek-ai/DeepSeek-R1", min_length=1, description="body.model of the requests.")
    input_file: ReadUri | None = Field(
        default=None, description="Stage 2: step-1 responses; stage 3: step-2 responses."
    )
    output_file: WriteUri | None = Field(default=None, description="Stages 1 and 2: the request file written.")
    step1_file: ReadUri | None = Field(default=None, description="TestWriter stage 3: the step-1 responses.")
    save_dir: WriteUri | None = Field(default=None, description="Stage 3 outputs (default: the run root).")

    _has_code = field_validator("repositories")(_needs_code)

    @property
    def kind(self) -> Literal["bugfixer", "testwriter"]:
        """``bugfixer`` or ``testwriter``."""
        return self.workflow.type


class EditBenchStage(SpecModel):
    """The EditBench operations: ``editbench.build_prompts``, ``.prepare``, ``.collect`` (per round) and ``.merge``."""

    dataset: Dataset = Field(description="The bench file (edit histories); `instances` restricts the run.")
    repositories: Repositories = Field(default_factory=Repositories, description="repoRoot: checkouts for BM25.")
    workflow: EditBenchWorkflow = Field(default_factory=EditBenchWorkflow, description="EditBench parameters.")
    sampling: Sampling | None = Field(
        default=None, description="How the model samples; unset: the seed's per-model table (temperature, top_p, n)."
    )
    model: str = Field(default="model", min_length=1, description="body.model and the result folder's model name.")
    round: int = Field(default=0, ge=0, description="collect: the inference round whose answers are recorded.")


class Snapshot(SpecModel):
    """A repository at a commit (no commit: the folder as it is)."""

    repo: ReadUri = Field(min_length=1, description="A git repository path or URI the server can read.")
    commit: str | None = Field(default=None, description="Commit to read; unset: the working tree of a folder.")


class IndexManyStage(SpecModel):
    """``retrieval.index_many``: BM25 indexes of many snapshots, built ahead of a BM25 prompt build."""

    snapshots: list[Snapshot] = Field(min_length=1, description="The snapshots to index.")
    extensions: list[str] = Field(default_factory=lambda: [".py"], description="File name endings to index.")


StageSettings = InferenceStage | AgentlessStage | RolloutStage | EditBenchStage | IndexManyStage

STAGE_KINDS: tuple[type[SpecModel], ...] = (
    InferenceStage,
    AgentlessStage,
    RolloutStage,
    EditBenchStage,
    IndexManyStage,
)
