"""The patchline error hierarchy: every domain error is one of these, mapped once at each edge.

PatchlineError
├── InputError                 bad user input (a file, a line, a flag); CLI exit 2, gRPC INVALID_ARGUMENT
│   ├── MalformedLineError     one line of a JSONL file could not be read (file:line: reason)
│   │   └── RecordError        a record is missing a field or has a wrong type (file:line: field: reason)
│   ├── UnsafePathError        a path component from data would leave the run root
│   └── AccessDeniedError      a request names a path, bucket, endpoint or key set the server does not allow
├── ArtifactNotFoundError      an artifact the step needs is not there; gRPC NOT_FOUND
├── PreconditionError          the run is not in a state where this can be done; gRPC FAILED_PRECONDITION
├── ResourceExhaustedError     a limit was reached (queue full, context too long); gRPC RESOURCE_EXHAUSTED
└── UnavailableError           a dependency (model server, storage) is not reachable; gRPC UNAVAILABLE
    └── DeadlineExceededError  the run's deadline passed with work unfinished (recorded; a rerun resumes)
"""

from __future__ import annotations

__all__ = [
    "AccessDeniedError",
    "ArtifactNotFoundError",
    "DeadlineExceededError",
    "InputError",
    "MalformedLineError",
    "PatchlineError",
    "PreconditionError",
    "RecordError",
    "ResourceExhaustedError",
    "UnavailableError",
    "UnsafePathError",
]


class PatchlineError(Exception):
    """Base of every error patchline raises on purpose."""


class InputError(PatchlineError):
    """The user's input is wrong; the message says where and why."""


class MalformedLineError(InputError):
    """A JSONL line could not be parsed into a record."""

    def __init__(self, source: str, line_no: int, reason: str) -> None:
        super().__init__(f"{source}:{line_no}: {reason}")
        self.source = source
        self.line_no = line_no
        self.reason = reason


class RecordError(MalformedLineError):
    """A line parsed as JSON but a field of its record is missing or invalid."""

    def __init__(self, source: str, line_no: int, field: str, reason: str) -> None:
        super().__init__(source, line_no, f"{field}: {reason}")
        self.field = field


class UnsafePathError(InputError):
    """A path or path component taken from data would resolve outside the run root."""


class AccessDeniedError(InputError):
    """A request reaches outside what the server was configured to allow (roots, buckets, endpoints, key sets)."""


class ArtifactNotFoundError(PatchlineError):
    """An artifact that a step reads does not exist."""


class PreconditionError(PatchlineError):
    """The operation does not make sense in the current state."""


class ResourceExhaustedError(PatchlineError):
    """A configured limit was reached."""


class UnavailableError(PatchlineError):
    """A service this step depends on could not be reached."""


class DeadlineExceededError(UnavailableError):
    """The run's deadline passed before every item finished; the unfinished ones are recorded as failed."""
