"""Where an EditBench instance's files come from, and its code context (oracle files or BM25 retrieval).

Original file contents come from the bench line's ``file_snapshots`` when it has them, else from the
repository checkout at ``base_commit`` below the repository root (``<root>/<owner>__<name>``,
``<root>/<owner>/<name>`` or ``<root>/<name>``).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from patchline.core.datasets import BenchLine
from patchline.core.errors import InputError
from patchline.core.repos import GitSnapshot, RepoSnapshot, Retriever
from patchline.core.safepath import safe_component
from patchline.retrieval import BM25Index, IndexCache, IndexSettings, index_snapshot, search_index
from patchline.workflows.editbench.split import HistorySplit

__all__ = [
    "BM25Retriever",
    "OriginalFiles",
    "Retriever",
    "bm25_context",
    "find_checkout",
    "open_repository",
    "oracle_context",
]


def find_checkout(repo_root: str | None, repo: str) -> Path | None:
    """The checkout of ``owner/name`` below ``repo_root``, if there is one (a name that leaves it is an error)."""
    if not repo_root or "/" not in repo:
        return None
    owner, _, name = repo.partition("/")
    owner, name = safe_component(owner, what="repository owner"), safe_component(name, what="repository name")
    for candidate in (Path(repo_root) / f"{owner}__{name}", Path(repo_root) / owner / name, Path(repo_root) / name):
        if candidate.is_dir():
            return candidate
    return None


def _snapshot_originals(line: BenchLine) -> dict[str, str | None]:
    raw: Any = (line.model_extra or {}).get("file_snapshots") or []
    found: dict[str, str | None] = {}
    for entry in raw if isinstance(raw, list) else []:
        if isinstance(entry, dict) and isinstance(entry.get("path"), str):
            original = entry.get("original")
            found[entry["path"]] = original if isinstance(original, str) else None
    return found


class OriginalFiles:
    """The content of a path before any step: from the line's snapshots, else from the repository."""

    def __init__(self, line: BenchLine, repo: RepoSnapshot | None) -> None:
        self._snapshots = _snapshot_originals(line)
        self.repo = repo
        if not self._snapshots and repo is None:
            raise InputError(
                f"{line.instance_id}: no file_snapshots and no checkout of {line.repo} at a base_commit "
                "below --repo-root"
            )

    def __call__(self, path: str) -> str | None:
        """The original text of ``path`` (None: it does not exist before the history)."""
        if path in self._snapshots:
            return self._snapshots[path]
        return self.repo.read_text(path) if self.repo is not None else None


def open_repository(line: BenchLine, repo_root: str | None) -> GitSnapshot | None:
    """The repository snapshot at the line's base commit, when both a checkout and a commit exist."""
    checkout = find_checkout(repo_root, line.repo)
    if checkout is None or not line.base_commit:
        return None
    return GitSnapshot(checkout, line.base_commit)


def oracle_context(split: HistorySplit, files_work: Sequence[str]) -> dict[str, str]:
    """Every work file as it is after the pre-edits (files that do not exist then are left out)."""
    files: dict[str, str] = {}
    for path in files_work:
        text = split.after_pre_edits.get(path)
        if text is not None:
            files[path] = text
    return files


class BM25Retriever:
    """BM25 search over repositories, holding the most recently used index in memory."""

    def __init__(self, *, cache: IndexCache | None, settings: IndexSettings | None = None) -> None:
        self._cache = cache
        self._settings = settings or IndexSettings(extensions=(".py",))
        self._last: tuple[str, BM25Index] | None = None

    def index(self, repo: RepoSnapshot) -> BM25Index:
        """The index of ``repo`` (memory, then cache, then built)."""
        if self._last is not None and self._last[0] == repo.key:
            return self._last[1]
        found = index_snapshot(repo, settings=self._settings, cache=self._cache).index
        self._last = (repo.key, found)
        return found

    def top_files(self, repo: GitSnapshot, query: str, *, topn: int, exclude: Sequence[str]) -> list[str]:
        """The ``topn`` best ``.py`` files for ``query``, ``exclude`` left out of the corpus."""
        return [hit.path for hit in search_index(self.index(repo), query, topn=topn, exclude=set(exclude))]


def bm25_context(
    split: HistorySplit,
    *,
    repo: GitSnapshot | None,
    retriever: Retriever,
    topn: int,
    fallback_query: str,
) -> dict[str, str]:
    """The pre-edit files after the pre-edits, then the ``topn`` files retrieved against the joined pre-edits.

    Without pre-edits the query is ``fallback_query`` (the requirement). No repository or an empty
    query is an error: the instance is not silently given the oracle context instead.
    """
    if repo is None:
        raise InputError("BM25 context needs the repository checkout at base_commit (see --repo-root)")
    query = "\n".join(split.pre_edits) if split.pre_edits else fallback_query
    if not query.strip():
        raise InputError("BM25 context needs a query: the instance has no history and no requirement")
    files: dict[str, str] = {}
    for path in split.pre_edit_files:
        text = split.after_pre_edits.get(path)
        if text is not None:
            files[path] = text
    for path in retriever.top_files(repo, query, topn=topn, exclude=split.pre_edit_files):
        text = repo.read_text(path)
        if text is not None:
            files.setdefault(path, text)
    return files
