"""The records the rollouts write: per-sample files, processed patches and tests, failures (SPEC.md §4).

``samples/{custom_id}.jsonl`` holds one record with the seed's fields plus ``custom_id`` and
``processed`` (the record that goes into the per-pass file). The aggregate files are rebuilt from the
sample files, so the samples folder is the state of stage 3: reruns and ``--start_file/--end_file``
chunks replace records and never duplicate them.
"""

from __future__ import annotations

import enum

from pydantic import BaseModel, ConfigDict, Field

from patchline.core.samples import SampleRecord

__all__ = [
    "BugFixerSample",
    "FailureReason",
    "FailureRecord",
    "GroundTruth",
    "ProcessedPatch",
    "ProcessedTest",
    "TestWriterSample",
]


class FailureReason(enum.StrEnum):
    """Why an item produced no request (stage 2) or no result (stage 3)."""

    TIMEOUT = "timeout"
    EXCEPTION = "exception"
    STEP2_REQUEST_FAILED = "step2_request_failed"
    STRUCTURE_NOT_FOUND = "structure_not_found"
    STEP1_REQUEST_FAILED = "step1_request_failed"
    NO_TEST_FILES_FOUND = "no_test_files_found"
    TARGET_FILE_NOT_IN_CONTENTS = "target_file_not_in_contents"
    SAVE_ERROR = "save_error"
    # Beyond the TestWriter's list: the BugFixer's counterparts and inputs that name no known instance.
    NO_FILES_FOUND = "no_files_found"
    INSTANCE_NOT_FOUND = "instance_not_found"
    BAD_CUSTOM_ID = "bad_custom_id"  # not a rollout custom_id at all (an Agentless one, a pass beyond passk)
    STEP1_ANSWER_MISSING = "step1_answer_missing"


class FailureRecord(BaseModel):
    """One line of ``failures.jsonl``: the latest failure of a custom_id."""

    model_config = ConfigDict(extra="allow")

    status: str = "failed"
    reason: FailureReason
    custom_id: str
    stage: str = ""
    details: str = ""


class GroundTruth(BaseModel):
    """The gold facts of an instance, kept beside each BugFixer sample for later analysis."""

    instance_id: str
    found_files: list[str] = Field(default_factory=list)
    gt_patch: str = ""


class ProcessedPatch(BaseModel):
    """A line of ``output_{k}_processed.jsonl`` (the Agentless processed schema, SPEC.md §3)."""

    model_config = ConfigDict(extra="allow")

    model_name_or_path: str
    instance_id: str
    model_patch: str
    raw_model_patch: str
    original_file_content: list[str]
    edited_files: list[str]
    new_file_content: list[str]


class BugFixerSample(BaseModel):
    """``samples/{custom_id}.jsonl`` of the BugFixer."""

    model_config = ConfigDict(extra="allow")

    instance_id: str
    custom_id: str
    model_patch: str
    search_replace_text: str
    raw_output: str
    gt_results: GroundTruth
    edits_found: int = 0
    edits_applied: int = 0
    processed: ProcessedPatch
    table: SampleRecord | None = None  # the sample-table row (checked and normalised when processed)


class ProcessedTest(BaseModel):
    """A line of ``output_{k}_processed_reproduction_test.jsonl``."""

    model_config = ConfigDict(extra="allow")

    model_name_or_path: str
    instance_id: str
    test_patch: str
    raw_test_patch: str
    test_func_name: str | None
    original_file_content: str


class TestWriterSample(BaseModel):
    """``samples/{custom_id}.jsonl`` of the TestWriter."""

    __test__ = False  # not a pytest class, whatever its name
    model_config = ConfigDict(extra="allow")

    custom_id: str
    instance_id: str
    raw_answer: str
    search_replace_text: str
    model_found_files: list[str]
    found_files: list[str]
    target_file: str
    edits_found: int = 0
    edits_applied: int = 0
    processed: ProcessedTest
    table: SampleRecord | None = None  # the sample-table row (checked and normalised when processed)
