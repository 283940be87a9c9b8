"""Merging per-repository EditBench files (seed ``merge_utils``): results per model, and infbench files.

``merge-results`` reads ``experiment_results/{model}/T=*/n=*/{owner-repo}-task-instances_{run_id}.jsonl``
and writes ``all-task-instances_{run_id}.jsonl`` beside them: the first record per instance wins (files in
name order), repositories sorted, newest ``created_at`` first within a repository. A given temperature
is matched as run writes it (``T=0``, not ``T=0.0``). ``merge-infbench`` merges
``crawled_data/infbench/{owner-repo}-task-instances_{condition}.jsonl`` into ``all-task-instances_{condition}.jsonl``.

An existing merged file that differs from the new merge is never replaced silently (:class:`ExistingMerged`):
by default the merge is refused, ``OVERWRITE`` replaces it, ``MERGE`` keeps its records of instances the
sources do not have. :attr:`MergeOutput.action` says which happened.
"""

from __future__ import annotations

import enum
import hashlib
import re
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from patchline.core.errors import ArtifactNotFoundError, InputError, PreconditionError
from patchline.core.jsonl import LineReport, dumps_line, iter_jsonl
from patchline.core.layout import editbench_dataset_name, editbench_result_dir, format_temperature
from patchline.core.safepath import safe_component, safe_relpath
from patchline.core.store import ArtifactStore

__all__ = ["ExistingMerged", "MergeOutput", "merge_infbench", "merge_results", "repo_of_instance"]

_MARK = "-task-instances_"
_ALL = "all-task-instances"
_INSTANCE_REPO = re.compile(r"^([^_]+)__([^_]+)-pull")
INFBENCH_DIR = "crawled_data/infbench"


class ExistingMerged(enum.Enum):
    """What to do with a merged file that is already there and differs from the new merge."""

    REFUSE = "refuse"  # the default: stop and say so
    OVERWRITE = "overwrite"  # replace it with the new merge
    MERGE = "merge"  # keep its records of instances the sources lack, after the sources' records


@dataclass
class MergeOutput:
    """One merged file; ``action`` is ``written`` (new), ``replaced``, ``merged`` or ``unchanged``."""

    name: str
    records: int
    repos: int
    sources: list[str] = field(default_factory=list)
    bad_lines: int = 0
    action: str = "written"
    previous_records: int = 0


def repo_of_instance(instance_id: str) -> str:
    """``owner/repo`` of an ``owner__repo-pull-N`` id (``unknown`` otherwise), as the original groups them."""
    match = _INSTANCE_REPO.match(instance_id)
    return f"{match.group(1)}/{match.group(2)}" if match else "unknown"


def _wanted(name: str, repos: Sequence[str] | None) -> bool:
    return repos is None or any(editbench_dataset_name(repo) in name for repo in repos)


def _run_id(name: str) -> str | None:
    base = name.rsplit("/", 1)[-1]
    if base.startswith(_ALL) or _MARK not in base or not base.endswith(".jsonl"):
        return None
    return base.removesuffix(".jsonl").split(_MARK, 1)[1]


def _inputs(store: ArtifactStore, out_name: str, files: list[str], existing: ExistingMerged) -> list[str]:
    """The files to read, in order: the sources by name, then the merged file itself when merging into it."""
    ordered = sorted(files)
    return [*ordered, out_name] if existing is ExistingMerged.MERGE and store.exists(out_name) else ordered


def _write_checked(
    store: ArtifactStore, out_name: str, lines: Iterable[bytes], existing: ExistingMerged
) -> tuple[str, int, int]:
    """Write ``lines`` as ``out_name`` unless it exists, differs and ``existing`` is REFUSE.

    Returns (action, records there before, records written); a refused merge leaves the file as it was.
    """
    before = hashlib.sha256()
    previous = 0
    for line in store.iter_lines(out_name, missing_ok=True):
        if line.strip():
            before.update(line.rstrip(b"\n") + b"\n")
            previous += 1
    had = store.exists(out_name)
    after = hashlib.sha256()
    count = 0
    with store.atomic_writer(out_name) as out:
        for line in lines:
            after.update(line)
            out.write(line)
            count += 1
        if had and after.digest() != before.digest() and existing is ExistingMerged.REFUSE:
            raise PreconditionError(
                f"{store.uri(out_name)} exists and differs from this merge ({previous} records there, {count} in "
                "the merge): pass --overwrite to replace it, or --merge-existing to keep its other records too"
            )
    if not had:
        action = "written"
    elif after.digest() == before.digest():
        action = "unchanged"
    else:
        action = "merged" if existing is ExistingMerged.MERGE else "replaced"
    return action, previous, count


def _write_grouped(
    store: ArtifactStore, out_name: str, files: list[str], repos: Sequence[str] | None, existing: ExistingMerged
) -> MergeOutput:
    by_repo: dict[str, list[dict[str, Any]]] = defaultdict(list)
    seen: set[str] = set()
    report = LineReport()
    for name in _inputs(store, out_name, files, existing):
        for numbered in iter_jsonl(store.iter_lines(name), source=store.uri(name), on_error=report):
            record = numbered.record
            instance_id = record.get("instance_id")
            if isinstance(instance_id, str):
                if instance_id in seen:
                    continue
                seen.add(instance_id)
            repo = repo_of_instance(instance_id) if isinstance(instance_id, str) else "unknown"
            if repos is None or repo in repos:
                by_repo[repo].append(record)
    for group in by_repo.values():
        group.sort(key=lambda r: str(r.get("created_at") or ""), reverse=True)
    lines = (dumps_line(record) for repo in sorted(by_repo) for record in by_repo[repo])
    action, previous, count = _write_checked(store, out_name, lines, existing)
    return MergeOutput(out_name, count, len(by_repo), sorted(files), len(report), action, previous)


def _result_dirs(store: ArtifactStore, model: str, temperature: float | None, n: int | None) -> list[str]:
    base = f"experiment_results/{safe_relpath(model, what='model name')}"
    folders = {name.rsplit("/", 1)[0] for name in store.list_files(base)}
    t_part = f"T={format_temperature(temperature)}" if temperature is not None else None
    wanted = []
    for folder in sorted(folders):
        rest = folder[len(base) + 1 :].split("/")
        if len(rest) != 2 or not rest[0].startswith("T=") or not rest[1].startswith("n="):
            continue
        if (t_part is None or rest[0] == t_part) and (n is None or rest[1] == f"n={int(n)}"):
            wanted.append(folder)
    return wanted


def merge_results(
    root: str,
    model: str,
    *,
    temperature: float | None = None,
    n: int | None = None,
    run_id: str | None = None,
    repos: Sequence[str] | None = None,
    existing: ExistingMerged = ExistingMerged.REFUSE,
) -> list[MergeOutput]:
    """Merge every per-repository result file of ``model`` into ``all-task-instances_{run_id}.jsonl`` per folder."""
    store = ArtifactStore(root)
    folders = _result_dirs(store, model, temperature, n)
    if not folders:
        where = editbench_result_dir(model, temperature, n) if temperature is not None and n is not None else model
        raise ArtifactNotFoundError(f"no result folders for {where} below {store.uri('experiment_results')}")
    outputs: list[MergeOutput] = []
    for folder in folders:
        groups: dict[str, list[str]] = defaultdict(list)
        for name in store.list_files(folder):
            found = _run_id(name)
            if "/" in name[len(folder) + 1 :] or found is None or not _wanted(name, repos):
                continue
            if run_id is None or found == run_id:
                groups[found].append(name)
        for found, files in sorted(groups.items()):
            out_name = f"{folder}/{_ALL}_{safe_component(found, what='run id')}.jsonl"
            outputs.append(_write_grouped(store, out_name, files, repos, existing))
    if not outputs:
        raise ArtifactNotFoundError(f"no per-repository result files of {model} to merge (run id {run_id or 'any'})")
    return outputs


def merge_infbench(
    root: str,
    condition: str,
    *,
    repos: Sequence[str] | None = None,
    existing: ExistingMerged = ExistingMerged.REFUSE,
) -> MergeOutput:
    """Merge ``{owner-repo}-task-instances_{condition}.jsonl`` files into ``all-task-instances_{condition}.jsonl``."""
    store = ArtifactStore(root)
    if not condition:
        raise InputError("a condition (run id) is needed, e.g. 0.2")
    files = [
        name
        for name in store.list_files(INFBENCH_DIR)
        if "/" not in name[len(INFBENCH_DIR) + 1 :] and _run_id(name) == condition and _wanted(name, repos)
    ]
    if not files:
        raise ArtifactNotFoundError(f"no infbench files of condition {condition!r} in {store.uri(INFBENCH_DIR)}")
    out_name = f"{INFBENCH_DIR}/{_ALL}_{safe_component(condition, what='condition')}.jsonl"
    return _write_grouped_plain(store, out_name, files, existing)


def _write_grouped_plain(
    store: ArtifactStore, out_name: str, files: list[str], existing: ExistingMerged
) -> MergeOutput:
    """Concatenate in file-name order, first record per instance id wins (the original's infbench merge)."""
    report = LineReport()
    repos: set[str] = set()

    def lines() -> Iterator[bytes]:
        seen: set[str] = set()
        for name in _inputs(store, out_name, files, existing):
            for numbered in iter_jsonl(store.iter_lines(name), source=store.uri(name), on_error=report):
                instance_id = numbered.record.get("instance_id")
                if isinstance(instance_id, str):
                    if instance_id in seen:
                        continue
                    seen.add(instance_id)
                    repos.add(repo_of_instance(instance_id))
                yield dumps_line(numbered.record)

    action, previous, count = _write_checked(store, out_name, lines(), existing)
    return MergeOutput(out_name, count, len(repos), sorted(files), len(report), action, previous)
