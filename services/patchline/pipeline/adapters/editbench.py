"""EditBench as stages: build the infbench prompts, run the model on them (with overflow rounds), merge."""

from __future__ import annotations

from patchline.core import layout
from patchline.core.errors import ArtifactNotFoundError
from patchline.core.safepath import safe_component, safe_relpath
from patchline.core.settings import api_keys_from_env
from patchline.core.spec import EditBenchWorkflow, Rollout
from patchline.gateway import ExecutorSettings
from patchline.pipeline.adapters.common import ModelParams, model_secrets
from patchline.pipeline.operations import Operation, OperationContext, OperationResult, parse_params
from patchline.pipeline.plan import StagePlan
from patchline.workflows.editbench import BuildOptions, RunOptions, build_infbench, merge_results, run_editbench

__all__ = ["OPERATIONS", "EditBenchParams", "plan"]


class EditBenchParams(ModelParams):
    """Parameters of the three EditBench operations."""

    bench: str
    dataset_name: str = "all"
    run_id: str
    info_pct: float = 0.2
    include_pr: bool = True
    include_issue: bool = True
    use_bm25: bool = False
    topn: int = 5
    repo_root: str | None = None
    templates: str | None = None
    concurrency: int = 64
    timeout: float = 600.0
    max_attempts: int = 6
    deadline: float | None = None


def build_prompts(context: OperationContext) -> OperationResult:
    """Bench lines to infbench lines (history split, context, prompt), resumable by instance id."""
    params = parse_params(EditBenchParams, context.params, operation="editbench.build_prompts")
    options = BuildOptions(
        info_pct=params.info_pct,
        include_pr=params.include_pr,
        include_issue=params.include_issue,
        use_bm25=params.use_bm25,
        topn=params.topn,
        repo_root=params.repo_root,
        cache_root=context.run.root,
        templates=params.templates,
    )
    save_path = context.run.uri(layout.editbench_infbench(params.dataset_name, params.run_id))
    summary = build_infbench(params.bench, save_path, options, progress=context.progress)
    return OperationResult(
        artifacts={"infbench": summary.save_path},
        counts={"succeeded": summary.written + summary.already_there, "failed": len(summary.failed)},
        message=(
            f"{summary.written} prompts written, {summary.already_there} already there, {len(summary.failed)} skipped"
        ),
    )


def infer(context: OperationContext) -> OperationResult:
    """Run the model on the infbench file into the EditBench result layout."""
    params = parse_params(EditBenchParams, context.params, operation="editbench.run")
    options = RunOptions(
        endpoints=params.endpoints,
        root=context.run.root,
        keys=api_keys_from_env(variable=params.api_key_env),
        executor=ExecutorSettings(
            concurrency=params.concurrency,
            timeout_s=params.timeout,
            max_attempts=params.max_attempts,
            deadline_s=params.deadline,
        ),
    )
    summary = run_editbench(
        params.dataset_name, params.model or "model", params.run_id, options, progress=context.progress
    )
    return OperationResult(
        artifacts={"results": summary.output_uri},
        counts={"succeeded": summary.succeeded + summary.already_done, "failed": summary.failed},
        message=f"{summary.succeeded} succeeded, {summary.failed} failed, {summary.already_done} already done",
    )


def merge(context: OperationContext) -> OperationResult:
    """Merge the per-repository result files into ``all-task-instances_{run_id}.jsonl``."""
    params = parse_params(EditBenchParams, context.params, operation="editbench.merge")
    if params.dataset_name == "all":
        return _merged_already(context, params)
    outputs = merge_results(context.run.root, params.model or "model", run_id=params.run_id)
    return OperationResult(
        artifacts={f"merged:{o.name}": context.run.uri(o.name) for o in outputs},
        counts={"succeeded": sum(o.records for o in outputs)},
        message=f"{sum(o.records for o in outputs)} records in {len(outputs)} merged file(s)",
    )


def _merged_already(context: OperationContext, params: EditBenchParams) -> OperationResult:
    """A run over the ``all`` infbench wrote ``all-task-instances_{run_id}.jsonl`` itself: report it, merge nothing."""
    model_dir = f"experiment_results/{safe_relpath(params.model or 'model', what='model name')}"
    wanted = f"all-task-instances_{safe_component(params.run_id, what='run id')}.jsonl"
    found = [name for name in context.run.list_files(model_dir) if name.rsplit("/", 1)[-1] == wanted]
    if not found:
        raise ArtifactNotFoundError(f"no {wanted} below {context.run.uri(model_dir)} to report")
    records = sum(1 for name in found for line in context.run.iter_lines(name) if line.strip())
    return OperationResult(
        artifacts={f"merged:{name}": context.run.uri(name) for name in found},
        counts={"succeeded": records},
        message=f"{records} records in {len(found)} file(s) written by the run over all instances",
    )


def plan(rollout: Rollout, run_uri: str) -> list[StagePlan]:
    """build_prompts -> infer -> merge, with the EditBench layout below the run root."""
    workflow = rollout.spec.workflow
    if not isinstance(workflow, EditBenchWorkflow):
        raise TypeError("not an EditBench rollout")
    executor = rollout.spec.executor
    params = {
        "bench": rollout.spec.dataset.source,
        "dataset_name": workflow.dataset_name,
        "run_id": workflow.effective_run_id,
        "info_pct": workflow.info_pct,
        "include_pr": workflow.use_pr_mes,
        "include_issue": workflow.use_issue_mes,
        "use_bm25": workflow.use_bm25,
        "topn": workflow.topn,
        "repo_root": rollout.spec.repositories.repo_root,
        "templates": workflow.templates_dir,
        "model": rollout.spec.engine.model_name,
        "concurrency": executor.concurrency,
        "timeout": executor.timeout_seconds,
        "max_attempts": executor.max_attempts,
        "deadline": executor.deadline_seconds,
    }
    return [
        StagePlan("build_prompts", "editbench.build_prompts", "prompts", params),
        StagePlan("infer", "editbench.run", "patches", params, needs_model=True),
        StagePlan("merge", "editbench.merge", "patches", params),
    ]


OPERATIONS = (
    Operation("editbench.build_prompts", "prompts", run=build_prompts, params=EditBenchParams),
    Operation("editbench.run", "patches", run=infer, params=EditBenchParams, secrets=model_secrets),
    Operation("editbench.merge", "patches", run=merge, params=EditBenchParams),
)
