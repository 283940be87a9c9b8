"""The repository-snapshot protocol every source of files (git commit, folder, structure JSON) implements."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Protocol, runtime_checkable

from patchline.core.closing import Closing

__all__ = ["RepoSnapshot", "SnapshotReading", "decode_text", "is_hidden_git_path", "split_lines"]


@runtime_checkable
class RepoSnapshot(Protocol):
    """The files of a repository at one state, read-only.

    ``commit`` is the resolved commit id when known; ``key`` identifies the snapshot for caches
    (two snapshots with the same key have the same files).
    """

    @property
    def commit(self) -> str | None:
        """The commit id of this state, if it has one."""
        ...

    @property
    def key(self) -> str:
        """A stable cache key for this state."""
        ...

    def list_files(self) -> list[str]:
        """Every file, as sorted posix paths relative to the repository root."""
        ...

    def size_of(self, path: str) -> int | None:
        """The size in bytes of ``path``, known without reading its content; None if it is missing."""
        ...

    def read_text(self, path: str) -> str | None:
        """The text of ``path``; None if it is missing, binary or not UTF-8."""
        ...

    def iter_texts(self, paths: Iterable[str] | None = None) -> Iterator[tuple[str, str]]:
        """``(path, text)`` for each readable text file of ``paths`` (all files if None), in order."""
        ...

    def close(self) -> None:
        """Release what the snapshot holds open (the git process); reading again reopens it."""
        ...


class SnapshotReading(Closing):
    """What every snapshot class derives from ``list_files`` and ``read_text``: bulk reads and ``with``."""

    def list_files(self) -> list[str]:
        """Every file (the concrete class lists them)."""
        raise TypeError(f"{type(self).__name__} must define list_files")

    def read_text(self, path: str) -> str | None:
        """The text of one file (the concrete class reads it)."""
        raise TypeError(f"{type(self).__name__} must define read_text")

    def iter_texts(self, paths: Iterable[str] | None = None) -> Iterator[tuple[str, str]]:
        """``(path, text)`` for each file of ``paths`` (default: all) that has text, in order."""
        for path in self.list_files() if paths is None else paths:
            text = self.read_text(path)
            if text is not None:
                yield path, text


def decode_text(data: bytes) -> str | None:
    """UTF-8 text of a file's bytes, or None for binary (a NUL byte) or non-UTF-8 content."""
    if b"\x00" in data:
        return None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return None


def split_lines(text: str) -> list[str]:
    """Lines without their newline, splitting where Python's tokenizer does (``\\n``, ``\\r\\n``, ``\\r``).

    ``str.splitlines`` (used by Agentless) also splits at form feeds and other separators that the
    tokenizer treats as whitespace, which shifts line numbers against ``ast``; this does not. A final
    newline does not start an extra empty line.
    """
    if not text:
        return []
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    if lines[-1] == "":
        lines.pop()
    return lines


def is_hidden_git_path(path: str) -> bool:
    """True for paths inside a ``.git`` folder, which no snapshot lists."""
    return ".git" in path.split("/")
