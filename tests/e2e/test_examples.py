"""Every manifest in ``k8s/examples/`` runs as shipped, by its documented command, and yields its outputs.

The command is ``make example NAME=...``: ``python -m patchline.demo example NAME``, run here in a temporary
clone root (the example files copied unchanged, so their relative paths resolve as in a clone). It prepares
the local data below ``results/demo`` and runs ``patchline run k8s/examples/NAME.yaml`` with the oracle
(``--oracle``) or, for the llama.cpp example, with its own engine (a real model on CPU: ``real_model``).
"""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
import sys
from collections import defaultdict
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from unidiff.patch import PatchSet

from patchline.cli.app import main
from patchline.core.errors import InputError
from patchline.core.repos import GitSnapshot
from patchline.core.spec import (
    AgentlessWorkflow,
    EditBenchWorkflow,
    InferenceRun,
    LlamaCppEngine,
    Rollout,
    RolloutWorkflow,
    load_manifest,
)
from patchline.demo import DEMO_DATA, DEMO_RELEASES, DemoData, prepare_data
from patchline.demo.examples import EXAMPLES_DIR, example_command
from patchline.demo.releases import git_commit_tree
from patchline.edits import apply_unified_diff, extract_model_patch
from patchline.oracle import OracleServer
from patchline.pipeline.jobs import JobPhase
from patchline.pipeline.plan import run_root
from patchline.pipeline.runner import RunnerSettings, run_manifest
from patchline.servers import create_server
from patchline.workflows.editbench.split import apply_steps
from tests.fixtures.demo_lite import RELEASE_CACHE, git_apply_check, touched_files
from tests.fixtures.serving import served

pytestmark = pytest.mark.e2e

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = sorted((REPO / EXAMPLES_DIR).glob("*.yaml"))
BASE = "results"  # patchline run's default --base, below the clone root


class Clone:
    """A clone root holding the examples as shipped and the prepared data; a git repo per release for checks."""

    def __init__(self, root: Path) -> None:
        self.root = root
        shutil.copytree(REPO / EXAMPLES_DIR, root / EXAMPLES_DIR)
        prepared = prepare_data(root / DEMO_DATA, cache=RELEASE_CACHE)
        self.data = prepared.paths
        self.rows = {row["instance_id"]: row for row in _jsonl(self.data.instances)}
        self.repos = {}
        for iid, release in prepared.releases.items():
            self.repos[iid] = root / "release-repos" / iid
            git_commit_tree(release.root, self.repos[iid])

    def manifest(self, name: str) -> Rollout | InferenceRun:
        """The example as the clone holds it."""
        return load_manifest(self.root / EXAMPLES_DIR / f"{name}.yaml")

    def run_root(self, name: str) -> Path:
        """Where the example's run writes (its output below the default base)."""
        return self.root / run_root(self.manifest(name), BASE)

    def make_example(self, name: str) -> subprocess.CompletedProcess[str]:
        """``make example NAME=name``'s command, in the clone root."""
        command = [sys.executable, "-m", "patchline.demo", "--cache", str(RELEASE_CACHE), "example", name]
        return subprocess.run(command, cwd=self.root, capture_output=True, text=True, timeout=600, check=False)


@pytest.fixture(scope="module")
def clone(tmp_path_factory: pytest.TempPathFactory) -> Clone:
    made = Clone(tmp_path_factory.mktemp("clone"))
    assert sorted(made.rows) == sorted(DEMO_RELEASES)
    return made


def _jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def _check_predictions(path: Path, clone: Clone, instances: list[str]) -> None:
    """One prediction per instance, whose patch applies to its release and touches the gold patch's files."""
    patches: dict[str, list[str]] = defaultdict(list)
    for prediction in _jsonl(path):
        iid, patch = prediction["instance_id"], prediction["model_patch"]
        assert patch.startswith("diff --git a/"), (iid, patch[:200])
        assert git_apply_check(clone.repos[iid], patch) == "", iid
        assert set(touched_files(patch)) == set(touched_files(clone.rows[iid]["patch"]))
        patches[iid].append(patch)
    assert sorted(patches) == sorted(instances) and all(len(p) == 1 for p in patches.values())


def _check_agentless(clone: Clone, name: str) -> None:
    run = clone.manifest(name)
    assert isinstance(run, Rollout) and isinstance(run.spec.workflow, AgentlessWorkflow)
    root, workflow, sampling = clone.run_root(name), run.spec.workflow, run.spec.sampling
    assert sampling is not None
    instances = run.spec.dataset.instances
    requests = _jsonl(root / "requests-repair.jsonl")
    samples = sampling.samples - (1 if workflow.skip_greedy else 0)  # skipGreedy leaves out sample 0
    assert len(requests) == len(instances) * samples
    assert {r["body"]["model"] for r in requests} == {run.spec.engine.model_name}
    if isinstance(run.spec.engine, LlamaCppEngine):  # a 135 M model: a verdict per sample, patches rarely
        for sample in range(sampling.samples):
            records = _jsonl(root / f"output_{sample}_processed.jsonl")
            assert [r["instance_id"] for r in records] == instances and all(r["status"] for r in records)
        assert [p["instance_id"] for p in _jsonl(root / "predictions.jsonl")] == instances
        return
    _check_predictions(root / "predictions.jsonl", clone, instances)


def _check_rollout(clone: Clone, name: str) -> None:
    run = clone.manifest(name)
    assert isinstance(run, Rollout) and isinstance(run.spec.workflow, RolloutWorkflow)
    root, instances = clone.run_root(name), run.spec.dataset.instances
    if run.spec.workflow.type == "bugfixer":
        assert run.spec.sampling is not None
        assert len(_jsonl(root / "batch_output_step2.jsonl")) == len(instances) * run.spec.sampling.samples
        _check_predictions(root / "predictions.jsonl", clone, instances)
        return
    # TestWriter: step 2 shows a test file of the code base; requests 2.10.0's sdist ships none, so that
    # instance is a recorded per-item failure, and the others get their reproduction tests.
    with_tests = {
        iid
        for iid in instances
        if any((clone.repos[iid] / p).is_file() for p in touched_files(clone.rows[iid]["test_patch"]))
    }
    assert with_tests == {"pallets__flask-4045", "psf__requests-2674"}
    failures = _jsonl(root / "failures.jsonl")
    assert {(f["custom_id"].split("__pass")[0], f["reason"]) for f in failures} == {
        ("psf__requests-3362", "no_test_files_found")
    }
    records = _jsonl(root / "output_0_processed_reproduction_test.jsonl")
    assert sorted(r["instance_id"] for r in records) == sorted(with_tests)
    for record in records:
        patch = record["test_patch"]
        (added,) = PatchSet(patch)
        assert added.is_added_file and added.path == "reproduce_bug.py", patch[:300]
        assert record["test_func_name"] and f"def {record['test_func_name']}" in patch
        assert git_apply_check(clone.repos[record["instance_id"]], patch) == ""


def _check_editbench(clone: Clone, name: str) -> None:
    run = clone.manifest(name)
    assert isinstance(run, Rollout) and isinstance(run.spec.workflow, EditBenchWorkflow)
    root, workflow, model = clone.run_root(name), run.spec.workflow, run.spec.engine.model_name
    bench = {line["instance_id"]: line for line in _jsonl(clone.data.editbench_bench)}
    assert sorted(bench) == sorted(DEMO_RELEASES)
    run_id = workflow.effective_run_id
    infbench = _jsonl(root / "crawled_data" / "infbench" / f"{workflow.dataset_name}-task-instances_{run_id}.jsonl")
    assert sorted(line["instance_id"] for line in infbench) == sorted(bench)
    for line in infbench:  # BM25 ranked the release at base_commit: files beyond the history's are shown
        shown = set(line["prompt"].split("[start of ")[1:])
        assert len(shown) > len(bench[line["instance_id"]]["files_work"]), line["instance_id"]
    assert run.spec.sampling is not None
    temperature, n = run.spec.sampling.temperature, run.spec.sampling.samples
    folder = root / "experiment_results" / model / f"T={temperature:g}" / f"n={n}"
    merged = _jsonl(folder / f"{workflow.dataset_name}-task-instances_{run_id}.jsonl")
    truth = {line["instance_id"]: line["ground_truth"] for line in infbench}
    assert sorted(r["instance_id"] for r in merged) == sorted(bench)
    for record in merged:
        assert record["model_name"] == model and record["temperature"] == temperature and record["n"] == n
        assert record["model_patch"].strip() == truth[record["instance_id"]].strip()


def _check_inference(clone: Clone, name: str) -> None:
    run = clone.manifest(name)
    assert isinstance(run, InferenceRun)
    sent = [r["custom_id"] for r in _jsonl(clone.data.inference_requests)]
    responses = {r["custom_id"]: r for r in _jsonl(clone.root / run.output_uri(BASE))}
    assert sorted(responses) == sorted(sent) == sorted(DEMO_RELEASES)
    for iid, line in responses.items():
        assert line["response"]["status_code"] == 200 and line["error"] is None
        assert line["response"]["body"]["model"] == run.spec.engine.model_name
        content = line["response"]["body"]["choices"][0]["message"]["content"]
        assert extract_model_patch(content) == clone.rows[iid]["patch"]  # the gold patch, byte for byte


def _checker(run: Rollout | InferenceRun) -> Callable[[Clone, str], None]:
    if isinstance(run, InferenceRun):
        return _check_inference
    workflow = run.spec.workflow
    if isinstance(workflow, AgentlessWorkflow):
        return _check_agentless
    if isinstance(workflow, EditBenchWorkflow):
        return _check_editbench
    return _check_rollout


def _example_params() -> Iterator[Any]:
    for path in EXAMPLES:
        served_on_cpu = isinstance(load_manifest(path).spec.engine, LlamaCppEngine)
        yield pytest.param(path.stem, id=path.stem, marks=[pytest.mark.real_model] if served_on_cpu else [])


@pytest.mark.parametrize("name", list(_example_params()))
def test_example_runs_as_shipped_by_its_documented_command(clone: Clone, name: str) -> None:
    shipped = REPO / EXAMPLES_DIR / f"{name}.yaml"
    header = shipped.read_text(encoding="utf-8").split("apiVersion:")[0]
    assert f"make example NAME={name}" in header  # the one documented command is in the file
    command = example_command(name, DemoData(Path(DEMO_DATA)), root=clone.root)
    assert " ".join(command) in " ".join(header.replace("#", " ").split())  # and so is what it runs
    done = clone.make_example(name)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
    assert f"$ {' '.join(command)}" in done.stdout.splitlines()
    _checker(clone.manifest(name))(clone, name)


def test_a_rerun_of_an_example_finds_everything_done(clone: Clone) -> None:
    name = "bugfixer-rollout"
    first = clone.make_example(name)
    assert first.returncode == 0, first.stderr[-3000:]
    predictions = (clone.run_root(name) / "predictions.jsonl").read_text()
    data = {p: p.stat().st_mtime_ns for p in clone.data.root.rglob("*") if p.is_file() and ".git" not in p.parts}
    again = clone.make_example(name)
    assert again.returncode == 0, again.stderr[-3000:]
    stages = [line for line in again.stdout.splitlines() if line.startswith("  ") and ":" not in line.split()[0]]
    assert stages and all("done earlier" in line for line in stages), again.stdout
    assert (clone.run_root(name) / "predictions.jsonl").read_text() == predictions
    assert {p: p.stat().st_mtime_ns for p in data} == data  # the preparation rewrote nothing


def test_every_local_path_of_an_example_is_prepared_data(clone: Clone) -> None:
    """The examples name the files patchline.demo.prepare writes (its DemoData), nothing else below results/."""
    prepared = {
        str(path.relative_to(clone.root))
        for path in (
            clone.data.instances,
            clone.data.structures,
            clone.data.oracle_loc,
            clone.data.editbench_bench,
            clone.data.editbench_repos,
            clone.data.inference_requests,
        )
    }
    named = set()
    for path in EXAMPLES:
        run = load_manifest(path)
        if isinstance(run, InferenceRun):
            named.add(str(Path(BASE) / run.spec.input))  # below --base, like its output
            continue
        repositories, workflow = run.spec.repositories, run.spec.workflow
        named.add(run.spec.dataset.source)
        named.update(p for p in (repositories.structure_dir, repositories.repo_root) if p)
        if isinstance(workflow, AgentlessWorkflow):
            named.add(workflow.loc_file)
    assert named <= prepared, named - prepared
    assert all((clone.root / p).exists() for p in named)
    text = "".join(p.read_text(encoding="utf-8") for p in EXAMPLES)
    assert "# Cluster: source: princeton-nlp/SWE-bench_Lite" in text  # the cluster values stay beside them


def test_an_example_with_the_endpoint_override(clone: Clone, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``--endpoint URL`` (a model server one runs) instead of ``--oracle``: here the oracle as a server."""
    from patchline.cli.app import main

    monkeypatch.chdir(clone.root)  # the example's data paths are relative to the clone root
    with OracleServer(clone.data.instances) as oracle:
        manifest = str(clone.root / EXAMPLES_DIR / "bugfixer-rollout.yaml")
        assert main(["run", manifest, "--base", str(tmp_path), "--endpoint", oracle.base_url]) == 0
    run = clone.manifest("bugfixer-rollout")
    assert isinstance(run, Rollout)
    _check_predictions(Path(run_root(run, str(tmp_path))) / "predictions.jsonl", clone, run.spec.dataset.instances)


async def test_the_editbench_example_through_the_services(
    clone: Clone, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As services, the inference rounds are gateway jobs and BM25 runs on the Retrieval service."""
    monkeypatch.chdir(clone.root)  # the example's data paths are relative to the clone root
    run = clone.manifest("editbench-rollout")
    running = await create_server(served(tmp_path))
    try:
        via = RunnerSettings(base=str(tmp_path), via=f"127.0.0.1:{running.port}", oracle=True)
        report = await run_manifest(run, via)
        labels = {"method": "/patchline.v1.RetrievalService/Search", "code": "OK"}
        searches = running.metrics.registry.get_sample_value("patchline_rpc_total", labels)
        gateway_jobs = running.managers["gateway"].count(JobPhase.SUCCEEDED)
    finally:
        await running.stop(0)
    assert [r.name for r in report.stages] == ["build_prompts", "prepare", "infer_r0", "collect_r0", "merge"]
    assert searches == len(DEMO_RELEASES) and gateway_jobs == 1
    merged = [name for name in report.artifacts() if name.startswith("merged:")]
    assert len(merged) == 1 and len(_jsonl(Path(report.artifacts()[merged[0]]))) == len(DEMO_RELEASES)


def test_editbench_bm25_on_data_without_base_commit_fails_at_the_start(
    clone: Clone, shared_data: Path, tmp_path: Path
) -> None:
    """The shared EditBench histories have no base_commit: the run stops at build_prompts, before any work."""
    example = yaml.safe_load((clone.root / EXAMPLES_DIR / "editbench-rollout.yaml").read_text(encoding="utf-8"))
    bench = shared_data / "editbench_realistic" / "work_patch_list_reconstructed.jsonl"
    example["spec"]["dataset"]["source"] = str(bench)
    path = tmp_path / "editbench-shared.yaml"
    path.write_text(yaml.safe_dump(example), encoding="utf-8")
    command = [sys.executable, "-m", "patchline", "run", str(path), "--base", str(tmp_path), "--oracle"]
    done = subprocess.run(command, cwd=clone.root, capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode != 0
    [error] = [line for line in done.stderr.splitlines() if line.startswith("patchline: error:")]
    first = json.loads(bench.open(encoding="utf-8").readline())["instance_id"]
    assert error.startswith("patchline: error: stage build_prompts: ")
    assert f"first: {first}: it has no base_commit" in error and "set useBm25: false" in error
    root = tmp_path / example["spec"]["output"]
    assert sorted(p.name for p in (root / "stages").iterdir()) == ["build_prompts.json"]
    record = json.loads((root / "stages" / "build_prompts.json").read_text())
    assert record["phase"] == "Failed" and "base_commit" in record["message"]
    assert not (root / "crawled_data").exists()  # no prompt was built
    assert "Traceback" not in done.stderr


def test_the_oracle_override_needs_gold_data_for_an_inference_run(clone: Clone) -> None:
    run = clone.manifest("inferencerun")
    with pytest.raises(InputError, match="oracle needs gold data"):
        asyncio.run(run_manifest(run, RunnerSettings(base=str(clone.root / BASE), oracle=True)))


def test_the_editbench_histories_are_the_gold_patches_hunk_by_hunk(clone: Clone) -> None:
    """Applying a history's steps in order to its base commit gives the files the gold patch gives."""
    for line in _jsonl(clone.data.editbench_bench):
        iid = line["instance_id"]
        gold = clone.rows[iid]["patch"]
        assert line["whole_diff"] == gold and len(line["work_patch_list"]) == sum(len(f) for f in PatchSet(gold))
        repo = clone.data.editbench_repos / line["repo"].replace("/", "__")
        with GitSnapshot(repo, line["base_commit"]) as snapshot:
            originals = {path: snapshot.read_text(path) for path in line["files_work"]}
        assert all(originals.values()) and originals == {p: (clone.repos[iid] / p).read_text() for p in originals}
        states: dict[str, str | None] = dict(originals)
        apply_steps(states, line["work_patch_list"], lambda path: None)
        expected = apply_unified_diff({p: t for p, t in originals.items() if t is not None}, gold)
        assert states == expected, iid


@pytest.mark.parametrize("name", ["bugfixer-rollout", "inferencerun"])
def test_an_example_before_its_data_is_prepared_says_how_to_prepare_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], name: str
) -> None:
    shutil.copytree(REPO / EXAMPLES_DIR, tmp_path / EXAMPLES_DIR)
    monkeypatch.chdir(tmp_path)  # a clone where nothing was prepared yet
    flags = ["--oracle-dataset", "results/demo/instances.jsonl"] if name == "inferencerun" else ["--oracle"]
    assert main(["run", f"{EXAMPLES_DIR}/{name}.yaml", *flags]) == 2
    error = capsys.readouterr().err.strip().splitlines()[-1]
    assert error.startswith(f"patchline: error: {EXAMPLES_DIR}/{name}.yaml: results/demo/")
    assert "python -m patchline.demo prepare" in error and f"make example NAME={name}" in error
    assert not (tmp_path / "results").exists()  # refused before any stage


def test_an_inference_runs_missing_input_is_named_where_the_run_would_read_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    shutil.copytree(REPO / EXAMPLES_DIR, tmp_path / EXAMPLES_DIR)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "results/demo").mkdir(parents=True)
    (tmp_path / "results/demo/instances.jsonl").write_text("")  # the oracle's dataset is there, the input not
    flags = ["--oracle-dataset", "results/demo/instances.jsonl"]
    assert main(["run", f"{EXAMPLES_DIR}/inferencerun.yaml", *flags]) == 2
    error = capsys.readouterr().err.strip().splitlines()[-1]
    assert "inferencerun.yaml: ./results/demo/inference-requests.jsonl does not exist yet" in error  # below --base
