"""Repository snapshots: the files of a repository at one state, from git, a folder or a structure JSON.

This module is the public face: :class:`RepoSnapshot` (the protocol), :class:`GitSnapshot`
(:mod:`patchline.core.repos_git`), :class:`DirSnapshot` (here), :class:`StructureSnapshot` and
:func:`build_structure` (:mod:`patchline.core.structure`), :func:`python_definitions` and
:func:`find_definition_span` (:mod:`patchline.core.pydefs`), and :func:`open_snapshot` to pick one.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

from patchline.core.errors import InputError, UnsafePathError
from patchline.core.pydefs import (
    Definition,
    PythonSyntaxError,
    find_definition_span,
    python_definitions,
)
from patchline.core.repos_base import RepoSnapshot, SnapshotReading, decode_text, split_lines
from patchline.core.repos_git import GitSnapshot, validate_commit
from patchline.core.safepath import safe_relpath
from patchline.core.structure import (
    StructureSnapshot,
    build_structure,
    file_entry,
    load_structure_file,
    structure_path,
)

__all__ = [
    "Definition",
    "DirSnapshot",
    "GitSnapshot",
    "PythonSyntaxError",
    "RepoSnapshot",
    "Retriever",
    "StructureSnapshot",
    "build_structure",
    "decode_text",
    "file_entry",
    "find_definition_span",
    "load_structure_file",
    "open_snapshot",
    "python_definitions",
    "split_lines",
    "structure_path",
    "validate_commit",
]


class DirSnapshot(SnapshotReading):
    """The regular files below a plain folder (a checkout, an extracted sdist); ``.git`` and symlinks skipped.

    Symlinks are skipped so that nothing outside ``root`` can be read through the snapshot.
    """

    def __init__(self, root: str | os.PathLike[str], *, commit: str | None = None) -> None:
        self.root = Path(root).resolve()
        if not self.root.is_dir():
            raise InputError(f"{root}: no such folder")
        self.commit: str | None = commit
        self.key: str = f"dir:{self.root}"
        self._files: list[str] | None = None

    def __repr__(self) -> str:
        return f"DirSnapshot({str(self.root)!r})"

    def list_files(self) -> list[str]:
        """Every regular file below the root (not following symlinks), sorted; cached after the first call."""
        if self._files is None:
            found: list[str] = []
            for folder, dirs, names in os.walk(self.root, followlinks=False):
                dirs[:] = [d for d in dirs if d != ".git" and not os.path.islink(os.path.join(folder, d))]
                relative = Path(folder).relative_to(self.root).as_posix()
                for name in names:
                    full = os.path.join(folder, name)
                    if os.path.islink(full) or not os.path.isfile(full):
                        continue
                    found.append(name if relative == "." else f"{relative}/{name}")
            self._files = sorted(found)
        return self._files

    def _full_path(self, path: str) -> Path | None:
        try:
            relative = safe_relpath(path, what="repository path")
        except UnsafePathError:
            return None
        full = self.root / relative
        if full.is_symlink() or not full.is_file() or ".git" in relative.split("/"):
            return None
        return full

    def size_of(self, path: str) -> int | None:
        """The size in bytes of ``path`` (without reading it), or None if it is not a regular file below the root."""
        full = self._full_path(path)
        return None if full is None else full.stat().st_size

    def read_bytes(self, path: str) -> bytes | None:
        """The bytes of ``path``, or None if it is not a regular file below the root."""
        full = self._full_path(path)
        return None if full is None else full.read_bytes()

    def read_text(self, path: str) -> str | None:
        """The UTF-8 text of ``path``; None if missing, binary or not UTF-8."""
        data = self.read_bytes(path)
        return None if data is None else decode_text(data)


def open_snapshot(repo: str, commit: str | None) -> RepoSnapshot:
    """The snapshot a user means by ``repo`` and ``commit``.

    A ``.json`` file is a structure JSON; a folder with a commit is a git repository (work tree or
    mirror) read at that commit; a folder without a commit is read as plain files.
    """
    path = Path(repo)
    if repo.endswith(".json") and (path.is_file() or "://" in repo):
        return load_structure_file(repo)
    if not path.is_dir():
        raise InputError(f"{repo}: neither a folder nor a structure .json file")
    if commit is None:
        return DirSnapshot(path)
    return GitSnapshot(path, commit)


class Retriever(Protocol):
    """Ranks the files of a git snapshot against a query: BM25 in this process
    (``patchline.workflows.editbench.BM25Retriever``) or on the Retrieval service (``patchline.servers``)."""

    def top_files(self, repo: GitSnapshot, query: str, *, topn: int, exclude: Sequence[str]) -> list[str]:
        """The ``topn`` best ``.py`` files of ``repo`` for ``query``, ``exclude`` left out of the corpus."""
        ...
