"""Agentless repository-structure JSON: read it as a snapshot, and generate it from any snapshot.

Format (as Agentless' ``get_repo_structure.py`` writes it): ``{"repo", "base_commit", "structure",
"instance_id"}`` where ``structure`` is a nested dict of folders; a ``.py`` file is ``{"classes":
[{"name", "start_line", "end_line", "text", "methods": [{"name", "start_line", "end_line", "text"}]}],
"functions": [{"name", "start_line", "end_line", "text"}], "text": [lines]}`` and any other file is
``{}``. Entries are recorded by the original's parser rules (:mod:`patchline.core.structure_entry`);
the nesting and order are :func:`structure_layout`'s (root files below the repository's folder name
when ``root_folder`` is given, as the original does).

What cannot be reproduced: the original's sibling order is the order its filesystem listed each folder
(``os.walk``), so two checkouts of one commit give different orders; patchline walks in sorted order.
The original also walks into ``.git`` (its files recorded as ``{}``, never shown in a prompt); git
tracks no empty folders, so none are recorded. Lines lose their newline, so
:meth:`StructureSnapshot.read_text` joins them with ``\\n`` and ends a non-empty file with one ``\\n``.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from patchline.core.errors import InputError
from patchline.core.jsonl import load_json
from patchline.core.progress import NullProgress, Progress
from patchline.core.repos_base import RepoSnapshot, SnapshotReading, is_hidden_git_path
from patchline.core.safepath import item_file_name, safe_component
from patchline.core.store import open_artifact
from patchline.core.structure_entry import is_python_path, original_file_entry

__all__ = [
    "StructureSnapshot",
    "build_structure",
    "file_entry",
    "load_structure_file",
    "structure_file_name",
    "structure_layout",
    "structure_path",
    "top_folder_name",
]


_PY_FILE_KEYS = frozenset({"classes", "functions", "text"})
_DOCUMENT_KEYS = frozenset({"structure", "repo", "base_commit", "instance_id"})


def _is_python_entry(value: Mapping[str, Any]) -> bool:
    return set(value) == _PY_FILE_KEYS


def _looks_like_document(value: Mapping[str, Any]) -> bool:
    """A whole structure file (``structure`` plus only document keys) rather than the nested dict."""
    return isinstance(value.get("structure"), Mapping) and set(value) <= _DOCUMENT_KEYS


class StructureSnapshot(SnapshotReading):
    """The files of an Agentless structure dict (the value of the JSON's ``structure`` key).

    Every ``.py`` file entry and every ``{}`` leaf is a file (git has no empty folders); a non-Python
    file has no text, so :meth:`read_text` returns None for it. Given a whole structure document
    instead (a ``structure`` object and nothing but ``repo``/``base_commit``/``instance_id``), it
    takes the nested dict and the commit from it, like :meth:`from_document`.
    """

    def __init__(self, structure: Mapping[str, Any], *, commit: str | None = None, key: str | None = None) -> None:
        if not isinstance(structure, Mapping):
            raise InputError(f"a repository structure must be a JSON object, got {type(structure).__name__}")
        if _looks_like_document(structure):  # the whole JSON file was passed: take its parts
            base_commit = structure.get("base_commit")
            commit = commit or (base_commit if isinstance(base_commit, str) else None)
            structure = structure["structure"]
        self.commit: str | None = commit
        self._entries: dict[str, Mapping[str, Any]] = {}
        self._collect(structure, "")
        self.key: str = key or self._default_key()

    @classmethod
    def from_document(cls, document: Mapping[str, Any], *, source: str = "structure JSON") -> StructureSnapshot:
        """A snapshot from a whole structure JSON document (``{"structure": {...}, "base_commit": ...}``)."""
        structure = document.get("structure") if isinstance(document, Mapping) else None
        if not isinstance(structure, Mapping):
            raise InputError(f"{source}: no 'structure' object")
        commit = document.get("base_commit")
        return cls(structure, commit=commit if isinstance(commit, str) else None)

    def _collect(self, folder: Mapping[str, Any], prefix: str) -> None:
        for name, value in folder.items():
            path = f"{prefix}{name}"
            if not isinstance(value, Mapping):
                raise InputError(f"structure entry {path!r} is a {type(value).__name__}, not an object")
            if name == ".git":
                continue
            if not value or _is_python_entry(value):
                self._entries[path] = value
            else:
                self._collect(value, f"{path}/")

    def _default_key(self) -> str:
        digest = hashlib.sha256("\x00".join(sorted(self._entries)).encode("utf-8", "surrogatepass"))
        return f"structure:{self.commit or '-'}:{digest.hexdigest()[:16]}"

    def __repr__(self) -> str:
        return f"StructureSnapshot({len(self._entries)} files, commit={self.commit!r})"

    def list_files(self) -> list[str]:
        """Every file of the structure, sorted."""
        return sorted(self._entries)

    def entry(self, path: str) -> Mapping[str, Any] | None:
        """The raw structure entry of ``path`` (``{}`` for a non-Python file), or None if absent."""
        return self._entries.get(path)

    def lines(self, path: str) -> list[str] | None:
        """The ``text`` lines of a Python file, or None if the file is absent or has no text."""
        entry = self._entries.get(path)
        text = None if entry is None else entry.get("text")
        if not isinstance(text, list):
            return None  # a non-Python file, or Agentless' "" for a file it could not parse
        if not all(isinstance(line, str) for line in text):
            raise InputError(f"structure entry {path!r}: 'text' must be a list of strings")
        return text

    def size_of(self, path: str) -> int | None:
        """The UTF-8 size of the text the structure holds for ``path`` (0 for a non-Python file); None if absent."""
        if path not in self._entries:
            return None
        text = self.read_text(path)
        return 0 if text is None else len(text.encode("utf-8", "surrogatepass"))

    def read_text(self, path: str) -> str | None:
        """The file's text rebuilt from its lines; None for a missing or non-Python file."""
        lines = self.lines(path)
        if lines is None:
            return None
        return "\n".join(lines) + "\n" if lines else ""


def structure_file_name(instance_id: str) -> str:
    """``{instance_id}.json``; an unusual or long id gets a bounded name (see ``item_file_name``)."""
    return item_file_name(instance_id, suffix=".json")


def structure_path(project_file_loc: str, instance_id: str) -> str:
    """``{project_file_loc}/{instance_id}.json`` (the name as :func:`structure_file_name` gives it)."""
    name = structure_file_name(instance_id)
    if "://" in project_file_loc:
        return f"{project_file_loc.rstrip('/')}/{name}"
    return os.path.join(project_file_loc, name)


def load_structure_file(path: str) -> StructureSnapshot:
    """Read a structure JSON file (local path or storage URI) as a snapshot keyed by its location."""
    store, name = open_artifact(path)
    data = store.read_bytes(name)
    try:
        document = load_json(data)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: not a structure JSON file ({exc})") from exc
    snapshot = StructureSnapshot.from_document(document, source=path)
    snapshot.key = f"structure:{store.uri(name)}"
    return snapshot


def file_entry(path: str, text: str | None) -> dict[str, Any]:
    """The structure entry of one file, as Agentless' parser records it (:mod:`patchline.core.structure_entry`)."""
    return original_file_entry(path, text)


class _Folder:
    """A folder of the snapshot: its file names and subfolders (sorted when walked)."""

    __slots__ = ("files", "folders")

    def __init__(self) -> None:
        self.files: list[str] = []
        self.folders: dict[str, _Folder] = {}


def _folder_tree(paths: Iterable[str]) -> _Folder:
    root = _Folder()
    for path in paths:
        *parts, name = path.split("/")
        node = root
        for part in parts:
            node = node.folders.setdefault(part, _Folder())
        node.files.append(name)
    return root


def structure_layout(
    paths: Iterable[str], leaf: Callable[[str], Any], *, root_folder: str | None = None
) -> dict[str, Any]:
    """The nested ``structure`` dict of ``paths`` with ``leaf(path)`` at each file, in the stated order.

    Agentless' ``create_structure`` walks the checkout with ``os.walk`` (top down) and records, at each
    folder it enters, that folder's files and then (as the walk goes on) its subfolders; files of the
    repository root go below ``root_folder`` (the repository's folder name), where the contents of a
    root folder of the same name are merged in. Its order is the filesystem's listing order, which no
    other checkout reproduces; here the walk visits names in sorted order (Python string order), so
    within each folder the files come first, sorted, then the subfolders, sorted, and the top level
    starts with ``root_folder``. With ``root_folder=None`` root files stay at the top level.
    """
    structure: dict[str, Any] = {}
    python_leaves: set[int] = set()

    def enter(parts: list[str]) -> dict[str, Any]:
        node = structure
        for part in parts:
            child = node.setdefault(part, {})  # a non-Python file of that name becomes the folder, as there
            if not isinstance(child, dict) or id(child) in python_leaves:
                raise InputError(f"{'/'.join(parts)}: a file and a folder share this name")
            node = child
        return node

    def walk(folder: _Folder, parts: list[str]) -> None:
        node = enter(parts if parts else ([root_folder] if root_folder else []))
        for name in sorted(folder.files):
            path = "/".join([*parts, name])
            value = node[name] = leaf(path)
            if is_python_path(path):
                python_leaves.add(id(value))
        for name in sorted(folder.folders):
            walk(folder.folders[name], [*parts, name])

    walk(_folder_tree(paths), [])
    return structure


def build_structure(
    snapshot: RepoSnapshot,
    *,
    repo: str | None = None,
    instance_id: str | None = None,
    root_folder: str | None = None,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """The Agentless structure JSON document of ``snapshot`` (every file; see :func:`structure_layout`).

    Python files are read in bulk (one ``cat-file`` process for git) and recorded by the original's
    parser rules (:func:`file_entry`). ``root_folder`` nests the files of the repository root under that
    name, as Agentless does with the repository's folder name.
    """
    progress = progress or NullProgress()
    files = [p for p in snapshot.list_files() if not is_hidden_git_path(p)]
    texts = dict(snapshot.iter_texts([p for p in files if is_python_path(p)]))
    progress.start("structure", total=len(files))

    def entry(path: str) -> dict[str, Any]:
        progress.advance()
        return file_entry(path, texts.get(path))

    structure = structure_layout(files, entry, root_folder=root_folder)
    progress.finish()
    return {"repo": repo, "base_commit": snapshot.commit, "structure": structure, "instance_id": instance_id}


def top_folder_name(repo: str | None, fallback: str) -> str:
    """The folder Agentless clones a repository into: the name part of ``owner/name`` (else ``fallback``)."""
    name = (repo or "").rstrip("/").rpartition("/")[2]
    return safe_component(name or fallback, what="top folder name")
