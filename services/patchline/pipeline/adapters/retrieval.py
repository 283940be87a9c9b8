"""Retrieval as operations: index and search repository snapshots, with indexes cached in an artifact store."""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from patchline.core.repos import open_snapshot
from patchline.core.spec import IndexManyStage
from patchline.core.store import ArtifactStore
from patchline.pipeline.catalog import RETRIEVAL_INDEX_MANY
from patchline.pipeline.operations import Operation, OperationContext, OperationResult
from patchline.retrieval import CachedIndex, IndexCache, IndexLimits, IndexSettings, index_snapshot, search_index

__all__ = ["OPERATIONS", "IndexResult", "index_repository", "search_repository"]


@dataclass(frozen=True)
class IndexResult:
    """The outcome of indexing one snapshot."""

    key: str
    documents: int
    cached: bool


def _settings(extensions: list[str]) -> IndexSettings:
    return IndexSettings(extensions=tuple(extensions) if extensions else (".py",))


def _indexed(
    repo: str, commit: str | None, *, extensions: list[str], cache_uri: str, limits: IndexLimits | None
) -> CachedIndex:
    snapshot = open_snapshot(repo, commit)
    with contextlib.closing(snapshot) if hasattr(snapshot, "close") else contextlib.nullcontext():
        cache = IndexCache(ArtifactStore(cache_uri))
        return index_snapshot(snapshot, settings=_settings(extensions), cache=cache, limits=limits)


def index_repository(
    repo: str, commit: str | None, *, extensions: list[str], cache_uri: str, limits: IndexLimits | None = None
) -> IndexResult:
    """Index ``repo`` at ``commit`` (or reuse the cached index), within ``limits``."""
    found = _indexed(repo, commit, extensions=extensions, cache_uri=cache_uri, limits=limits)
    return IndexResult(found.key or "", len(found.index.paths), found.hit)


def search_repository(
    repo: str,
    commit: str | None,
    *,
    query: str,
    top_n: int,
    extensions: list[str],
    cache_uri: str,
    exclude: Sequence[str] = (),
    limits: IndexLimits | None = None,
) -> list[tuple[str, float]]:
    """The ``top_n`` files of ``repo`` at ``commit`` that best match ``query`` (``exclude`` left out)."""
    found = _indexed(repo, commit, extensions=extensions, cache_uri=cache_uri, limits=limits)
    hits = search_index(found.index, query, topn=top_n, exclude=set(exclude))
    return [(hit.path, hit.score) for hit in hits]


def index_many(context: OperationContext[IndexManyStage]) -> OperationResult:
    """Index every snapshot into the run root's cache; already cached ones cost nothing."""
    settings = context.settings
    context.progress.start("indexing repositories", total=len(settings.snapshots))
    built = cached = 0
    for snapshot in settings.snapshots:
        result = index_repository(
            snapshot.repo,
            snapshot.commit,
            extensions=list(settings.extensions),
            cache_uri=context.run.root,
            limits=context.services.index_limits,
        )
        cached += int(result.cached)
        built += int(not result.cached)
        context.progress.advance(1)
    return OperationResult(counts={"built": built, "cached": cached}, message=f"{built} built, {cached} reused")


OPERATIONS: tuple[Operation[Any], ...] = (
    Operation(RETRIEVAL_INDEX_MANY, run=index_many, description="index snapshots"),
)
