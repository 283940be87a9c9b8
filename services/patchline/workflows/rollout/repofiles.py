"""The files a rollout stage reads for one instance: a lazily parsed structure JSON, or any repository snapshot.

Structure JSON files hold every line of every file (often tens of MB) but a stage needs the tree and
at most a handful of files. :class:`LazyStructure` therefore decodes only the nesting of folders with
msgspec (two levels per scan, file entries kept as raw byte slices) and decodes a file's ``text`` only
when it is read: building a step-1 prompt costs a fraction of ``json.loads`` on the whole document.
Text is rebuilt as :class:`patchline.core.repos.StructureSnapshot` does (lines joined with ``\\n``,
one final ``\\n``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from types import MappingProxyType
from typing import Any, Protocol

import msgspec

from patchline.core.errors import InputError
from patchline.core.repos import RepoSnapshot
from patchline.core.repos_base import is_hidden_git_path
from patchline.workflows.rollout.tree import render_structure_tree, render_tree

__all__ = [
    "LazyStructure",
    "RepoFiles",
    "SnapshotFiles",
    "known_paths",
    "resolve_file",
    "resolve_found_files",
    "resolve_path",
]

_PY_FILE_KEYS = frozenset({"classes", "functions", "text"})
_NO_ALIASES: Mapping[str, str] = MappingProxyType({})
_LEAF: dict[str, Any] = {"classes": []}  # an entry the step-1 tree prints but does not descend into


class _Document(msgspec.Struct):
    structure: dict[str, dict[str, msgspec.Raw]]
    base_commit: str | None = None


class _PyEntry(msgspec.Struct):
    text: list[str]


_FOLDER = msgspec.json.Decoder(dict[str, dict[str, msgspec.Raw]])
_KEYS = msgspec.json.Decoder(dict[str, msgspec.Raw])
_DOCUMENT = msgspec.json.Decoder(_Document)
_ENTRY = msgspec.json.Decoder(_PyEntry)
_LINES = msgspec.json.Decoder(list[str])


class RepoFiles(Protocol):
    """What the rollout stages need from a repository state."""

    @property
    def python_files(self) -> list[str]:
        """Paths of the Python files, in the source's order."""
        ...

    @property
    def top_folders(self) -> list[str]:
        """Names of the top-level folders (used to correct paths a model gives without them)."""
        ...

    @property
    def aliases(self) -> Mapping[str, str]:
        """Paths the step-1 tree shows for files that live elsewhere (``flask/setup.py`` -> ``setup.py``)."""
        ...

    def read_text(self, path: str) -> str | None:
        """The text of a Python file, or None if it is not one of :attr:`python_files`."""
        ...

    def tree(self, *, show_tests: bool) -> str:
        """The step-1 tree (see :mod:`patchline.workflows.rollout.tree`)."""
        ...


class LazyStructure:
    """A structure JSON document, decoded only as far as a stage needs.

    The walk keeps every key in document order as a tree of names (a Python file entry, or anything
    holding a ``classes`` key, is a leaf), which is all the step-1 tree needs.
    """

    def __init__(self, data: bytes, *, source: str = "structure JSON") -> None:
        try:
            document = _DOCUMENT.decode(data)
        except (msgspec.DecodeError, msgspec.ValidationError, RecursionError) as exc:
            raise InputError(f"{source}: not a structure JSON document ({exc})") from exc
        self.source = source
        self.commit = document.base_commit
        self._texts: dict[str, msgspec.Raw] = {}  # path -> raw "text" list
        self._entries: dict[str, msgspec.Raw] = {}  # path -> raw file entry (text decoded on read)
        self._order: list[str] = []
        self._top: list[str] = []
        self._names: dict[str, Any] = {}  # key tree for the step-1 tree; a leaf is {"classes": []}
        for name, child in document.structure.items():
            if child.keys() == _PY_FILE_KEYS:
                self._order.append(name)
                self._texts[name] = child["text"]
            elif child:
                self._top.append(name)
            below = self._walk_children(child, f"{name}/") if child.keys() != _PY_FILE_KEYS else _LEAF
            self._names[name] = _LEAF if "classes" in child else below

    def _walk_children(self, children: dict[str, msgspec.Raw], prefix: str) -> dict[str, Any]:
        names: dict[str, Any] = {}
        for name, raw in children.items():
            path = prefix + name
            try:
                folder = _FOLDER.decode(raw)
            except msgspec.ValidationError:
                names[name] = self._file_or_odd_entry(path, raw)
                continue
            except (msgspec.DecodeError, RecursionError) as exc:
                raise InputError(f"{self.source}: {path}: malformed JSON ({exc})") from exc
            below = self._walk(folder, f"{path}/")
            names[name] = _LEAF if "classes" in folder else below
        return names

    def _file_or_odd_entry(self, path: str, raw: msgspec.Raw) -> dict[str, Any]:
        """A Python file entry (kept raw), or an object of other shape (walked as the seed's printer walks it)."""
        try:
            keys = _KEYS.decode(raw)
        except (msgspec.DecodeError, msgspec.ValidationError):
            return _LEAF  # not an object: nothing below it to print
        if "classes" in keys:
            if path.endswith(".py") or keys.keys() == _PY_FILE_KEYS:
                self._order.append(path)
                self._entries[path] = raw
            return _LEAF
        return {name: _LEAF for name in keys}

    def _walk(self, folder: dict[str, dict[str, msgspec.Raw]], prefix: str) -> dict[str, Any]:
        names: dict[str, Any] = {}
        for name, child in folder.items():
            if child.keys() == _PY_FILE_KEYS:
                self._order.append(prefix + name)
                self._texts[prefix + name] = child["text"]
                names[name] = _LEAF
                continue
            below = self._walk_children(child, f"{prefix}{name}/")
            names[name] = _LEAF if "classes" in child else below
        return names

    @property
    def python_files(self) -> list[str]:
        """Paths of the Python file entries, in structure order."""
        return self._order

    @property
    def top_folders(self) -> list[str]:
        """Top-level folders of the structure."""
        return self._top

    @property
    def aliases(self) -> Mapping[str, str]:
        """None: a structure's paths are the paths its tree shows."""
        return _NO_ALIASES

    def read_text(self, path: str) -> str | None:
        """The text of a Python file; None if absent or if its entry holds no list of lines."""
        lines: list[str] | None = None
        try:
            if path in self._texts:
                lines = _LINES.decode(self._texts[path])
            elif path in self._entries:
                lines = _ENTRY.decode(self._entries[path]).text
        except (msgspec.DecodeError, msgspec.ValidationError, RecursionError):
            return None
        if lines is None:
            return None
        return "\n".join(lines) + "\n" if lines else ""

    def tree(self, *, show_tests: bool) -> str:
        """The step-1 tree of this structure (the seed's printer over the document's keys)."""
        return render_structure_tree(self._names, show_tests=show_tests)


class SnapshotFiles:
    """:class:`RepoFiles` over any :class:`patchline.core.repos.RepoSnapshot` (git commit, folder).

    Its tree is the one the snapshot's structure JSON gives (``patchline repos structure``): root files
    nested under ``root_folder`` as Agentless does. A path shown that way is accepted as an alias of
    the real root file.
    """

    def __init__(self, snapshot: RepoSnapshot, *, root_folder: str | None = None) -> None:
        self.snapshot = snapshot
        self.root_folder = root_folder
        self._all = [p for p in snapshot.list_files() if not is_hidden_git_path(p)]
        self._files = [p for p in self._all if p.endswith(".py")]
        self._known = frozenset(self._files)
        self._top = list(dict.fromkeys(p.split("/", 1)[0] for p in self._files if "/" in p))
        self._aliases: Mapping[str, str] = MappingProxyType(
            {f"{root_folder}/{p}": p for p in self._files if "/" not in p and f"{root_folder}/{p}" not in self._known}
            if root_folder
            else {}
        )

    @property
    def python_files(self) -> list[str]:
        """Paths of the Python files, sorted."""
        return self._files

    @property
    def top_folders(self) -> list[str]:
        """Top-level folders holding Python files."""
        return self._top

    @property
    def aliases(self) -> Mapping[str, str]:
        """``{root_folder}/{file}`` -> ``{file}`` for the Python files of the repository root."""
        return self._aliases

    def read_text(self, path: str) -> str | None:
        """The text of a Python file of the snapshot."""
        return self.snapshot.read_text(path) if path in self._known else None

    def tree(self, *, show_tests: bool) -> str:
        """The step-1 tree of this snapshot (every file, laid out as its structure JSON)."""
        return render_tree(self._all, show_tests=show_tests, root_folder=self.root_folder)


def resolve_path(candidate: str, known: frozenset[str] | set[str], top_folders: Iterable[str]) -> str | None:
    """``candidate`` if it is a known file, else the first ``{top folder}/{candidate}`` that is; else None."""
    path = candidate.strip()
    while path.startswith("./"):
        path = path[2:]
    if not path:
        return None
    if path in known:
        return path
    for folder in top_folders:
        prefixed = f"{folder}/{path}"
        if prefixed in known:
            return prefixed
    return None


def known_paths(files: RepoFiles) -> frozenset[str]:
    """Every path a model may name for a Python file: the files, and the aliases the tree shows."""
    return frozenset(files.python_files) | frozenset(files.aliases)


def resolve_file(candidate: str, known: frozenset[str], files: RepoFiles) -> str | None:
    """The real path of the file ``candidate`` names (see :func:`resolve_path`), aliases followed."""
    path = resolve_path(candidate, known, files.top_folders)
    return None if path is None else files.aliases.get(path, path)


def resolve_found_files(answer: str, files: RepoFiles) -> list[str]:
    """The files a step-1 answer names, read line by line, corrected and de-duplicated in answer order."""
    known = known_paths(files)
    found: dict[str, None] = {}
    for line in answer.splitlines():
        path = resolve_file(line, known, files)
        if path is not None:
            found.setdefault(path, None)
    return list(found)
