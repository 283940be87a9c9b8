"""The workflow a Rollout runs, with its parameters, and the ordered stages each workflow is made of."""

from __future__ import annotations

from types import MappingProxyType
from typing import Annotated, Literal

from pydantic import Field, model_validator

from patchline.core.errors import InputError
from patchline.core.spec.base import SpecModel

__all__ = [
    "INFERENCE_STAGES",
    "AgentlessWorkflow",
    "BugFixerWorkflow",
    "EditBenchWorkflow",
    "TestWriterWorkflow",
    "Workflow",
    "WorkflowType",
    "is_inference_stage",
    "stage_names",
]

WorkflowType = Literal["agentless", "bugfixer", "testwriter", "editbench"]


class AgentlessWorkflow(SpecModel):
    """Agentless repair (SPEC §3): repair prompts from localisation results, SEARCH/REPLACE edits to patches."""

    type: Literal["agentless"] = Field(description="Workflow kind: Agentless repair.")
    loc_file: str = Field(min_length=1, description="Localisation results (JSONL: found_files, found_edit_locs).")
    top_n: int | None = Field(default=None, ge=1, description="Files per prompt (found_files[:topN]); unset: all.")
    context_window: int = Field(default=10, ge=0, description="Lines shown around each location.")
    loc_interval: bool = Field(default=True, description="One window per location (else one window over all).")
    skip_greedy: bool = Field(default=False, description="Leave out sample 0, the greedy (temperature 0) one.")
    compat_newlines: bool = Field(
        default=False, description="Reproduce the original's spurious blank lines at file edges in patches."
    )
    templates_dir: str | None = Field(default=None, description="Folder of replacement prompt templates.")


class _RolloutWorkflow(SpecModel):
    """Parameters BugFixer and TestWriter share (SPEC §4)."""

    start_file: str | None = Field(default=None, description="First custom_id to process (sorted as strings).")
    end_file: str | None = Field(default=None, description="Last custom_id to process (inclusive).")
    num_workers: int = Field(default=8, ge=1, le=256, description="Parallel workers of the processing stages.")
    convert_crlf: bool = Field(default=False, description="Turn CRLF into LF in the issue text.")
    templates_dir: str | None = Field(default=None, description="Folder of replacement prompt templates.")

    @model_validator(mode="after")
    def _ordered_range(self) -> _RolloutWorkflow:
        if self.start_file is not None and self.end_file is not None and self.start_file > self.end_file:
            raise ValueError(f"startFile {self.start_file!r} sorts after endFile {self.end_file!r}")
        return self


class BugFixerWorkflow(_RolloutWorkflow):
    """BugFixer rollout: localise files, then ask for SEARCH/REPLACE fixes, then patches."""

    type: Literal["bugfixer"] = Field(description="Workflow kind: BugFixer rollout.")


class TestWriterWorkflow(_RolloutWorkflow):
    """TestWriter rollout: localise files, then ask for a reproduction test, then `reproduce_bug.py` patches."""

    __test__ = False  # a spec model, not a pytest test class

    type: Literal["testwriter"] = Field(description="Workflow kind: TestWriter rollout.")
    item_timeout_seconds: int = Field(default=60, ge=1, description="Time limit of processing one item.")


class EditBenchWorkflow(SpecModel):
    """EditBench (SPEC §5): prompts from edit histories, predicted next edits, merged results."""

    type: Literal["editbench"] = Field(description="Workflow kind: EditBench edit prediction.")
    info_pct: float = Field(default=0.2, ge=0.0, le=1.0, description="Share of the history shown as pre-edits.")
    use_pr_mes: bool = Field(default=True, description="Put the PR title and body into the requirement.")
    use_issue_mes: bool = Field(default=True, description="Put the issue text into the requirement.")
    use_bm25: bool = Field(default=False, description="Context from BM25 retrieval instead of the oracle files.")
    topn: int = Field(default=5, ge=1, description="Files BM25 adds to the context (with useBm25).")
    run_id: str | None = Field(
        default=None,
        pattern=r"^[A-Za-z0-9._-]+$",
        description="Run id in file names; default: infoPct, plus `_bm25_{topn}` with useBm25 (e.g. `0.2_bm25_5`).",
    )
    dataset_name: str = Field(
        default="all", min_length=1, description="Name in the infbench file names (`all` or `owner/repo`)."
    )
    templates_dir: str | None = Field(default=None, description="Folder of replacement prompt templates.")
    recover_diffs: bool = Field(
        default=False,
        description="Repair messy model diffs against the prompt's code; records say what was repaired.",
    )

    @property
    def effective_run_id(self) -> str:
        """The run id used in file names (``runId``, or one derived from the split and context settings)."""
        if self.run_id:
            return self.run_id
        return f"{self.info_pct}_bm25_{self.topn}" if self.use_bm25 else f"{self.info_pct}"


Workflow = Annotated[
    AgentlessWorkflow | BugFixerWorkflow | TestWriterWorkflow | EditBenchWorkflow, Field(discriminator="type")
]

_STAGES = MappingProxyType(
    {
        "agentless": ("build_requests", "infer", "process"),
        "bugfixer": ("gen_step1", "infer_step1", "proc_step1_gen_step2", "infer_step2", "proc_step2"),
        "testwriter": ("gen_step1", "infer_step1", "proc_step1_gen_step2", "infer_step2", "proc_step2"),
        "editbench": ("build_prompts", "infer", "merge"),
    }
)

INFERENCE_STAGES = frozenset({"infer", "infer_step1", "infer_step2"})


def stage_names(workflow_type: str) -> tuple[str, ...]:
    """The ordered stage names of a workflow; inference stages are the ones :func:`is_inference_stage` accepts."""
    try:
        return _STAGES[workflow_type]
    except KeyError:
        raise InputError(f"unknown workflow type {workflow_type!r}; known: {', '.join(sorted(_STAGES))}") from None


def is_inference_stage(name: str) -> bool:
    """True for stages that send requests to the model (a child InferenceRun on a cluster)."""
    return name in INFERENCE_STAGES
