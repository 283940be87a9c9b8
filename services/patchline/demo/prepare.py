"""The local data of the demo and of every example manifest: built from the packaged instances and PyPI.

``python -m patchline.demo prepare`` writes below ``results/demo`` (relative to the clone's root, where
``patchline run`` is run), each file only when it is missing or differs, so a rerun does nothing:

==============================  ===========================================================================
``instances.jsonl``             the demo's three SWE-bench Lite instances (packaged with patchline)
``structures/{id}.json``        Agentless structure JSON of each instance's released code base
``oracle_loc.jsonl``            a loc file from the gold patches: the files each touches, a line per hunk
``inference-requests.jsonl``    OpenAI batch lines, one SWE-bench-style repair prompt per instance
``editbench/bench.jsonl``       an EditBench bench file: one history per instance, a step per gold hunk
``editbench/repos/``            a git repository per ``owner__name``, a commit per release (``base_commit``)
==============================  ===========================================================================

The released code bases come from PyPI (``.cache/releases``, see :mod:`patchline.demo.releases`).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Iterable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from unidiff.patch import PatchedFile, PatchSet

from patchline.core.datasets import SWEbenchInstance, iter_swebench
from patchline.core.progress import NullProgress, Progress
from patchline.core.repos import DirSnapshot, build_structure
from patchline.core.store import ArtifactStore
from patchline.demo.releases import GIT, Release, fetch_release
from patchline.edits import apply_unified_diff, render_file_diff

__all__ = [
    "DEMO_DATA",
    "DEMO_RELEASES",
    "RELEASE_CACHE",
    "DemoData",
    "PreparedData",
    "editbench_history",
    "missing_example_data",
    "oracle_locations",
    "prepare_data",
]

# Where the data goes and where downloads are kept, relative to the clone's root (the examples name them so).
DEMO_DATA = "results/demo"
RELEASE_CACHE = ".cache/releases"

# instance id -> (package, version) whose source distribution the gold patch applies to.
DEMO_RELEASES = {
    "psf__requests-2674": ("requests", "2.7.0"),
    "psf__requests-3362": ("requests", "2.10.0"),
    "pallets__flask-4045": ("flask", "2.0.0"),
}

# Fixed identity and dates: the EditBench repositories get the same commit ids on every machine and rerun.
_GIT_ENV = {
    "GIT_AUTHOR_NAME": "patchline",
    "GIT_AUTHOR_EMAIL": "patchline@localhost",
    "GIT_COMMITTER_NAME": "patchline",
    "GIT_COMMITTER_EMAIL": "patchline@localhost",
    "GIT_AUTHOR_DATE": "2024-01-01T00:00:00+0000",
    "GIT_COMMITTER_DATE": "2024-01-01T00:00:00+0000",
    "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_CONFIG_GLOBAL": os.devnull,
}


def missing_example_data(paths: Iterable[str]) -> str | None:
    """The first of ``paths`` (local, relative to the working folder) that lies in the examples' data folder
    and does not exist yet: what ``python -m patchline.demo prepare`` would write."""
    data = Path(DEMO_DATA).resolve()
    for path in paths:
        if "://" in path:
            continue
        resolved = Path(path).resolve()
        if resolved.is_relative_to(data) and not resolved.exists():
            return path
    return None


@dataclass(frozen=True)
class DemoData:
    """The paths of the prepared data below ``root`` (``DemoData(Path(DEMO_DATA))`` as the examples name them)."""

    root: Path

    @property
    def instances(self) -> Path:
        """The SWE-bench instances file."""
        return self.root / "instances.jsonl"

    @property
    def structures(self) -> Path:
        """The folder of Agentless structure files."""
        return self.root / "structures"

    @property
    def oracle_loc(self) -> Path:
        """The loc file of Agentless repair."""
        return self.root / "oracle_loc.jsonl"

    @property
    def inference_requests(self) -> Path:
        """The request file of the InferenceRun example."""
        return self.root / "inference-requests.jsonl"

    @property
    def editbench_bench(self) -> Path:
        """The EditBench bench file."""
        return self.root / "editbench" / "bench.jsonl"

    @property
    def editbench_repos(self) -> Path:
        """The EditBench repository root (``owner__name`` checkouts)."""
        return self.root / "editbench" / "repos"


@dataclass(frozen=True)
class PreparedData:
    """The prepared paths, and the release each instance was written against."""

    paths: DemoData
    releases: dict[str, Release]


def _write_if_changed(path: Path, text: str) -> None:
    """Write ``text`` atomically unless ``path`` already holds it (a rerun leaves files untouched)."""
    if path.is_file() and path.read_text(encoding="utf-8") == text:
        return
    ArtifactStore(str(path.parent)).write_text(path.name, text)


def _lines(records: Iterable[dict[str, Any]]) -> str:
    return "".join(json.dumps(record) + "\n" for record in records)


def _modified_files(patch: str) -> list[PatchedFile]:
    return [f for f in PatchSet(patch) if not f.is_added_file]


def oracle_locations(dataset: Path, target: Path) -> None:
    """A loc file from the gold patches: the files each touches, ``line: N`` at each hunk's first change."""
    records = []
    for instance in iter_swebench(str(dataset)):
        files = _modified_files(instance.patch)
        records.append(
            {
                "instance_id": instance.instance_id,
                "found_files": [f.path for f in files],
                "found_edit_locs": {f.path: ["\n".join(f"line: {h.source_start + 3}" for h in f)] for f in files},
            }
        )
    _write_if_changed(target, _lines(records))


def _repair_prompt(instance: SWEbenchInstance, release: Release) -> str:
    """SWE-bench's own inference prompt (its "oracle" retrieval): the issue, the files to edit, a <patch> answer."""
    blocks = []
    for patched in _modified_files(instance.patch):
        text = release.read(patched.path) or ""
        numbered = "".join(f"{n} {line}" for n, line in enumerate(text.splitlines(keepends=True), start=1))
        blocks.append(f"[start of {patched.path}]\n{numbered}[end of {patched.path}]\n")
    return (
        "You will be provided with a partial code base and an issue statement explaining a problem to resolve.\n"
        f"<issue>\n{instance.problem_statement}\n</issue>\n<code>\n{''.join(blocks)}</code>\n"
        "Solve the issue by generating a single patch file in unified diff format that can be applied directly "
        "to this repository using git apply. Respond with the patch inside <patch></patch> tags."
    )


def inference_requests(instances: Iterable[SWEbenchInstance], releases: dict[str, Release], target: Path) -> None:
    """One OpenAI batch line per instance (``custom_id`` = instance id): the InferenceRun example's input."""
    lines = []
    for instance in instances:
        messages = [{"role": "user", "content": _repair_prompt(instance, releases[instance.instance_id])}]
        body = {"model": "any", "messages": messages, "max_tokens": 4096}
        lines.append({"custom_id": instance.instance_id, "method": "POST", "url": "/v1/chat/completions", "body": body})
    _write_if_changed(target, _lines(lines))


def editbench_history(instance: SWEbenchInstance, release: Release) -> list[list[str]]:
    """The gold patch as an EditBench history: one step per hunk, each the git diff from the previous state."""
    steps: list[list[str]] = []
    for patched in _modified_files(instance.patch):
        header = f"--- a/{patched.path}\n+++ b/{patched.path}\n"
        original = release.read(patched.path) or ""
        before = original
        for count in range(1, len(patched) + 1):
            # The first ``count`` hunks, at their positions in the original file, give the state after them.
            partial = header + "".join(str(hunk) for hunk in patched[:count])
            after = apply_unified_diff({patched.path: original}, partial)[patched.path]
            steps.append([render_file_diff(patched.path, before, after)])
            before = after or ""
    return steps


def _git(repo: Path, *args: str) -> str:
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("GIT_")}, **_GIT_ENV}
    done = subprocess.run([*GIT, "-C", str(repo), *args], env=env, capture_output=True, text=True, check=True)
    return done.stdout.strip()


def _history_repository(repo: Path, trees: list[Path]) -> list[str]:
    """A git repository at ``repo`` with one commit per tree, in order; the commit ids."""
    repo.mkdir(parents=True)
    _git(repo, "init", "-q", "-b", "main")
    commits = []
    for tree in trees:
        for child in repo.iterdir():
            if child.is_dir() and child.name != ".git":
                shutil.rmtree(child)
            elif child.is_file():
                child.unlink()
        shutil.copytree(tree, repo, dirs_exist_ok=True, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        _git(repo, "add", "-A")
        _git(repo, "commit", "-q", "--allow-empty", "-m", f"release {tree.name}")
        commits.append(_git(repo, "rev-parse", "HEAD"))
    return commits


def _bench_is_complete(paths: DemoData, instance_ids: set[str]) -> bool:
    """True when the bench file names every instance and each base_commit is in its repository."""
    if not paths.editbench_bench.is_file():
        return False
    lines = [json.loads(line) for line in paths.editbench_bench.read_text(encoding="utf-8").splitlines() if line]
    if {line["instance_id"] for line in lines} != instance_ids:
        return False
    for line in lines:
        repo = paths.editbench_repos / line["repo"].replace("/", "__")
        if not (repo / ".git").is_dir():
            return False
        try:
            _git(repo, "cat-file", "-e", f"{line['base_commit']}^{{commit}}")
        except subprocess.CalledProcessError:
            return False
    return True


def editbench_bench(instances: list[SWEbenchInstance], releases: dict[str, Release], paths: DemoData) -> None:
    """The EditBench bench file and its repositories: each instance's release is the commit it starts from."""
    if _bench_is_complete(paths, {i.instance_id for i in instances}):
        return
    shutil.rmtree(paths.editbench_repos, ignore_errors=True)  # rebuilt whole: commit ids depend on the order
    by_repo: dict[str, list[SWEbenchInstance]] = {}
    for instance in instances:
        by_repo.setdefault(instance.repo, []).append(instance)
    commits: dict[str, str] = {}
    for repo, members in sorted(by_repo.items()):
        members.sort(key=lambda i: i.created_at)  # older releases first, as a repository's history goes
        trees = [releases[i.instance_id].root for i in members]
        ids = _history_repository(paths.editbench_repos / repo.replace("/", "__"), trees)
        commits.update({i.instance_id: commit for i, commit in zip(members, ids, strict=True)})
    lines = []
    for instance in instances:
        history = editbench_history(instance, releases[instance.instance_id])
        title, _, body = instance.problem_statement.strip().partition("\n")
        lines.append(
            {
                "instance_id": instance.instance_id,
                "repo": instance.repo,
                "base_commit": commits[instance.instance_id],
                "created_at": instance.created_at,
                "title_mes": title.strip(),
                "body_mes": "",
                "issues_mes": body.strip(),
                "files_work": [f.path for f in _modified_files(instance.patch)],
                "num_steps": len(history),
                "work_patch_list": history,
                "whole_diff": instance.patch,
            }
        )
    _write_if_changed(paths.editbench_bench, _lines(lines))


def _structure(paths: DemoData, instance_id: str, release: Release) -> None:
    target = paths.structures / f"{instance_id}.json"
    if not target.exists():
        document = build_structure(DirSnapshot(release.root), instance_id=instance_id, repo=release.package)
        ArtifactStore(str(paths.structures)).write_text(target.name, json.dumps(document))


def prepare_data(root: Path, *, cache: Path, progress: Progress | None = None) -> PreparedData:
    """Write (or complete) everything the demo and the examples read below ``root``; downloads go to ``cache``."""
    progress = progress or NullProgress()
    paths = DemoData(root)
    _write_if_changed(paths.instances, resources.files("patchline.demo").joinpath("instances.jsonl").read_text("utf-8"))
    instances = list(iter_swebench(str(paths.instances)))
    releases: dict[str, Release] = {}
    progress.start("fetching released code bases from PyPI", total=len(DEMO_RELEASES))
    for instance_id, (package, version) in DEMO_RELEASES.items():
        release = fetch_release(package, version, cache)
        if release is None:
            raise RuntimeError(f"PyPI has no {package}=={version} to download")
        releases[instance_id] = release
        _structure(paths, instance_id, release)
        progress.advance(1)
    progress.finish()
    oracle_locations(paths.instances, paths.oracle_loc)
    inference_requests(instances, releases, paths.inference_requests)
    editbench_bench(instances, releases, paths)
    return PreparedData(paths, releases)
