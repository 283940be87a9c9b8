"""The public surface of patchline.retrieval is pinned."""

from __future__ import annotations

import pytest

import patchline.retrieval as retrieval

pytestmark = pytest.mark.unit


def test_retrieval_surface() -> None:
    assert sorted(retrieval.__all__) == sorted(
        ["CACHE_PREFIX", "TOKENIZER_VERSION", "BM25Index", "BM25Params", "CachedIndex", "IndexCache",
         "IndexLimits", "IndexSettings", "ScoredDocs", "SearchHit", "TextSource", "cache_key", "count_tokens",
         "index_snapshot", "search_index", "search_snapshot", "tokenize"]
    )  # fmt: skip
    assert all(hasattr(retrieval, name) for name in retrieval.__all__)
