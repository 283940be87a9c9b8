"""Agentless repair as operations: ``agentless.build_requests`` (``--batch_gen``) and ``agentless.process``."""

from __future__ import annotations

from typing import Any

from patchline.core import layout
from patchline.core.spec import AgentlessStage
from patchline.pipeline.catalog import AGENTLESS_BUILD_REQUESTS, AGENTLESS_PROCESS
from patchline.pipeline.operations import Operation, OperationContext, OperationResult
from patchline.workflows.agentless import generate_requests, process_responses

__all__ = ["OPERATIONS"]


def build_requests(context: OperationContext[AgentlessStage]) -> OperationResult:
    """Append the missing repair requests to ``requests-repair.jsonl`` in the run root."""
    summary = generate_requests(context.settings, context.run.root, progress=context.progress)
    skipped = sum(len(ids) for ids in summary.skipped.values())
    return OperationResult(
        artifacts={"requests": summary.requests_file},
        counts={"total": summary.instances, "succeeded": summary.written + summary.already_present, "failed": skipped},
        message="; ".join(summary.describe()),
    )


def process(context: OperationContext[AgentlessStage]) -> OperationResult:
    """Patches, per-sample files and predictions from the responses (``batch_output``)."""
    batch_output = context.settings.batch_output or context.run.uri(layout.AGENTLESS_RESPONSES)
    summary = process_responses(
        context.settings,
        context.run.root,
        batch_output,
        progress=context.progress,
        hooks=context.services.selection_hooks,
    )
    files = layout.sample_files()
    artifacts = {
        "output": context.run.uri(layout.AGENTLESS_OUTPUT),
        "predictions": context.run.uri(files.predictions),
        "samples": context.run.uri(files.table),
        "selection": context.run.uri(files.selection),
    }
    if summary.resample.file:
        artifacts["resample_requests"] = summary.resample.file
    return OperationResult(
        artifacts=artifacts,
        # Items are instances: one whose samples all got a verdict succeeded, even if no sample has a patch (a
        # weak model's "no edits" is a result, not a failure of the stage); patches are counted beside.
        counts={
            "total": summary.instances,
            "succeeded": summary.instances - len(summary.failed_instances),
            "failed": len(summary.failed_instances),
            "samples": summary.samples,
            "patches": summary.patches,
            "pending": summary.resample.pending,  # the next resampling round's requests (plan: RoundsPlan)
        },
        message="; ".join(summary.describe()),
    )


OPERATIONS: tuple[Operation[Any], ...] = (
    Operation(AGENTLESS_BUILD_REQUESTS, run=build_requests),
    Operation(AGENTLESS_PROCESS, run=process),
)
