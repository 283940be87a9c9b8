"""Top-n BM25 search over the files of a repository snapshot, with the index cached when it can be."""

from __future__ import annotations

import logging
import time
from collections.abc import Collection, Iterable, Iterator
from dataclasses import dataclass
from typing import Protocol

from patchline.core.errors import DeadlineExceededError, ResourceExhaustedError
from patchline.core.progress import NullProgress, Progress
from patchline.retrieval.cache import CachedIndex, IndexCache, IndexSettings, cache_key
from patchline.retrieval.index import BM25Index, BM25Params
from patchline.retrieval.tokenize import tokenize

__all__ = ["IndexLimits", "SearchHit", "TextSource", "index_snapshot", "search_index", "search_snapshot"]

log = logging.getLogger(__name__)


class TextSource(Protocol):
    """What retrieval needs of a repository snapshot (``patchline.core.repos.RepoSnapshot`` has it)."""

    @property
    def key(self) -> str:
        """A stable name of this state of the repository."""
        ...

    @property
    def commit(self) -> str | None:
        """The commit id, or None for a plain folder (never cached)."""
        ...

    def list_files(self) -> list[str]:
        """Every file, sorted."""
        ...

    def size_of(self, path: str) -> int | None:
        """The size of one file in bytes, known before its content is read."""
        ...

    def iter_texts(self, paths: Iterable[str] | None = None) -> Iterator[tuple[str, str]]:
        """``(path, text)`` of the readable text files among ``paths``."""
        ...


@dataclass(frozen=True)
class IndexLimits:
    """Bounds of one index build, so a request naming a huge tree is refused instead of left to run.

    ``max_files`` and ``max_bytes`` (of the files to index, summed from their sizes before any is read) give
    ResourceExhaustedError, ``seconds`` gives DeadlineExceededError; a build within them is unaffected.
    """

    max_files: int = 100_000
    max_bytes: int = 1024 * 1024 * 1024
    seconds: float = 300.0


@dataclass(frozen=True)
class SearchHit:
    """One retrieved file."""

    path: str
    score: float


def _check_size(source: TextSource, paths: list[str], limits: IndexLimits) -> None:
    """Refuse a build of too many files or bytes before any file is read (one huge file included)."""
    if len(paths) > limits.max_files:
        raise ResourceExhaustedError(
            f"{source.key}: {len(paths)} files to index, more than the limit of {limits.max_files}"
        )
    size = sum(source.size_of(path) or 0 for path in paths)
    if size > limits.max_bytes:
        raise ResourceExhaustedError(
            f"{source.key}: {size} bytes in {len(paths)} files to index, more than the limit of {limits.max_bytes}"
        )


def _build(source: TextSource, settings: IndexSettings, progress: Progress, limits: IndexLimits | None) -> BM25Index:
    started = time.monotonic()
    paths = [path for path in source.list_files() if settings.accepts(path)]
    if limits is not None:
        _check_size(source, paths, limits)
    progress.start(f"indexing {source.key}", total=len(paths))

    def documents() -> Iterator[tuple[str, str]]:
        for path, text in source.iter_texts(paths):
            if limits is not None and time.monotonic() - started > limits.seconds:
                raise DeadlineExceededError(
                    f"{source.key}: indexing took longer than the limit of {limits.seconds:g} s"
                )
            progress.advance()
            yield path, text

    try:
        return BM25Index.build(documents())
    finally:
        progress.finish()


def index_snapshot(
    source: TextSource,
    *,
    settings: IndexSettings | None = None,
    cache: IndexCache | None = None,
    progress: Progress | None = None,
    limits: IndexLimits | None = None,
) -> CachedIndex:
    """The BM25 index of ``source``: from ``cache`` when there, else built (and cached if it has a commit)
    within ``limits`` (None: unbounded, for a user's own runs)."""
    settings = settings or IndexSettings()
    progress = progress or NullProgress()
    key = cache_key(source, settings) if cache is not None and source.commit is not None else None
    if cache is not None and key is not None:
        cached = cache.get(key)
        if cached is not None:
            log.debug("BM25 cache hit %s for %s@%s", key, source.key, source.commit)
            return CachedIndex(cached, True, key)
    index = _build(source, settings, progress, limits)
    if cache is not None and key is not None:
        cache.put(key, index, source=source, settings=settings)
    return CachedIndex(index, False, key)


def search_index(
    index: BM25Index,
    query_text: str,
    *,
    topn: int,
    exclude: Collection[str] = (),
    params: BM25Params | None = None,
) -> list[SearchHit]:
    """The ``topn`` best files for ``query_text``; excluded files are left out of the corpus statistics too."""
    scored = index.score(tokenize(query_text), exclude=exclude, params=params)
    return [SearchHit(path, score) for path, score in scored.ranked(topn)]


def search_snapshot(
    source: TextSource,
    query_text: str,
    *,
    topn: int,
    settings: IndexSettings | None = None,
    exclude: Collection[str] = (),
    cache: IndexCache | None = None,
    params: BM25Params | None = None,
    progress: Progress | None = None,
) -> list[SearchHit]:
    """Index ``source`` (or load its cached index) and return the ``topn`` best files for ``query_text``."""
    found = index_snapshot(source, settings=settings, cache=cache, progress=progress)
    return search_index(found.index, query_text, topn=topn, exclude=exclude, params=params)
