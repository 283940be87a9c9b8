"""Agentless repository-structure JSON: read it as a snapshot, and generate it from any snapshot.

Format (as Agentless' ``get_repo_structure.py`` writes it): ``{"repo", "base_commit", "structure",
"instance_id"}`` where ``structure`` is a nested dict of folders; a ``.py`` file is ``{"classes":
[{"name", "start_line", "end_line", "text", "methods": [{"name", "start_line", "end_line", "text"}]}],
"functions": [{"name", "start_line", "end_line", "text"}], "text": [lines]}`` and any other file is
``{}``. Spans are 1-based and inclusive, from the ``class``/``def`` line (decorators excluded) - see
:mod:`patchline.core.pydefs` for the small deliberate differences in which definitions are listed.

Differences from Agentless' generator, on purpose: root files sit at the top of ``structure`` (Agentless
nests them under the repository's folder name, merged with a package folder of that name; pass
``root_folder=`` to reproduce that); ``.git`` is never listed; lines are split where Python's tokenizer
splits them (see :func:`patchline.core.repos_base.split_lines`); a ``.py`` file that does not parse keeps
its ``text`` (Agentless writes ``"text": ""``) with empty ``classes``/``functions``; a ``.py`` file that is
binary or not UTF-8 is ``{}``. Lines lose their newline, so :meth:`StructureSnapshot.read_text` joins them
with ``\\n`` and ends a non-empty file with one ``\\n``.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from collections.abc import Mapping
from typing import Any

from patchline.core.errors import InputError
from patchline.core.jsonl import load_json
from patchline.core.progress import NullProgress, Progress
from patchline.core.pydefs import Definition, PythonSyntaxError, module_outline, parse_python
from patchline.core.repos_base import RepoSnapshot, SnapshotReading, is_hidden_git_path, split_lines
from patchline.core.safepath import item_file_name
from patchline.core.store import open_artifact

__all__ = [
    "StructureSnapshot",
    "build_structure",
    "file_entry",
    "load_structure_file",
    "structure_file_name",
    "structure_path",
]

log = logging.getLogger(__name__)

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


def _span_entry(definition: Definition, lines: list[str], name: str) -> dict[str, Any]:
    return {
        "name": name,
        "start_line": definition.start_line,
        "end_line": definition.end_line,
        "text": lines[definition.start_line - 1 : definition.end_line],
    }


def file_entry(path: str, text: str | None) -> dict[str, Any]:
    """The structure entry of one file: outline and lines for a readable ``.py`` file, else ``{}``."""
    if not path.endswith(".py") or text is None:
        return {}
    lines = split_lines(text)
    try:
        classes, functions = module_outline(parse_python(text, filename=path))
    except PythonSyntaxError as exc:
        log.warning("%s; listing it without classes or functions", exc)
        classes, functions = [], []
    class_entries = []
    for outline in classes:
        entry = _span_entry(outline.definition, lines, outline.definition.name)
        entry["methods"] = [_span_entry(m, lines, m.name.rsplit(".", 1)[-1]) for m in outline.methods]
        class_entries.append(entry)
    return {
        "classes": class_entries,
        "functions": [_span_entry(f, lines, f.name) for f in functions],
        "text": lines,
    }


def _insert(structure: dict[str, Any], path: str, entry: dict[str, Any]) -> None:
    *folders, name = path.split("/")
    node = structure
    for folder in folders:
        child = node.setdefault(folder, {})
        if _is_python_entry(child):  # a folder named like a file: cannot happen in git, guard anyway
            raise InputError(f"{path}: a file and a folder share a name")
        node = child
    node[name] = entry


def build_structure(
    snapshot: RepoSnapshot,
    *,
    repo: str | None = None,
    instance_id: str | None = None,
    root_folder: str | None = None,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """The Agentless structure JSON document of ``snapshot``.

    Python files are read in bulk (one ``cat-file`` process for git). ``root_folder`` nests files of
    the repository root under that name, as Agentless does with the repository's folder name.
    """
    progress = progress or NullProgress()
    files = [p for p in snapshot.list_files() if not is_hidden_git_path(p)]
    texts = dict(snapshot.iter_texts([p for p in files if p.endswith(".py")]))
    structure: dict[str, Any] = {}
    progress.start("structure", total=len(files))
    for path in files:
        target = f"{root_folder}/{path}" if root_folder and "/" not in path else path
        _insert(structure, target, file_entry(path, texts.get(path)))
        progress.advance()
    progress.finish()
    return {"repo": repo, "base_commit": snapshot.commit, "structure": structure, "instance_id": instance_id}
