"""Search over a git snapshot of a real code base: extension filter, exclusions, cache reuse per commit."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from rank_bm25 import BM25Okapi

from patchline.core.errors import InputError, ResourceExhaustedError
from patchline.core.repos import DirSnapshot, GitSnapshot
from patchline.core.store import ArtifactStore
from patchline.retrieval import (
    CACHE_PREFIX,
    IndexCache,
    IndexLimits,
    IndexSettings,
    cache_key,
    index_snapshot,
    search_snapshot,
    tokenize,
)
from tests.fixtures.gitrepos import PackageRepo, package_repo  # noqa: F401 - fixture

pytestmark = pytest.mark.unit


def test_search_matches_rank_bm25_over_the_py_files(package_repo: PackageRepo) -> None:  # noqa: F811
    snapshot = GitSnapshot(package_repo.path, package_repo.second)
    query = (package_repo.path / "flask" / "helpers.py").read_text(encoding="utf-8")[:3000]
    exclude = {"flask/helpers.py"}
    hits = search_snapshot(snapshot, query, topn=5, exclude=exclude)
    docs = [(p, t) for p, t in snapshot.iter_texts() if p.endswith(".py") and p not in exclude]
    scores = BM25Okapi([tokenize(t) for _, t in docs]).get_scores(tokenize(query))
    order = sorted(range(len(docs)), key=lambda i: scores[i], reverse=True)[:5]
    assert [h.path for h in hits] == [docs[i][0] for i in order]
    np.testing.assert_allclose([h.score for h in hits], [scores[i] for i in order], rtol=1e-9)
    assert all(h.path.endswith(".py") for h in hits)
    assert "flask/helpers.py" not in {h.path for h in hits}
    snapshot.close()


def test_extension_filter_and_every_text_file(package_repo: PackageRepo) -> None:  # noqa: F811
    snapshot = GitSnapshot(package_repo.path, package_repo.first)
    only_md = search_snapshot(snapshot, "Flask web framework", topn=3, settings=IndexSettings(extensions=(".md",)))
    assert only_md and all(h.path.endswith(".md") for h in only_md) and "README.md" in {h.path for h in only_md}
    everything = index_snapshot(snapshot, settings=IndexSettings(extensions=None)).index
    assert "README.md" in everything.paths and package_repo.binary not in everything.paths
    snapshot.close()


def test_cache_is_reused_per_commit_and_settings(package_repo: PackageRepo, tmp_path: Path) -> None:  # noqa: F811
    cache = IndexCache(ArtifactStore(str(tmp_path)))
    first = GitSnapshot(package_repo.path, package_repo.first)
    built = index_snapshot(first, cache=cache)
    assert not built.hit and built.key == cache_key(first, IndexSettings())
    names = ArtifactStore(str(tmp_path)).list_files(CACHE_PREFIX)
    assert names == [f"{CACHE_PREFIX}/{built.key}.json", f"{CACHE_PREFIX}/{built.key}.npz"]
    again = index_snapshot(GitSnapshot(package_repo.path, package_repo.first), cache=cache)
    assert again.hit and again.index.paths == built.index.paths
    query = tokenize("def send_file(path_or_file, mimetype=None)")
    assert np.array_equal(again.index.score(query).scores, built.index.score(query).scores)
    second = index_snapshot(GitSnapshot(package_repo.path, package_repo.second), cache=cache)
    assert not second.hit and second.key != built.key
    assert "flask/click_utils.py" in second.index.paths and "flask/click_utils.py" not in built.index.paths
    other = index_snapshot(first, cache=cache, settings=IndexSettings(extensions=(".md",)))
    assert not other.hit and other.key not in {built.key, second.key}
    first.close()


def test_damaged_cache_entry_is_rebuilt(package_repo: PackageRepo, tmp_path: Path) -> None:  # noqa: F811
    store = ArtifactStore(str(tmp_path))
    cache = IndexCache(store)
    snapshot = GitSnapshot(package_repo.path, package_repo.first)
    key = index_snapshot(snapshot, cache=cache).key
    assert key is not None
    store.write_bytes(f"{CACHE_PREFIX}/{key}.npz", b"garbage")
    rebuilt = index_snapshot(snapshot, cache=cache)
    assert not rebuilt.hit and len(rebuilt.index) > 10
    assert index_snapshot(snapshot, cache=cache).hit
    snapshot.close()


def test_folder_snapshots_are_not_cached(package_repo: PackageRepo, tmp_path: Path) -> None:  # noqa: F811
    store = ArtifactStore(str(tmp_path / "cache"))
    folder = DirSnapshot(package_repo.path / "flask")
    found = index_snapshot(folder, cache=IndexCache(store))
    assert not found.hit and found.key is None and store.list_files() == []
    with pytest.raises(InputError):
        cache_key(folder, IndexSettings())


def test_a_tree_over_the_byte_limit_is_refused_before_any_file_is_read(tmp_path: Path) -> None:
    (tmp_path / "small.py").write_text("def small():\n    return 1\n")
    (tmp_path / "huge.py").write_bytes(b"x = 1\n" * 400_000)  # 2.4 MB in one file
    folder = DirSnapshot(tmp_path)
    read: list[str] = []
    original = folder.read_text
    folder.read_text = lambda path: read.append(path) or original(path)  # type: ignore[method-assign]
    with pytest.raises(
        ResourceExhaustedError, match=r"2400026 bytes in 2 files to index, more than the limit of 1000000"
    ):
        index_snapshot(folder, limits=IndexLimits(max_bytes=1_000_000))
    assert read == []
    assert len(index_snapshot(folder, limits=IndexLimits(max_bytes=3_000_000)).index) == 2 and len(read) == 2
