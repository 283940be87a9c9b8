"""Where an instance's files come from: structure JSON (``PROJECT_FILE_LOC``) or a git repository at ``base_commit``."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from patchline.core.errors import ArtifactNotFoundError, InputError
from patchline.core.repos import GitSnapshot, RepoSnapshot, load_structure_file, structure_path
from patchline.core.safepath import safe_component
from patchline.core.spec import AgentlessStage

__all__ = ["RepoSource", "checkout_name"]


def checkout_name(repo: str) -> str:
    """The folder name of a checkout of ``owner/name`` in a folder of checkouts: ``owner__name``."""
    return safe_component(repo.replace("/", "__"), what="repository name")


def _is_git_repository(path: Path) -> bool:
    return (path / ".git").exists() or ((path / "HEAD").is_file() and (path / "objects").is_dir())


@dataclass(frozen=True)
class RepoSource:
    """Opens the snapshot of one instance: ``repo`` (git) wins over ``project_file_loc`` (structure JSON)."""

    project_file_loc: str | None = None
    repo: str | None = None

    @classmethod
    def of(cls, settings: AgentlessStage) -> RepoSource:
        """The source a stage's ``repositories`` section names."""
        return cls(project_file_loc=settings.repositories.structure_dir, repo=settings.repositories.repo_root)

    def check(self) -> None:
        """Refuse the whole run early when the source cannot exist (per-instance gaps are reported later)."""
        if self.repo is not None and not Path(self.repo).is_dir():
            raise InputError(f"--repo {self.repo}: no such folder")
        if self.repo is None and self.project_file_loc is None:
            raise InputError("no repository source: set PROJECT_FILE_LOC or pass --repo")
        local = self.project_file_loc is not None and "://" not in self.project_file_loc
        if self.repo is None and local and not Path(str(self.project_file_loc)).is_dir():
            raise InputError(f"PROJECT_FILE_LOC {self.project_file_loc}: no such folder")

    def open(self, instance_id: str, repo_name: str, base_commit: str) -> RepoSnapshot:
        """The files of ``instance_id``; raises ArtifactNotFoundError/InputError if they cannot be found."""
        if self.repo is not None:
            root = Path(self.repo)
            if not root.is_dir():
                raise InputError(f"--repo {self.repo}: no such folder")
            if not _is_git_repository(root):
                root = root / checkout_name(repo_name)
                if not _is_git_repository(root):
                    raise ArtifactNotFoundError(f"{instance_id}: no checkout of {repo_name} at {root}")
            if not base_commit:
                raise InputError(f"{instance_id}: the dataset gives no base_commit")
            return GitSnapshot(root, base_commit)
        if self.project_file_loc is None:
            raise InputError("no repository source: set PROJECT_FILE_LOC or pass --repo")
        path = structure_path(self.project_file_loc, instance_id)
        return load_structure_file(path)
