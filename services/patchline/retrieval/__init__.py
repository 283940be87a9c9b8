"""BM25 retrieval over repository snapshots: tokenisation, sparse Okapi BM25, cached indexes, top-n search."""

from __future__ import annotations

from patchline.retrieval.cache import CACHE_PREFIX, CachedIndex, IndexCache, IndexSettings, cache_key
from patchline.retrieval.index import BM25Index, BM25Params, ScoredDocs
from patchline.retrieval.search import IndexLimits, SearchHit, TextSource, index_snapshot, search_index, search_snapshot
from patchline.retrieval.tokenize import TOKENIZER_VERSION, count_tokens, tokenize

__all__ = [
    "CACHE_PREFIX",
    "TOKENIZER_VERSION",
    "BM25Index",
    "BM25Params",
    "CachedIndex",
    "IndexCache",
    "IndexLimits",
    "IndexSettings",
    "ScoredDocs",
    "SearchHit",
    "TextSource",
    "cache_key",
    "count_tokens",
    "index_snapshot",
    "search_index",
    "search_snapshot",
    "tokenize",
]
