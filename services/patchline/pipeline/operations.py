"""An operation is one stage's work (build requests, run inference, process responses) behind one signature.

Every operation takes an :class:`OperationContext`: the run root, the stage's typed settings (one of the
models of ``patchline.core.spec.stages``, whole), progress, and the services the host lends it (a Retrieval
client when stages run as services). It returns an :class:`OperationResult`. Operations are resumable by
construction: they read what the run root already holds and only add what is missing, which is what makes
job state derivable from artifacts.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from pydantic import SecretStr

from patchline.core.errors import InputError, PatchlineError
from patchline.core.progress import NullProgress, Progress
from patchline.core.repos import Retriever
from patchline.core.settings import KeySets
from patchline.core.spec import SpecModel, StageSettings
from patchline.core.store import ArtifactStore
from patchline.pipeline.catalog import OperationRef

if TYPE_CHECKING:  # the retrieval package (numpy, scipy) loads only where an index is built
    from patchline.retrieval import IndexLimits

__all__ = ["HostServices", "Operation", "OperationContext", "OperationResult", "StageFailedError"]

S = TypeVar("S", bound=SpecModel)


class StageFailedError(PatchlineError):
    """A stage ended without success; its finished work is kept and a rerun resumes it."""


@dataclass(frozen=True)
class HostServices:
    """What the process running an operation lends it (the defaults, in a plain local run)."""

    retriever: Retriever | None = None  # BM25 through the Retrieval service
    key_sets: KeySets = field(default_factory=KeySets)  # the API keys a request may name (apiKeySet)
    index_limits: IndexLimits | None = None  # bounds of one BM25 index build on a service (None: unbounded)
    request_paths: frozenset[str] | None = None  # the request-line urls a service sends (None: any, locally)
    # Whether a `module:function` selection strategy may be imported: only where the stage runs in the
    # user's own process, never on a service answering a (possibly untrusted) gRPC caller.
    selection_hooks: bool = False


@dataclass(frozen=True)
class OperationContext(Generic[S]):
    """What an operation gets: where the run lives, its settings, where to report progress, host services."""

    run: ArtifactStore
    settings: S
    progress: Progress = field(default_factory=NullProgress)
    services: HostServices = field(default_factory=HostServices)


@dataclass(frozen=True)
class OperationResult:
    """What an operation produced: artifact URIs by logical name, counts, and a one-line summary."""

    artifacts: Mapping[str, str] = field(default_factory=dict)
    counts: Mapping[str, int] = field(default_factory=dict)
    message: str = ""


@dataclass(frozen=True)
class Operation(Generic[S]):
    """The implementation of a catalogued operation (``patchline.pipeline.catalog``: name, service, settings type).

    Exactly one of ``run`` (blocking: runs in a worker thread) and ``run_async`` (a coroutine on the
    service's loop) is set.
    """

    ref: OperationRef[S]
    run: Callable[[OperationContext[S]], OperationResult] | None = None
    run_async: Callable[[OperationContext[S]], Awaitable[OperationResult]] | None = None
    description: str = ""
    # The secrets a job of this operation uses with these settings (API keys): redacted from its status.
    secrets: Callable[[S, HostServices], Sequence[SecretStr]] | None = None

    def check(self, settings: StageSettings) -> S:
        """The settings, if they are this operation's kind (else InputError naming both)."""
        if not self.ref.accepts(settings):
            raise InputError(
                f"{self.ref.name} takes {self.ref.settings.__name__} settings, got {type(settings).__name__}"
            )
        return settings

    def secrets_of(self, settings: StageSettings, services: HostServices) -> Sequence[SecretStr]:
        """The secrets a job with ``settings`` uses on a host lending ``services`` (none for most operations)."""
        return self.secrets(self.check(settings), services) if self.secrets is not None else ()

    def context(
        self, run: ArtifactStore, settings: StageSettings, progress: Progress, services: HostServices
    ) -> OperationContext[S]:
        """The context of one call, the settings checked."""
        return OperationContext(run=run, settings=self.check(settings), progress=progress, services=services)


AnyOperation = Operation[Any]
