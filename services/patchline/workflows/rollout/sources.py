"""Where a stage finds the files of an instance: structure JSON files, or git repositories at base_commit.

``--repostructure_dir D`` reads ``D/{instance_id}.json`` (local folder or storage URI). ``--repo R``
reads the repository at the instance's ``base_commit``: ``R`` is either one git repository used for
every instance, or a folder holding one repository per dataset repo, named ``owner__name``, ``name``
or ``owner/name``.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from patchline.core.errors import ArtifactNotFoundError, InputError
from patchline.core.repos import GitSnapshot, structure_path
from patchline.core.safepath import safe_relpath
from patchline.core.store import open_artifact
from patchline.core.structure import top_folder_name
from patchline.workflows.rollout.repofiles import LazyStructure, RepoFiles, SnapshotFiles

__all__ = ["FileSource", "StructureNotFoundError"]


class StructureNotFoundError(ArtifactNotFoundError):
    """The files of an instance are not available (no structure JSON, no repository, unknown commit)."""


@dataclass(frozen=True)
class FileSource:
    """Opens the files of one instance; picklable, so it travels to worker processes."""

    structure_dir: str | None = None
    repo: str | None = None

    @contextlib.contextmanager
    def open(self, instance_id: str, repo: str, base_commit: str) -> Iterator[RepoFiles]:
        """The files of an instance; raises :class:`StructureNotFoundError` when there are none."""
        if self.repo is not None:
            snapshot = self._git_snapshot(repo, base_commit)
            try:
                yield SnapshotFiles(snapshot, root_folder=top_folder_name(repo, fallback=instance_id))
            finally:
                snapshot.close()
            return
        if self.structure_dir is None:
            raise InputError("no source of repository files was configured")
        yield self._structure(instance_id)

    def _structure(self, instance_id: str) -> LazyStructure:
        location = structure_path(self.structure_dir or "", instance_id)
        store, name = open_artifact(location)
        try:
            data = store.read_bytes(name)
        except (ArtifactNotFoundError, FileNotFoundError) as exc:
            raise StructureNotFoundError(f"no structure JSON for {instance_id} ({store.uri(name)})") from exc
        return LazyStructure(data, source=store.uri(name))

    def _git_snapshot(self, repo: str, base_commit: str) -> GitSnapshot:
        root = Path(self.repo or "")
        for candidate in self._candidates(root, repo):
            if (candidate / ".git").exists() or (candidate / "HEAD").is_file():
                try:
                    return GitSnapshot(candidate, base_commit)
                except InputError as exc:
                    raise StructureNotFoundError(f"{candidate}: {exc}") from exc
        raise StructureNotFoundError(f"no git repository for {repo} under {root}")

    @staticmethod
    def _candidates(root: Path, repo: str) -> list[Path]:
        found = [root]
        if repo:
            relative = safe_relpath(repo, what="dataset repo")
            _, _, name = relative.rpartition("/")
            found += [root / relative.replace("/", "__"), root / name, root / relative]
        return found
