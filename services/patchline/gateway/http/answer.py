"""What every HTTP client of the executor returns or raises."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

__all__ = ["HttpAnswer", "HttpClient", "TransportFailure"]


@dataclass(slots=True)
class HttpAnswer:
    """An HTTP answer: status, headers with lower-case names, and the whole body."""

    status: int
    headers: Mapping[str, str]
    content: bytes


class TransportFailure(Exception):
    """No usable HTTP answer; ``kind`` names what happened (``ConnectError``, ``ReadTimeout``, ...)."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind


class HttpClient(Protocol):
    """What the sender needs from an HTTP client."""

    async def post(self, url: str, payload: bytes, headers: Mapping[str, str]) -> HttpAnswer:
        """POST ``payload``; the answer whatever its status, or :class:`TransportFailure`."""
        ...

    async def aclose(self) -> None:
        """Close every connection."""
        ...
