"""Shared helpers of the EditBench tests: the real histories of ../shared/data/editbench_realistic."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.fixtures.gitrepos import run_git

SNAPSHOTS = "editbench_realistic/sample_with_file_snapshots.jsonl"
HISTORIES = "editbench_realistic/work_patch_list_reconstructed.jsonl"


def load_records(shared_data: Path, name: str) -> list[dict[str, Any]]:
    """Every record of a shared JSONL file."""
    with (shared_data / name).open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def originals(record: dict[str, Any]) -> dict[str, str | None]:
    """Path -> original content of a snapshot record."""
    return {s["path"]: s["original"] for s in record["file_snapshots"]}


def finals(record: dict[str, Any]) -> dict[str, str | None]:
    """Path -> final content of a snapshot record."""
    return {s["path"]: s["final"] for s in record["file_snapshots"]}


def same_text(a: str | None, b: str | None) -> bool:
    """Equal, but for a missing final newline (rendered diffs always end the file with one)."""
    return (a or "").rstrip("\n") == (b or "").rstrip("\n") and (a is None) == (b is None)


def _git(repo: Path, *args: str) -> str:
    return run_git(repo, *args).stdout.strip()


def make_repository(dest: Path, record: dict[str, Any], extra_files: dict[str, str]) -> str:
    """A git repository whose first commit holds the record's original files plus ``extra_files``; its id."""
    dest.mkdir(parents=True, exist_ok=True)
    _git(dest, "init", "-q", "-b", "main")
    files = {p: t for p, t in originals(record).items() if t is not None}
    for path, text in {**extra_files, **files}.items():
        target = dest / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
    return commit_all(dest)


def commit_all(repo: Path) -> str:
    """Commit everything in the work tree; the new commit id."""
    _git(repo, "add", "-A")
    _git(repo, "commit", "-q", "--allow-empty", "-m", "original files")
    return _git(repo, "rev-parse", "HEAD")
