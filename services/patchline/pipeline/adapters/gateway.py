"""The inference operation: a request file through the gateway's executor to a response file."""

from __future__ import annotations

from pydantic import Field

from patchline.core.settings import api_keys_from_env
from patchline.gateway import ExecutorSettings, execute_file
from patchline.pipeline.adapters.common import model_secrets
from patchline.pipeline.operations import Operation, OperationContext, OperationParams, OperationResult, parse_params

__all__ = ["OPERATIONS", "InferenceParams", "execute"]


class InferenceParams(OperationParams):
    """Parameters of ``gateway.execute``; unset executor fields keep the executor's defaults."""

    input: str
    output: str
    endpoints: list[str] = Field(min_length=1)
    model: str | None = None
    api_key_env: str | None = None
    concurrency: int | None = None
    timeout: float | None = None
    max_attempts: int | None = None
    affinity: bool = False
    compact: bool = False
    deadline: float | None = None


def executor_settings(params: InferenceParams) -> ExecutorSettings:
    """Executor settings from the parameters that were given."""
    chosen = {
        "concurrency": params.concurrency,
        "timeout_s": params.timeout,
        "max_attempts": params.max_attempts,
        "model_override": params.model,
        "deadline_s": params.deadline,
    }
    return ExecutorSettings(
        affinity=params.affinity,
        compact=params.compact,
        **{k: v for k, v in chosen.items() if v is not None},  # type: ignore[arg-type]
    )


async def execute(context: OperationContext) -> OperationResult:
    """Run the request file against the endpoints; resumes whatever the output already holds."""
    params = parse_params(InferenceParams, context.params, operation="gateway.execute")
    summary = await execute_file(
        params.input,
        params.output,
        endpoints=params.endpoints,
        keys=api_keys_from_env(variable=params.api_key_env),
        settings=executor_settings(params),
        progress=context.progress,
    )
    summary.raise_for_deadline(params.deadline)  # the job fails; its output holds every line, a rerun resumes
    counts = {
        "total": summary.total,
        "succeeded": summary.succeeded,
        "failed": summary.failed,
        "skipped": summary.skipped,
        "prompt_tokens": summary.prompt_tokens,
        "completion_tokens": summary.completion_tokens,
    }
    return OperationResult(
        artifacts={"requests": params.input, "responses": params.output}, counts=counts, message=summary.describe()
    )


OPERATIONS = (
    Operation(
        "gateway.execute",
        "gateway",
        run_async=execute,
        description="run a request file",
        params=InferenceParams,
        secrets=model_secrets,
    ),
)
