"""The records the Agentless repair workflow reads and writes (SPEC §3), one pydantic model each.

Input: loc lines (``instance_id, found_files, found_edit_locs``; other keys kept). Edit locations are
read from ``found_edit_locs`` (Agentless: ``{path: [...]}`` or a list aligned with ``found_files``), else
from ``raw_output_loc`` (the raw localisation answers that Agentless' edit-location step and LocAgent
write); a record with neither shows its files whole, and :class:`EditLocsCount` says how many did.
Output: ``output.jsonl`` (one raw record per instance), ``output_{i}_processed.jsonl`` (one processed
record per instance for sample i) and ``used_locs.jsonl`` (the loc lines prompts were built from).
Field names and shapes are the original's, so tools reading Agentless results read these.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, model_validator

from patchline.core.jsonl import ErrorPolicy, ErrorSink, iter_jsonl, iter_models
from patchline.core.store import ArtifactStore
from patchline.workflows.agentless.locations import edit_locs_from_raw_output

__all__ = [
    "AGENTLESS_MODEL_NAME",
    "SAMPLE_STATUS_MEANINGS",
    "EditLocsCount",
    "EditLocsOrigin",
    "LocRecord",
    "NormalizedRecord",
    "ProcessedRecord",
    "RawOutputRecord",
    "SampleStatus",
    "iter_loc_records",
]

log = logging.getLogger(__name__)

AGENTLESS_MODEL_NAME = "agentless"
"""``model_name_or_path`` of processed records and predictions, as the original writes it."""


class SampleStatus:
    """Why a sample has (or has no) patch; written as ``status`` of processed records and in the logs."""

    OK = "ok"
    NOT_REQUESTED = "not_requested"  # sample 0 with --skip_greedy, or an instance without context
    MISSING_RESPONSE = "missing_response"
    REQUEST_FAILED = "request_failed"
    REASONING_ONLY = "reasoning_only"
    NO_EDITS = "no_edits"
    NOT_APPLIED = "not_applied"
    SYNTAX_ERROR = "syntax_error"
    BLANK_LINES_ONLY = "blank_lines_only"
    NO_CONTEXT = "no_context"
    ANSWER_TOO_LARGE = "answer_too_large"  # the response line is over --max-answer-bytes: not read
    TIMEOUT = "timeout"  # the instance ran past --item-timeout
    FAILED = "failed"  # processing the instance raised


# Each SampleStatus -> what it means for a user reading a table of samples. Read-only.
SAMPLE_STATUS_MEANINGS: Mapping[str, str] = MappingProxyType(
    {
        SampleStatus.OK: "a patch",
        SampleStatus.NOT_REQUESTED: "not requested",
        SampleStatus.MISSING_RESPONSE: "no response line",
        SampleStatus.REQUEST_FAILED: "the request failed",
        SampleStatus.REASONING_ONLY: "the answer is reasoning only",
        SampleStatus.NO_EDITS: "the answer holds no SEARCH/REPLACE edit",
        SampleStatus.NOT_APPLIED: "the edits' SEARCH text is not in the file",
        SampleStatus.SYNTAX_ERROR: "the edited file no longer parses",
        SampleStatus.BLANK_LINES_ONLY: "the edits only change blank lines",
        SampleStatus.NO_CONTEXT: "no code context for the prompt",
        SampleStatus.ANSWER_TOO_LARGE: "the answer is larger than the configured limit",
        SampleStatus.TIMEOUT: "processing the instance ran past the per-item time limit",
        SampleStatus.FAILED: "processing the instance failed",
    }
)


class EditLocsOrigin:
    """Where a loc record's edit locations came from."""

    FOUND_EDIT_LOCS = "found_edit_locs"
    RAW_OUTPUT_LOC = "raw_output_loc"
    NONE = "none"  # no locations: the files are shown whole


class LocRecord(BaseModel):
    """One line of a loc file: the files (and optionally locations) found for an instance.

    Without ``found_edit_locs`` the locations are read from ``raw_output_loc`` (a string or a list of
    answers, ``path`` lines each followed by its ``line:`` / ``function:`` / ``class:`` lines), and kept
    in ``found_edit_locs`` so ``used_locs.jsonl`` shows what the prompts were built from.
    """

    model_config = ConfigDict(extra="allow")

    instance_id: str = Field(min_length=1)
    found_files: list[str] = Field(default_factory=list)
    found_edit_locs: dict[str, Any] | list[Any] | None = None
    _edit_locs_origin: str = PrivateAttr(default=EditLocsOrigin.NONE)

    @model_validator(mode="after")
    def _read_edit_locs(self) -> LocRecord:
        if self.found_edit_locs:
            self._edit_locs_origin = EditLocsOrigin.FOUND_EDIT_LOCS
            return self
        raw = (self.model_extra or {}).get("raw_output_loc")
        answers = (
            [raw] if isinstance(raw, str) else [r for r in raw if isinstance(r, str)] if isinstance(raw, list) else []
        )
        derived = edit_locs_from_raw_output(answers, self.found_files) if answers else {}
        if derived:
            self.found_edit_locs = derived
            self._edit_locs_origin = EditLocsOrigin.RAW_OUTPUT_LOC
        return self

    @property
    def edit_locs_origin(self) -> str:
        """Where the edit locations came from (:class:`EditLocsOrigin`)."""
        return self._edit_locs_origin


@dataclass
class EditLocsCount:
    """How many loc records had edit locations, and from where: no record is shown whole in silence."""

    records: int = 0
    from_raw_output: int = 0
    without: list[str] = field(default_factory=list)

    @classmethod
    def of(cls, locs: Iterable[LocRecord]) -> EditLocsCount:
        """Count the records (those without found files get no prompt at all and are not counted as whole)."""
        count = cls()
        for loc in locs:
            count.records += 1
            if loc.edit_locs_origin == EditLocsOrigin.RAW_OUTPUT_LOC:
                count.from_raw_output += 1
            elif loc.edit_locs_origin == EditLocsOrigin.NONE and loc.found_files:
                count.without.append(loc.instance_id)
        return count

    def warn(self, loc_file: str) -> None:
        """Log what the counts mean for the prompts."""
        if self.from_raw_output:
            log.info("%s: edit locations read from raw_output_loc for %d instance(s)", loc_file, self.from_raw_output)
        if self.without:
            log.warning(
                "%s: %d of %d instance(s) have no edit locations (no found_edit_locs, no raw_output_loc): their "
                "files are shown whole, so --loc_interval and --context_window do not apply to them (e.g. %s)",
                loc_file,
                len(self.without),
                self.records,
                ", ".join(self.without[:3]),
            )

    def describe(self) -> list[str]:
        """Summary lines (none when every record had ``found_edit_locs``)."""
        lines = []
        if self.from_raw_output:
            lines.append(f"edit locations read from raw_output_loc: {self.from_raw_output}")
        if self.without:
            shown = ", ".join(self.without[:10]) + (
                f" (+{len(self.without) - 10} more)" if len(self.without) > 10 else ""
            )
            lines.append(f"no edit locations, files shown whole: {len(self.without)}: {shown}")
        return lines


def _one_empty_list() -> list[list[str]]:
    return [[]]


class RawOutputRecord(BaseModel):
    """One instance of ``output.jsonl``: every sample's answer and what was edited (original field shapes)."""

    instance_id: str
    raw_output: list[str] = Field(default_factory=list)
    all_generations: list[list[str]] = Field(default_factory=_one_empty_list)
    try_count: list[int] = Field(default_factory=list)
    traj: list[dict[str, Any]] = Field(default_factory=list)
    prev_content: list[list[Any]] = Field(default_factory=lambda: [[]])
    file_names: list[list[Any]] = Field(default_factory=lambda: [[]])


class ProcessedRecord(BaseModel):
    """One instance of ``output_{i}_processed.jsonl``: the patch of sample i.

    ``status`` and ``leniency`` are patchline's additions (readers of the original fields ignore them):
    ``leniency`` lists what the patch needed that the original's reading does not do (the labels of
    :mod:`patchline.workflows.agentless.leniency`); it is empty with ``--compat-agentless-newlines``.
    """

    model_name_or_path: str = AGENTLESS_MODEL_NAME
    instance_id: str
    model_patch: str = ""
    raw_model_patch: str = ""
    original_file_content: list[str] = Field(default_factory=list)
    edited_files: list[str] = Field(default_factory=list)
    new_file_content: list[str] = Field(default_factory=list)
    status: str = SampleStatus.OK
    leniency: list[str] = Field(default_factory=list)


class NormalizedRecord(ProcessedRecord):
    """One instance of ``output_{i}_normalized.jsonl``: the processed record with its ``normalized_patch``
    (SPEC §6b), the input of the original's majority vote."""

    normalized_patch: str = ""


def iter_loc_records(
    store: ArtifactStore,
    name: str,
    *,
    policy: ErrorPolicy = ErrorPolicy.SKIP,
    on_error: ErrorSink | None = None,
) -> Iterator[LocRecord]:
    """Stream the records of a loc file; bad lines are reported through ``on_error`` and skipped."""
    source = store.uri(name)
    records = iter_jsonl(store.iter_lines(name), source=source, policy=policy, on_error=on_error)
    for _, record in iter_models(records, LocRecord, source=source, policy=policy, on_error=on_error):
        yield record
