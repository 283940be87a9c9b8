"""Real code bases for the Agentless tests: installed package files at their SWE-bench paths in a git repository."""

from __future__ import annotations

import importlib.util
import json
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from patchline.core.batch import ResponseLine
from patchline.core.repos import DirSnapshot, build_structure
from patchline.core.spec import AgentlessStage
from patchline.edits import search_replace_from_diff
from tests.fixtures.gitrepos import run_git
from tests.fixtures.stages import stage

__all__ = [
    "GOLD_INSTANCES",
    "Scenario",
    "build_scenario",
    "find_loc",
    "installed_path",
    "make_git_repo",
    "oracle_answer",
    "output_folder",
    "patch_paths",
    "read_lite",
    "repair_settings",
    "repo_files",
    "repo_path_to_installed",
    "success",
    "write_responses",
]

# Where a SWE-bench repository's files live in the installed distribution.
_PREFIXES: dict[str, tuple[tuple[str, str], ...]] = {
    "pytest-dev/pytest": (("src/_pytest/", "_pytest/"), ("src/pytest/", "pytest/")),
    "pallets/flask": (("src/flask/", "flask/"),),
    "psf/requests": (("requests/", "requests/"),),
    "sympy/sympy": (("sympy/", "sympy/"),),
}


def _site_packages() -> Path:
    spec = importlib.util.find_spec("_pytest")
    if spec is None or spec.origin is None:
        raise RuntimeError("pytest is not installed")
    return Path(spec.origin).parent.parent


def repo_path_to_installed(repo: str, path: str) -> Path | None:
    """The installed file that stands for ``path`` of ``repo`` (None if the package or file is not installed)."""
    for prefix, installed in _PREFIXES.get(repo, ()):
        if path.startswith(prefix):
            candidate = _site_packages() / (installed + path[len(prefix) :])
            return candidate if candidate.is_file() else None
    return None


def installed_path(repo: str, path: str) -> Path:
    """Like :func:`repo_path_to_installed`, failing the test setup when the file is missing."""
    found = repo_path_to_installed(repo, path)
    if found is None:
        raise RuntimeError(f"{path} of {repo} is not installed in this environment")
    return found


def _git(repo: Path, *args: str) -> str:
    return run_git(repo, *args).stdout.strip()


def make_git_repo(dest: Path, files: Mapping[str, bytes]) -> str:
    """A one-commit git repository holding ``files`` (path -> bytes); returns the commit id."""
    dest.mkdir(parents=True, exist_ok=True)
    _git(dest, "init", "-q", "-b", "main")
    for path, data in files.items():
        target = dest / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    _git(dest, "add", "-A")
    _git(dest, "commit", "-q", "-m", "installed files at their repository paths")
    return _git(dest, "rev-parse", "HEAD")


def repo_files(repo: str, paths: Iterable[str]) -> dict[str, bytes]:
    """The installed bytes of each path of ``repo`` that is installed."""
    found: dict[str, bytes] = {}
    for path in paths:
        installed = repo_path_to_installed(repo, path)
        if installed is not None:
            found[path] = installed.read_bytes()
    return found


def find_loc(loc_file: Path, instance_id: str) -> dict[str, Any]:
    """One record of a loc file."""
    with loc_file.open(encoding="utf-8") as handle:
        for line in handle:
            record = json.loads(line)
            if record["instance_id"] == instance_id:
                return dict(record)
    raise KeyError(instance_id)


def read_lite(path: Path, instance_ids: Iterable[str]) -> dict[str, dict[str, Any]]:
    """Selected instances of a SWE-bench JSONL file."""
    wanted = set(instance_ids)
    found: dict[str, dict[str, Any]] = {}
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            record = json.loads(line)
            if record["instance_id"] in wanted:
                found[record["instance_id"]] = record
    return found


GOLD_INSTANCES = ("sympy__sympy-18763", "sympy__sympy-19040")
"""SWE-bench Verified instances whose gold patch applies to the sympy installed here (found by trying them all)."""


def patch_paths(patch: str) -> list[str]:
    """The files a unified diff changes, in order."""
    return re.findall(r"^diff --git a/(\S+) b/", patch, flags=re.MULTILINE)


@dataclass(frozen=True)
class Scenario:
    """Inputs of a repair run built from real data: dataset rows, a loc file, structure JSONs and a git repo."""

    root: Path
    dataset: Path
    loc_file: Path
    structures: Path
    repo: Path
    commit: str
    instances: dict[str, dict[str, Any]]


def build_scenario(
    root: Path,
    verified: Path,
    *,
    instance_ids: Iterable[str] = GOLD_INSTANCES,
    found_edit_locs: Mapping[str, Any] | None = None,
    git: bool = True,
    base_commit_is_repo: bool = False,
) -> Scenario:
    """Oracle localisation (the gold patch's files) for ``instance_ids``, files from the installed sympy.

    With ``git`` the files are also committed to a repository (``base_commit_is_repo`` rewrites the
    dataset rows' ``base_commit`` to that commit, so ``--repo`` can read them).
    """
    rows = read_lite(verified, instance_ids)
    paths = sorted({p for row in rows.values() for p in patch_paths(row["patch"])})
    files = repo_files("sympy/sympy", paths)
    repo, commit = root / "repo", ""
    if git:
        commit = make_git_repo(repo, files)
    else:
        for path, data in files.items():
            (repo / path).parent.mkdir(parents=True, exist_ok=True)
            (repo / path).write_bytes(data)
    structures = root / "structures"
    structures.mkdir(parents=True, exist_ok=True)
    document = build_structure(DirSnapshot(repo))
    for iid in rows:
        (structures / f"{iid}.json").write_text(json.dumps({**document, "instance_id": iid}), encoding="utf-8")
    dataset = root / "dataset.jsonl"
    with dataset.open("w", encoding="utf-8") as out:
        for row in rows.values():
            out.write(json.dumps({**row, "base_commit": commit} if base_commit_is_repo else row) + "\n")
    loc_file = root / "loc.jsonl"
    with loc_file.open("w", encoding="utf-8") as out:
        for iid, row in rows.items():
            locs = (found_edit_locs or {}).get(iid, {})
            out.write(
                json.dumps({"instance_id": iid, "found_files": patch_paths(row["patch"]), "found_edit_locs": locs})
            )
            out.write("\n")
    return Scenario(root, dataset, loc_file, structures, repo, commit, rows)


def repair_settings(scenario: Scenario, **changes: object) -> AgentlessStage:
    """Settings of a ``--process_batch`` run over ``scenario``: 4 samples, greedy skipped, all found files.

    ``changes`` name fields as :func:`tests.fixtures.stages.stage` does (``sampling__samples=2``).
    """
    base: dict[str, object] = {
        "workflow__loc_file": str(scenario.loc_file),
        "dataset__source": str(scenario.dataset),
        "model": "m",
        "workflow__loc_interval": True,
        "workflow__top_n": 0,
        "sampling__samples": 4,
        "workflow__skip_greedy": True,
        "workflow__cot": True,
        "repositories__structure_dir": str(scenario.structures),
    }
    return stage(AgentlessStage, **{**base, **changes})


def output_folder(scenario: Scenario) -> str:
    """Where a scenario's run writes."""
    return str(scenario.root / "out")


def oracle_answer(row: Mapping[str, Any]) -> str:
    """A model answer holding the gold patch as SEARCH/REPLACE edits."""
    return "I found the bug.\n\n" + search_replace_from_diff(str(row["patch"]))


def write_responses(requests_file: Path, dest: Path, answer: Callable[[str, int], ResponseLine | None]) -> int:
    """Answer each request of a request file with ``answer(instance_id, sample)`` (None: no line)."""
    count = 0
    with requests_file.open(encoding="utf-8") as lines, dest.open("a", encoding="utf-8") as out:
        for line in lines:
            custom_id = json.loads(line)["custom_id"]
            iid, _, sample = custom_id.rpartition("|")
            response = answer(iid, int(sample))
            if response is not None:
                out.write(response.model_dump_json() + "\n")
                count += 1
    return count


def success(custom_id: str, content: str | None, reasoning: str = "") -> ResponseLine:
    """A 200 response line with one choice."""
    message: dict[str, Any] = {"role": "assistant", "content": content}
    if reasoning:
        message["reasoning_content"] = reasoning
    return ResponseLine.success(custom_id, {"choices": [{"message": message}], "usage": {"prompt_tokens": 1}})
