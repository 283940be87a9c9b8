"""The inference operation: a request file through the gateway's executor to a response file."""

from __future__ import annotations

from typing import Any

from pydantic import SecretStr

from patchline.core.errors import InputError
from patchline.core.spec import InferenceStage
from patchline.gateway import execute_file
from patchline.pipeline.catalog import GATEWAY_EXECUTE
from patchline.pipeline.operations import HostServices, Operation, OperationContext, OperationResult

__all__ = ["OPERATIONS", "execute"]


async def execute(context: OperationContext[InferenceStage]) -> OperationResult:
    """Run the request file against the stage's endpoints; resumes whatever the output already holds."""
    settings = context.settings
    if settings.endpoints is None:
        raise InputError("endpoints: an inference stage needs the model's endpoints (none were given)")
    summary = await execute_file(
        settings.input,
        settings.output,
        endpoints=settings.endpoints,
        keys=context.services.key_sets.keys(settings.endpoints.api_key_set),
        settings=settings.executor,
        progress=context.progress,
        on_mismatch=settings.on_mismatch,
        request_paths=context.services.request_paths,
    )
    summary.raise_for_deadline(settings.executor.deadline_seconds)  # the job fails; a rerun resumes
    counts = {
        "total": summary.total,
        "succeeded": summary.succeeded,
        "failed": summary.failed,
        "skipped": summary.skipped,
        "prompt_tokens": summary.prompt_tokens,
        "completion_tokens": summary.completion_tokens,
    }
    return OperationResult(
        artifacts={"requests": settings.input, "responses": settings.output}, counts=counts, message=summary.describe()
    )


def _keys(settings: InferenceStage, services: HostServices) -> tuple[SecretStr, ...]:
    """The API keys the stage sends (kept out of its job's status)."""
    return services.key_sets.keys(settings.endpoints.api_key_set if settings.endpoints else None).keys


OPERATIONS: tuple[Operation[Any], ...] = (
    Operation(GATEWAY_EXECUTE, run_async=execute, description="run a request file", secrets=_keys),
)
