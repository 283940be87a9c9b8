"""Run the demo: released code bases from PyPI, structure JSON, a Rollout manifest, the run, and a check.

Every step is resumable: releases are cached, structure files and finished stages are kept, so running
the demo again only redoes what is missing.
"""

from __future__ import annotations

import asyncio
import subprocess
import tempfile
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import yaml
from unidiff.patch import PatchSet

from patchline.core.datasets import iter_swebench
from patchline.core.predictions import read_predictions
from patchline.core.progress import NullProgress, Progress
from patchline.core.spec import parse_manifest
from patchline.core.store import ArtifactStore
from patchline.demo.prepare import prepare_data
from patchline.demo.releases import GIT, Release, git_commit_tree
from patchline.edits import apply_unified_diff
from patchline.pipeline.runner import RunnerSettings, run_manifest

__all__ = ["DemoResult", "InstanceCheck", "check_patch", "demo_manifest", "run_demo"]


@dataclass(frozen=True)
class InstanceCheck:
    """Whether an instance's predicted patch applies to its code base, and equals the gold patch's effect."""

    instance_id: str
    patch_lines: int
    applies: bool
    same_as_gold: bool
    detail: str


@dataclass
class DemoResult:
    """Where the demo wrote things, and the per-instance checks."""

    workdir: Path
    run_uri: str
    predictions: str
    checks: list[InstanceCheck] = field(default_factory=list)


def demo_manifest(template: str, workdir: Path, dataset: Path, structures: Path, **workflow: str) -> dict[str, object]:
    """The packaged manifest ``template`` with the demo's paths (and ``workflow`` fields) filled in."""
    text = resources.files("patchline.demo").joinpath(template).read_text(encoding="utf-8")
    manifest: dict[str, object] = yaml.safe_load(text)
    spec = manifest["spec"]
    assert isinstance(spec, dict)
    spec["dataset"]["source"] = str(dataset)
    spec["repositories"]["structureDir"] = str(structures)
    spec["workflow"].update(workflow)
    spec["output"] = str(workdir / "run")
    return manifest


def _post_edit_files(diff: str, release: Release) -> dict[str, str | None]:
    paths = [f.path for f in PatchSet(diff) if not f.is_added_file]
    return apply_unified_diff({p: release.read(p) or "" for p in paths}, diff)


def check_patch(instance_id: str, patch: str, gold_patch: str, release: Release) -> InstanceCheck:
    """Whether ``patch`` applies to the release (``git apply --check``) and gives the gold patch's files."""
    lines = patch.count("\n")
    if not patch.strip():
        return InstanceCheck(instance_id, 0, False, False, "empty patch")
    with tempfile.TemporaryDirectory() as tmp:
        repo = Path(tmp) / "repo"
        git_commit_tree(release.root, repo)
        done = subprocess.run(
            [*GIT, "-C", str(repo), "apply", "--check", "-"], input=patch, text=True, capture_output=True, check=False
        )
    if done.returncode != 0:
        return InstanceCheck(instance_id, lines, False, False, done.stderr.strip().splitlines()[0])
    same = _post_edit_files(patch, release) == _post_edit_files(gold_patch, release)
    detail = "git apply --check ok; " + (
        "files equal the gold patch's" if same else "files differ from the gold patch's"
    )
    return InstanceCheck(instance_id, lines, True, same, detail)


def run_demo(workdir: Path, *, cache: Path, progress: Progress | None = None) -> DemoResult:
    """Prepare the inputs, run the demo Rollout against the oracle, and check every predicted patch."""
    progress = progress or NullProgress()
    workdir.mkdir(parents=True, exist_ok=True)
    prepared = prepare_data(workdir, cache=cache, progress=progress)
    dataset, releases = prepared.paths.instances, prepared.releases
    manifest_path = workdir / "bugfixer-demo.yaml"
    manifest = demo_manifest("rollout.yaml", workdir, dataset, prepared.paths.structures)
    manifest_path.write_text(yaml.safe_dump(manifest, sort_keys=False))
    rollout = parse_manifest(yaml.safe_load(manifest_path.read_text()), source=str(manifest_path))
    report = asyncio.run(run_manifest(rollout, RunnerSettings(base=str(workdir)), progress=progress))
    store = ArtifactStore(report.run_uri)
    instances = {i.instance_id: i for i in iter_swebench(str(dataset))}
    result = DemoResult(workdir, report.run_uri, store.uri("predictions.jsonl"))
    for prediction in read_predictions(store, "predictions.jsonl"):
        iid = prediction.instance_id
        result.checks.append(check_patch(iid, prediction.model_patch, instances[iid].patch, releases[iid]))
    return result
