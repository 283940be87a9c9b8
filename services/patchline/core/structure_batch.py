"""Write Agentless structure JSON files: one for a snapshot, or one per dataset instance, resumably.

For a dataset, each instance's repository is a checkout (work tree or mirror) named ``owner__repo``
below a repository root, read at the instance's ``base_commit``; its root files are nested under the
repository's name (``pallets/flask`` -> ``flask/setup.py``), as Agentless' structures are. Files that
already exist are kept, so an interrupted run resumes; an instance that fails (no checkout, unknown
commit) is reported in the summary and the batch goes on.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from patchline.core.datasets import SWEbenchInstance
from patchline.core.errors import PatchlineError
from patchline.core.progress import NullProgress, Progress
from patchline.core.repos_base import RepoSnapshot
from patchline.core.repos_git import GitSnapshot
from patchline.core.safepath import safe_component
from patchline.core.store import ArtifactStore, open_artifact
from patchline.core.structure import build_structure, structure_file_name, top_folder_name

__all__ = ["StructureBatchSummary", "checkout_dir", "write_instance_structures", "write_structure"]

log = logging.getLogger(__name__)


@dataclass
class StructureBatchSummary:
    """What a dataset run did: files written, files already there, and failed instances with reasons."""

    written: int = 0
    skipped: int = 0
    failed: list[tuple[str, str]] = field(default_factory=list)


def _dump(document: dict[str, object]) -> bytes:
    return json.dumps(document, ensure_ascii=False).encode("utf-8")


def write_structure(
    snapshot: RepoSnapshot,
    out: str,
    *,
    repo: str | None = None,
    instance_id: str | None = None,
    root_folder: str | None = None,
    progress: Progress | None = None,
) -> int:
    """Write the structure JSON of ``snapshot`` to ``out`` (path or URI) atomically; return its file count.

    ``root_folder`` is the folder name the repository's root files are nested under (see
    :func:`patchline.core.structure.structure_layout`).
    """
    document = build_structure(snapshot, repo=repo, instance_id=instance_id, root_folder=root_folder, progress=progress)
    store, name = open_artifact(out)
    store.write_bytes(name, _dump(document))
    return len(snapshot.list_files())


def checkout_dir(repo_root: str | Path, repo: str) -> Path:
    """The checkout of ``owner/repo`` below ``repo_root``: ``{repo_root}/owner__repo``."""
    return Path(repo_root) / safe_component(repo.replace("/", "__"), what="repository name")


def _write_one(instance: SWEbenchInstance, repo_root: str | Path, store: ArtifactStore, name: str) -> None:
    with GitSnapshot(checkout_dir(repo_root, instance.repo), instance.base_commit) as snapshot:
        top = top_folder_name(instance.repo, fallback=instance.instance_id)
        document = build_structure(snapshot, repo=instance.repo, instance_id=instance.instance_id, root_folder=top)
        store.write_bytes(name, _dump(document))


def write_instance_structures(
    instances: Iterable[SWEbenchInstance],
    *,
    repo_root: str | Path,
    project_file_loc: str,
    progress: Progress | None = None,
) -> StructureBatchSummary:
    """Write ``{project_file_loc}/{instance_id}.json`` for every instance that has none yet."""
    progress = progress or NullProgress()
    store = ArtifactStore(project_file_loc)
    summary = StructureBatchSummary()
    progress.start("structures")
    for instance in instances:
        name = structure_file_name(instance.instance_id)
        if store.exists(name):
            summary.skipped += 1
            progress.advance(skipped=1)
            continue
        try:
            _write_one(instance, repo_root, store, name)
        except PatchlineError as exc:
            log.warning("%s: no structure: %s", instance.instance_id, exc)
            summary.failed.append((instance.instance_id, str(exc)))
            progress.advance(failed=1)
            continue
        summary.written += 1
        progress.advance(written=1)
    progress.finish()
    return summary
