"""An operation is one stage's work (build requests, run inference, process responses) behind one signature.

Every operation takes an :class:`OperationContext` (the run root, validated parameters, progress) and
returns an :class:`OperationResult`. Operations are resumable by construction: they read what the
run root already holds and only add what is missing, which is what makes job state derivable from
artifacts.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, SecretStr, ValidationError

from patchline.core.errors import InputError, PatchlineError
from patchline.core.progress import NullProgress, Progress
from patchline.core.store import ArtifactStore

__all__ = ["Operation", "OperationContext", "OperationParams", "OperationResult", "StageFailedError", "parse_params"]

P = TypeVar("P", bound="OperationParams")


class StageFailedError(PatchlineError):
    """A stage ended without success; its finished work is kept and a rerun resumes it."""


class OperationParams(BaseModel):
    """Base of every operation's parameters: unknown keys are errors, not silently ignored."""

    model_config = ConfigDict(extra="forbid", frozen=True)


def parse_params(model: type[P], params: Mapping[str, Any], *, operation: str) -> P:
    """Validate ``params`` for ``operation``; the error names the first bad field."""
    try:
        return model.model_validate(dict(params))
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first.get("loc", ())) or "params"
        raise InputError(f"{operation}: {where}: {first.get('msg', 'invalid')}") from None


@dataclass(frozen=True)
class OperationContext:
    """What an operation gets: where the run lives, its parameters, and where to report progress."""

    run: ArtifactStore
    params: Mapping[str, Any]
    progress: Progress = field(default_factory=NullProgress)


@dataclass(frozen=True)
class OperationResult:
    """What an operation produced: artifact URIs by logical name, counts, and a one-line summary."""

    artifacts: Mapping[str, str] = field(default_factory=dict)
    counts: Mapping[str, int] = field(default_factory=dict)
    message: str = ""


SyncOperation = Callable[[OperationContext], OperationResult]
AsyncOperation = Callable[[OperationContext], Awaitable[OperationResult]]


@dataclass(frozen=True)
class Operation:
    """A named operation and the service that hosts it (prompts, gateway, patches, retrieval).

    Exactly one of ``run`` (blocking: runs in a worker thread) and ``run_async`` (a coroutine on the
    service's loop) is set.
    """

    name: str
    service: str
    run: SyncOperation | None = None
    run_async: AsyncOperation | None = None
    description: str = ""
    params: type[OperationParams] | None = None
    # The secrets a job of this operation uses with these parameters (API keys): redacted from its status.
    secrets: Callable[[Mapping[str, Any]], Sequence[SecretStr]] | None = None

    def check(self, params: Mapping[str, Any]) -> None:
        """Refuse bad parameters before a job starts (raises InputError naming the field)."""
        if self.params is not None:
            parse_params(self.params, params, operation=self.name)
