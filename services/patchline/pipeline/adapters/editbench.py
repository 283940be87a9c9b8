"""EditBench as operations: build the infbench prompts, prepare and collect inference rounds, merge results.

The rounds' inference is an ordinary gateway stage between ``editbench.prepare`` / ``editbench.collect``
(see ``patchline.pipeline.plan``): retries, resume and metrics are the executor's, as for every workflow.
"""

from __future__ import annotations

from typing import Any

from patchline.core import layout
from patchline.core.errors import ArtifactNotFoundError
from patchline.core.safepath import safe_component, safe_relpath
from patchline.core.spec import EditBenchStage
from patchline.pipeline.catalog import EDITBENCH_BUILD_PROMPTS, EDITBENCH_COLLECT, EDITBENCH_MERGE, EDITBENCH_PREPARE
from patchline.pipeline.operations import Operation, OperationContext, OperationResult
from patchline.workflows.editbench import EditBenchRun, RoundReport, build_infbench, merge_results

__all__ = ["OPERATIONS"]


def build_prompts(context: OperationContext[EditBenchStage]) -> OperationResult:
    """Bench lines to infbench lines (history split, context, prompt), resumable by instance id."""
    workflow = context.settings.workflow
    save_path = context.run.uri(layout.editbench_infbench(workflow.dataset_name, workflow.effective_run_id))
    summary = build_infbench(
        context.settings,
        save_path,
        retriever=context.services.retriever,
        cache_root=context.run.root,
        progress=context.progress,
    )
    total = summary.written + summary.already_there + len(summary.failed)
    return OperationResult(
        artifacts={"infbench": summary.save_path},
        counts={"total": total, "succeeded": summary.written + summary.already_there, "failed": len(summary.failed)},
        message=(
            f"{summary.written} prompts written, {summary.already_there} already there, {len(summary.failed)} skipped"
            + (f" (first: {summary.failed[0][0]}: {summary.failed[0][1]})" if summary.failed else "")
        ),
    )


def _round_result(run: EditBenchRun, report: RoundReport, what: str) -> OperationResult:
    return OperationResult(
        artifacts={"results": run.output_uri},
        counts=report.counts(prepared=what == "prepared"),
        message=(
            f"{what}: {report.succeeded} succeeded, {report.failed} failed, {report.already_done} already done, "
            f"{report.pending} to send{f' ({report.shrunk} shrunk for context)' if report.shrunk else ''}"
        ),
    )


def prepare(context: OperationContext[EditBenchStage]) -> OperationResult:
    """Write round 0: every instance of the infbench file without a success yet."""
    run = EditBenchRun.of(context.settings, context.run.root, hooks=context.services.selection_hooks)
    return _round_result(run, run.prepare(), "prepared")


def collect(context: OperationContext[EditBenchStage]) -> OperationResult:
    """Record the answers of the stage's round; write the next round with the overflowed prompts, shrunk."""
    run = EditBenchRun.of(context.settings, context.run.root, hooks=context.services.selection_hooks)
    return _round_result(run, run.collect(context.settings.round), f"round {context.settings.round}")


def merge(context: OperationContext[EditBenchStage]) -> OperationResult:
    """Merge the per-repository result files into ``all-task-instances_{run_id}.jsonl``."""
    settings = context.settings
    if settings.workflow.dataset_name == "all":
        return _merged_already(context)
    outputs = merge_results(context.run.root, settings.model, run_id=settings.workflow.effective_run_id)
    return OperationResult(
        artifacts={f"merged:{o.name}": context.run.uri(o.name) for o in outputs},
        counts={"succeeded": sum(o.records for o in outputs)},
        message=f"{sum(o.records for o in outputs)} records in {len(outputs)} merged file(s)",
    )


def _merged_already(context: OperationContext[EditBenchStage]) -> OperationResult:
    """A run over the ``all`` infbench wrote ``all-task-instances_{run_id}.jsonl`` itself: report it, merge nothing."""
    settings = context.settings
    model_dir = f"experiment_results/{safe_relpath(settings.model, what='model name')}"
    wanted = f"all-task-instances_{safe_component(settings.workflow.effective_run_id, what='run id')}.jsonl"
    found = [name for name in context.run.list_files(model_dir) if name.rsplit("/", 1)[-1] == wanted]
    if not found:
        raise ArtifactNotFoundError(f"no {wanted} below {context.run.uri(model_dir)} to report")
    records = sum(1 for name in found for line in context.run.iter_lines(name) if line.strip())
    return OperationResult(
        artifacts={f"merged:{name}": context.run.uri(name) for name in found},
        counts={"succeeded": records},
        message=f"{records} records in {len(found)} file(s) written by the run over all instances",
    )


OPERATIONS: tuple[Operation[Any], ...] = (
    Operation(EDITBENCH_BUILD_PROMPTS, run=build_prompts),
    Operation(EDITBENCH_PREPARE, run=prepare),
    Operation(EDITBENCH_COLLECT, run=collect),
    Operation(EDITBENCH_MERGE, run=merge),
)
