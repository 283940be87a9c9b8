"""The records the Agentless repair workflow reads and writes (SPEC §3), one pydantic model each.

Input: loc lines (``instance_id, found_files, found_edit_locs``; other keys kept but ignored).
Output: ``output.jsonl`` (one raw record per instance), ``output_{i}_processed.jsonl`` (one processed
record per instance for sample i) and ``used_locs.jsonl`` (the loc lines prompts were built from).
Field names and shapes are the original's, so tools reading Agentless results read these.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from patchline.core.errors import MalformedLineError
from patchline.core.jsonl import ErrorPolicy, iter_jsonl, iter_models
from patchline.core.store import ArtifactStore

__all__ = [
    "AGENTLESS_MODEL_NAME",
    "LocRecord",
    "ProcessedRecord",
    "RawOutputRecord",
    "SampleStatus",
    "iter_loc_records",
]

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


class LocRecord(BaseModel):
    """One line of a loc file: the files (and optionally locations) found for an instance."""

    model_config = ConfigDict(extra="allow")

    instance_id: str = Field(min_length=1)
    found_files: list[str] = Field(default_factory=list)
    found_edit_locs: dict[str, Any] | list[Any] | None = None


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


def iter_loc_records(
    store: ArtifactStore,
    name: str,
    *,
    policy: ErrorPolicy = ErrorPolicy.SKIP,
    on_error: Callable[[MalformedLineError], None] | None = None,
) -> Iterator[LocRecord]:
    """Stream the records of a loc file; bad lines are reported through ``on_error`` and skipped."""
    source = store.uri(name)
    records = iter_jsonl(store.iter_lines(name), source=source, policy=policy, on_error=on_error)
    for _, record in iter_models(records, LocRecord, source=source, policy=policy, on_error=on_error):
        yield record
