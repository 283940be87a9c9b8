"""Agentless repair as stages: build repair requests, (infer), process responses into patches."""

from __future__ import annotations

from patchline.core import layout
from patchline.core.spec import AgentlessWorkflow, Rollout
from patchline.pipeline.adapters.common import ModelParams, SelectionParams, dataset_params, selected_dataset
from patchline.pipeline.operations import Operation, OperationContext, OperationResult, parse_params
from patchline.pipeline.plan import StagePlan, inference_stage
from patchline.workflows.agentless import RepairSettings, generate_requests, process_responses

__all__ = ["OPERATIONS", "AgentlessParams", "plan"]


class AgentlessParams(SelectionParams, ModelParams):
    """Parameters of both Agentless operations (the seed's flags, as the spec sets them)."""

    loc_file: str
    project_file_loc: str | None = None
    repo: str | None = None
    loc_interval: bool = True
    top_n: int | None = None
    context_window: int = 10
    max_samples: int = 1
    skip_greedy: bool = False
    temperature: float = 0.8
    top_p: float = 1.0
    max_tokens: int = 4096
    enable_thinking: bool = False
    thinking_budget: int | None = None
    num_threads: int = 1
    prompt_template: str | None = None
    compat_agentless_newlines: bool = False
    batch_output: str | None = None


def _settings(context: OperationContext, params: AgentlessParams) -> RepairSettings:
    return RepairSettings(
        loc_file=params.loc_file,
        output_folder=context.run.root,
        dataset=selected_dataset(context.run, params),
        model=params.model or "model",
        split=params.split,
        loc_interval=params.loc_interval,
        top_n=params.top_n,
        context_window=params.context_window,
        max_samples=params.max_samples,
        skip_greedy=params.skip_greedy,
        cot=True,
        diff_format=True,
        temperature=params.temperature,
        top_p=params.top_p,
        max_tokens=params.max_tokens,
        enable_thinking=params.enable_thinking,
        thinking_budget=params.thinking_budget,
        num_threads=params.num_threads,
        project_file_loc=params.project_file_loc,
        repo=params.repo,
        prompt_template=params.prompt_template,
        compat_agentless_newlines=params.compat_agentless_newlines,
    )


def build_requests(context: OperationContext) -> OperationResult:
    """``--batch_gen``: append the missing repair requests."""
    params = parse_params(AgentlessParams, context.params, operation="agentless.build_requests")
    summary = generate_requests(_settings(context, params), progress=context.progress)
    skipped = sum(len(ids) for ids in summary.skipped.values())
    return OperationResult(
        artifacts={"requests": summary.requests_file},
        counts={"total": summary.instances, "succeeded": summary.written + summary.already_present, "failed": skipped},
        message="; ".join(summary.describe()),
    )


def process(context: OperationContext) -> OperationResult:
    """``--process_batch``: patches, per-sample files and predictions from the responses."""
    params = parse_params(AgentlessParams, context.params, operation="agentless.process")
    batch_output = params.batch_output or context.run.uri("responses-repair.jsonl")
    summary = process_responses(_settings(context, params), batch_output, progress=context.progress)
    return OperationResult(
        artifacts={
            "output": context.run.uri(layout.agentless_output()),
            "predictions": context.run.uri(layout.PREDICTIONS),
        },
        # Items are instances: one whose samples all got a verdict succeeded, even if no sample has a patch (a
        # weak model's "no edits" is a result, not a failure of the stage); patches are counted beside.
        counts={
            "total": summary.instances,
            "succeeded": summary.instances - len(summary.failed_instances),
            "failed": len(summary.failed_instances),
            "samples": summary.samples,
            "patches": summary.patches,
        },
        message="; ".join(summary.describe()),
    )


def plan(rollout: Rollout, run_uri: str) -> list[StagePlan]:
    """build_requests -> infer -> process, all in the run root."""
    workflow = rollout.spec.workflow
    if not isinstance(workflow, AgentlessWorkflow):
        raise TypeError("not an Agentless rollout")
    sampling = rollout.spec.sampling
    repos = rollout.spec.repositories
    params = {
        **dataset_params(rollout),
        "loc_file": workflow.loc_file,
        "project_file_loc": repos.structure_dir,
        "repo": repos.repo_root,
        "loc_interval": workflow.loc_interval,
        "top_n": workflow.top_n,
        "context_window": workflow.context_window,
        "max_samples": sampling.samples,
        "skip_greedy": workflow.skip_greedy,
        "temperature": sampling.temperature,
        "top_p": sampling.top_p,
        "max_tokens": sampling.max_tokens,
        "enable_thinking": sampling.enable_thinking,
        "thinking_budget": sampling.thinking_budget,
        "prompt_template": workflow.templates_dir,
        "compat_agentless_newlines": workflow.compat_newlines,
        "model": rollout.spec.engine.model_name,
    }
    requests = f"{run_uri}/{layout.agentless_requests()}"
    responses = f"{run_uri}/responses-repair.jsonl"
    return [
        StagePlan("build_requests", "agentless.build_requests", "prompts", params),
        inference_stage("infer", input_uri=requests, output_uri=responses, run=rollout),
        StagePlan("process", "agentless.process", "patches", {**params, "batch_output": responses}),
    ]


OPERATIONS = (
    Operation("agentless.build_requests", "prompts", run=build_requests, params=AgentlessParams),
    Operation("agentless.process", "patches", run=process, params=AgentlessParams),
)
