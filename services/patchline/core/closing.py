"""One definition of "use it in a ``with`` block and it is closed on leaving", for every resource that holds files,
servers or threads."""

from __future__ import annotations

from types import TracebackType
from typing import Self

__all__ = ["Closing"]


class Closing:
    """A resource used as ``with resource:``: leaving the block (normally or by an error) calls :meth:`close`."""

    def close(self) -> None:
        """Release what the object holds (nothing unless a subclass holds something)."""

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
