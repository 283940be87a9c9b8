"""The one place where patchline errors become gRPC status codes (with every configured secret redacted)."""

from __future__ import annotations

import functools
import logging
import traceback
from collections.abc import Awaitable, Callable
from typing import Any, Protocol, TypeVar

import grpc
from pydantic import ValidationError

from patchline.core.errors import (
    ArtifactNotFoundError,
    DeadlineExceededError,
    InputError,
    PatchlineError,
    PreconditionError,
    ResourceExhaustedError,
    UnavailableError,
)
from patchline.servers.edge import Edge

__all__ = ["abort_for", "status_code_for", "translate_errors"]

log = logging.getLogger(__name__)

# Most specific first: DeadlineExceededError is also an UnavailableError.
_CODES: tuple[tuple[type[PatchlineError], grpc.StatusCode], ...] = (
    (InputError, grpc.StatusCode.INVALID_ARGUMENT),
    (ArtifactNotFoundError, grpc.StatusCode.NOT_FOUND),
    (PreconditionError, grpc.StatusCode.FAILED_PRECONDITION),
    (ResourceExhaustedError, grpc.StatusCode.RESOURCE_EXHAUSTED),
    (DeadlineExceededError, grpc.StatusCode.DEADLINE_EXCEEDED),
    (UnavailableError, grpc.StatusCode.UNAVAILABLE),
)

R = TypeVar("R")


class _Servicer(Protocol):
    edge: Edge


def status_code_for(kind: type[BaseException] | None) -> grpc.StatusCode:
    """The status code of a domain error type (INTERNAL for anything unexpected)."""
    for error_type, code in _CODES:
        if kind is not None and issubclass(kind, error_type):
            return code
    return grpc.StatusCode.INTERNAL


async def abort_for(exc: Exception, context: grpc.aio.ServicerContext, edge: Edge) -> None:
    """End the call with the error's status code and its message, secrets redacted (raises).

    An unexpected error is INTERNAL naming only its type; its trace goes to the log, redacted.
    """
    if isinstance(exc, PatchlineError):
        await context.abort(status_code_for(type(exc)), edge.redactor.text(str(exc)))
    log.error("unexpected error: %s", edge.redactor.text("".join(traceback.format_exception(exc))))
    await context.abort(grpc.StatusCode.INTERNAL, f"internal error ({type(exc).__name__}); see the server log")


def translate_errors(method: Callable[..., Awaitable[R]]) -> Callable[..., Awaitable[R]]:
    """Decorate a unary servicer method: domain errors abort the call with their status code."""

    @functools.wraps(method)
    async def wrapper(self: _Servicer, request: Any, context: grpc.aio.ServicerContext) -> R:
        try:
            return await method(self, request, context)
        except ValidationError as exc:
            detail = self.edge.redactor.text(f"invalid parameters: {exc.errors()[0]['msg']}")
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, detail)
        except grpc.aio.AbortError:
            raise
        except Exception as exc:  # every other error leaves through abort_for: never an unredacted message
            await abort_for(exc, context, self.edge)
        raise AssertionError("unreachable: context.abort raises")

    return wrapper
