"""The oracle's optional view of real repositories: which files exist at an instance's base commit.

With ``--repo-root`` (checkouts named ``owner__repo`` below it, as ``patchline repos`` lays them out) the oracle
answers a TestWriter localisation prompt with test files that exist at the base commit, which is what the
TestWriter's second step can show: a gold test file the test patch creates is replaced by an existing test
file of the same folder (or its parent), into which the oracle later inserts the gold tests.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from pathlib import Path

from patchline.core.errors import InputError
from patchline.core.repos_git import GitSnapshot
from patchline.core.structure_batch import checkout_dir
from patchline.oracle.gold import GoldInstance

__all__ = ["BaseFiles"]

log = logging.getLogger(__name__)

CACHED_SNAPSHOTS = 32


class BaseFiles:
    """File lists of repositories at base commits, read from git checkouts below ``repo_root`` (thread-safe)."""

    def __init__(self, repo_root: str | Path | None, *, cache_size: int = CACHED_SNAPSHOTS) -> None:
        self.repo_root = Path(repo_root) if repo_root is not None else None
        self._cache: OrderedDict[tuple[str, str], frozenset[str] | None] = OrderedDict()
        self._cache_size = cache_size
        self._lock = threading.Lock()

    def files(self, instance: GoldInstance) -> frozenset[str] | None:
        """The files of the instance's repository at its base commit; None when that is not known here."""
        if self.repo_root is None or not instance.repo or not instance.base_commit:
            return None
        key = (instance.repo, instance.base_commit)
        with self._lock:
            if key in self._cache:
                self._cache.move_to_end(key)
                return self._cache[key]
        files = self._read(self.repo_root, instance)
        with self._lock:
            self._cache[key] = files
            while len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)
        return files

    @staticmethod
    def _read(repo_root: Path, instance: GoldInstance) -> frozenset[str] | None:
        try:
            folder = checkout_dir(repo_root, instance.repo)
            if not folder.is_dir():
                log.warning("oracle: no checkout of %s below %s", instance.repo, repo_root)
                return None
            with GitSnapshot(folder, instance.base_commit) as snapshot:
                return frozenset(snapshot.list_files())
        except InputError as exc:
            log.warning("oracle: cannot list %s at %s: %s", instance.repo, instance.base_commit, exc)
            return None
