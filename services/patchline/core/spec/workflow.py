"""The workflow a Rollout runs, with its own parameters (the manifest's ``spec.workflow`` section).

Defaults are the seed scripts' own where a seed has the flag (``top_n`` 1, ``loc_interval`` and ``cot`` off,
one worker), so a seed command and a manifest that leave a setting out mean the same experiment.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING, Annotated, ClassVar, Literal

from pydantic import Field, model_validator

from patchline.core.spec.access import NotAPath, ReadUri
from patchline.core.spec.base import SpecModel
from patchline.core.spec.identity import HOW_IT_RUNS
from patchline.core.spec.samples import AGENTLESS_MAJORITY, FIRST_NONEMPTY, Selection

__all__ = [
    "DEFAULT_STRATEGIES",
    "AgentlessWorkflow",
    "EditBenchWorkflow",
    "RolloutWorkflow",
    "Workflow",
    "WorkflowType",
]

WorkflowType = Literal["agentless", "bugfixer", "testwriter", "editbench"]

DEFAULT_STRATEGIES: Mapping[WorkflowType, str] = MappingProxyType(
    {
        "agentless": AGENTLESS_MAJORITY,  # what a researcher reproducing the paper runs next (its rerank step)
        "bugfixer": FIRST_NONEMPTY,
        "testwriter": FIRST_NONEMPTY,
        "editbench": FIRST_NONEMPTY,
    }
)
"""The selection strategy of each workflow when its ``selection.strategy`` is unset."""


def _selection_field() -> Selection:
    return Field(default_factory=Selection, description="How the prediction is chosen among the samples.")


class _ChoosesAmongSamples(SpecModel):
    """A workflow section with a ``selection`` block (it declares no field: each section places its own)."""

    if TYPE_CHECKING:
        type: WorkflowType
        selection: Selection

    @property
    def strategy(self) -> str:
        """The selection strategy in effect (``selection.strategy``, else this workflow's default)."""
        return self.selection.strategy or DEFAULT_STRATEGIES[self.type]


def _no_resampling(workflow: str, selection: Selection) -> None:
    if selection.resample_invalid:
        raise ValueError(f"selection.resampleInvalid is supported by the Agentless workflow only, not {workflow}")


class AgentlessWorkflow(_ChoosesAmongSamples):
    """Agentless repair (SPEC §3): repair prompts from localisation results, SEARCH/REPLACE edits to patches."""

    type: Literal["agentless"] = Field(default="agentless", description="Workflow kind: Agentless repair.")
    loc_file: ReadUri = Field(min_length=1, description="Localisation results (JSONL: found_files, found_edit_locs).")
    top_n: int = Field(default=1, ge=0, description="Files per prompt (found_files[:topN]); 0: all (`--top_n none`).")
    context_window: int = Field(default=10, ge=0, description="Lines shown around each location.")
    loc_interval: bool = Field(default=False, description="One window per location (else one window over all).")
    skip_greedy: bool = Field(default=False, description="Leave out sample 0, the greedy (temperature 0) one.")
    cot: bool = Field(default=False, description="Ask the model to localise the bug before editing (`--cot`).")
    compat_newlines: bool = Field(
        default=False, description="Reproduce the original's spurious blank lines at file edges in patches."
    )
    num_threads: Annotated[int, HOW_IT_RUNS] = Field(
        default=1, ge=1, le=256, description="Worker processes preparing and processing items."
    )
    max_answer_bytes: int = Field(
        default=4 * 1024 * 1024,
        ge=1,
        description="process: a sample whose response line is larger fails as `answer_too_large`.",
    )
    item_timeout_seconds: float = Field(
        default=300.0, gt=0, description="process: time limit of one instance (all its samples); then `timeout`."
    )
    templates_dir: ReadUri | None = Field(
        default=None, description="Prompt template file, or folder of template files."
    )
    selection: Selection = _selection_field()

    # predictionsSample (a string), replaced by the selection block: its number is not reused on the wire.
    proto_reserved: ClassVar[Mapping[int, str]] = {12: "predictions_sample"}


class RolloutWorkflow(_ChoosesAmongSamples):
    """BugFixer or TestWriter rollout (SPEC §4): localise files, then fixes or reproduction tests, then patches."""

    type: Literal["bugfixer", "testwriter"] = Field(description="Workflow kind: BugFixer or TestWriter rollout.")
    start_file: NotAPath | None = Field(default=None, description="First custom_id (or sorted position) to process.")
    end_file: NotAPath | None = Field(default=None, description="custom_id (or sorted position) to stop before.")
    num_workers: Annotated[int, HOW_IT_RUNS] = Field(
        default=1, ge=1, le=256, description="Parallel workers of the processing stages."
    )
    convert_crlf: bool = Field(default=False, description="Turn CRLF into LF in the issue text.")
    item_timeout_seconds: float = Field(default=60.0, gt=0, description="Time limit of processing one item.")
    templates_dir: ReadUri | None = Field(
        default=None, description="Prompt template file, or folder of template files."
    )
    selection: Selection = _selection_field()

    @model_validator(mode="after")
    def _ordered_range(self) -> RolloutWorkflow:
        _no_resampling(self.type, self.selection)
        both = self.start_file is not None and self.end_file is not None
        if both and not (self.start_file or "").isdigit() and (self.start_file or "") > (self.end_file or ""):
            raise ValueError(f"startFile {self.start_file!r} sorts after endFile {self.end_file!r}")
        return self


class EditBenchWorkflow(_ChoosesAmongSamples):
    """EditBench (SPEC §5): prompts from edit histories, predicted next edits, merged results."""

    type: Literal["editbench"] = Field(default="editbench", description="Workflow kind: EditBench edit prediction.")
    info_pct: float = Field(default=0.2, ge=0.0, le=1.0, description="Share of the history shown as pre-edits.")
    use_pr_mes: bool = Field(default=True, description="Put the PR title and body into the requirement.")
    use_issue_mes: bool = Field(default=True, description="Put the issue text into the requirement.")
    use_bm25: bool = Field(default=False, description="Context from BM25 retrieval instead of the oracle files.")
    topn: int = Field(default=10, ge=1, description="Files BM25 adds to the context (with useBm25).")
    run_id: str | None = Field(
        default=None,
        pattern=r"^[A-Za-z0-9._-]+$",
        description="Run id in file names; default: infoPct, plus `_bm25_{topn}` with useBm25 (e.g. `0.2_bm25_10`).",
    )
    dataset_name: str = Field(
        default="all", min_length=1, description="Name in the infbench file names (`all` or `owner/repo`)."
    )
    max_rounds: int = Field(
        default=50, ge=1, le=1000, description="Inference rounds at most (each resends overflowed prompts, shrunk)."
    )
    templates_dir: ReadUri | None = Field(default=None, description="Folder of replacement prompt templates.")
    recover_diffs: bool = Field(
        default=False,
        description="Repair messy model diffs against the prompt's code; records say what was repaired.",
    )
    selection: Selection = _selection_field()

    @model_validator(mode="after")
    def _selection_applies(self) -> EditBenchWorkflow:
        _no_resampling(self.type, self.selection)
        return self

    @property
    def effective_run_id(self) -> str:
        """The run id used in file names (``runId``, or one derived from the split and context settings)."""
        if self.run_id:
            return self.run_id
        return f"{self.info_pct}_bm25_{self.topn}" if self.use_bm25 else f"{self.info_pct}"


Workflow = Annotated[AgentlessWorkflow | RolloutWorkflow | EditBenchWorkflow, Field(discriminator="type")]
