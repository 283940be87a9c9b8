"""The Agentless batch repair workflow (seed 000): ``--batch_gen`` requests, ``--process_batch`` patches (SPEC §3)."""

from __future__ import annotations

from patchline.workflows.agentless.context import (
    ContextOptions,
    FileSegment,
    InstanceContext,
    build_context,
    render_context,
    render_segment,
)
from patchline.workflows.agentless.locations import (
    FileLocations,
    LineRange,
    context_ranges,
    edit_locs_for_file,
    edit_locs_from_raw_output,
    locate,
    merge_ranges,
)
from patchline.workflows.agentless.process import ProcessSummary, process_responses
from patchline.workflows.agentless.records import (
    LocRecord,
    ProcessedRecord,
    RawOutputRecord,
    SampleStatus,
    iter_loc_records,
)
from patchline.workflows.agentless.requests import BatchGenSummary, generate_requests, request_body
from patchline.workflows.agentless.sample import SamplePatch, patch_sample

__all__ = [
    "BatchGenSummary",
    "ContextOptions",
    "FileLocations",
    "FileSegment",
    "InstanceContext",
    "LineRange",
    "LocRecord",
    "ProcessSummary",
    "ProcessedRecord",
    "RawOutputRecord",
    "SamplePatch",
    "SampleStatus",
    "build_context",
    "context_ranges",
    "edit_locs_for_file",
    "edit_locs_from_raw_output",
    "generate_requests",
    "iter_loc_records",
    "locate",
    "merge_ranges",
    "patch_sample",
    "process_responses",
    "render_context",
    "render_segment",
    "request_body",
]
