"""Both rollouts end to end against the oracle server through the executor, on real Lite instances.

The gold round trip: with the oracle answering step 1 (the gold files) and step 2 (SEARCH/REPLACE
equivalent to the gold patch), the BugFixer's stage-3 patches must give the same post-edit files as
the gold patches, for every Lite sympy instance materialised from the installed sources.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from patchline.core.repos import GitSnapshot
from patchline.core.spec import RolloutStage
from patchline.edits import apply_unified_diff
from patchline.gateway import run_file
from patchline.oracle import OracleServer
from patchline.workflows.rollout import run_stage
from patchline.workflows.rollout.records import BugFixerSample, TestWriterSample
from tests.fixtures.lite_repos import LiteRepo, lite_sympy_repo  # noqa: F401 - fixture
from tests.fixtures.stages import stage

pytestmark = pytest.mark.integration


def _rollout(kind: str, repo: LiteRepo, url: str, out: Path, **extra: object) -> dict[str, object]:
    common = {
        "workflow__type": kind,
        "dataset__source": str(repo.dataset),
        "repositories__repo_root": str(repo.path),
        "model": "oracle",
    }
    summaries: dict[str, object] = {}
    step1 = stage(RolloutStage, **common, output_file=str(out / "batch_requests_step1.jsonl"), **extra)  # type: ignore[arg-type]
    summaries["s1"] = run_stage(step1, "gen_step1")
    summaries["x1"] = run_file(
        str(out / "batch_requests_step1.jsonl"), str(out / "batch_output_step1.jsonl"), endpoints=[url]
    )
    step2 = stage(
        RolloutStage,
        **common,  # type: ignore[arg-type]
        input_file=str(out / "batch_output_step1.jsonl"),
        output_file=str(out / "batch_requests_step2.jsonl"),
        workflow__num_workers=2,
        **extra,
    )
    summaries["s2"] = run_stage(step2, "proc_step1_gen_step2")
    summaries["x2"] = run_file(
        str(out / "batch_requests_step2.jsonl"), str(out / "batch_output_step2.jsonl"), endpoints=[url]
    )
    step3 = stage(
        RolloutStage,
        **common,  # type: ignore[arg-type]
        input_file=str(out / "batch_output_step2.jsonl"),
        step1_file=str(out / "batch_output_step1.jsonl"),
        save_dir=str(out),
        workflow__num_workers=2,
        **extra,
    )
    summaries["s3"] = run_stage(step3, "proc_step2")
    return summaries


def _gold_post_edit(repo: LiteRepo, instance: dict[str, str]) -> dict[str, str | None]:
    snapshot = GitSnapshot(repo.path, instance["base_commit"])
    try:
        files = {p: snapshot.read_text(p) or "" for p in snapshot.list_files() if f"a/{p}" in instance["patch"]}
        return apply_unified_diff(files, instance["patch"])
    finally:
        snapshot.close()


def test_bugfixer_gold_round_trip(lite_sympy_repo: LiteRepo, tmp_path: Path) -> None:  # noqa: F811
    repo = lite_sympy_repo
    assert len(repo.instance_ids) >= 20, repo.skipped
    with OracleServer(repo.dataset) as oracle:
        summaries = _rollout("bugfixer", repo, oracle.base_url, tmp_path)
    assert summaries["s1"].written == len(repo.instance_ids)  # type: ignore[attr-defined]
    assert summaries["s2"].failed == 0, (tmp_path / "failures.jsonl").read_text()  # type: ignore[attr-defined]
    instances = {json.loads(line)["instance_id"]: json.loads(line) for line in repo.dataset.read_text().splitlines()}
    same = 0
    for iid, instance in instances.items():
        sample = BugFixerSample.model_validate_json((tmp_path / "samples" / f"{iid}.jsonl").read_text())
        produced = dict(zip(sample.processed.edited_files, sample.processed.new_file_content, strict=True))
        gold = _gold_post_edit(repo, instance)
        same += produced == gold
        assert sample.model_patch.count("diff --git") == len(sample.processed.edited_files)  # never doubled
    rate = same / len(instances)
    print(f"gold round trip: {same}/{len(instances)} instances give the gold post-edit files ({rate:.0%})")
    assert rate == 1.0
    predictions = [json.loads(x) for x in (tmp_path / "predictions.jsonl").read_text().splitlines()]
    assert sorted(p["instance_id"] for p in predictions) == sorted(instances)
    assert all(p["model_patch"] for p in predictions)
    # The patch applies with git itself, to the instance's commit.
    first = instances[repo.instance_ids[0]]
    worktree = tmp_path / "worktree"
    subprocess.run(
        ["git", "-C", str(repo.path), "worktree", "add", "-q", "--detach", str(worktree), first["base_commit"]],
        check=True,
    )
    try:
        patch = next(p["model_patch"] for p in predictions if p["instance_id"] == first["instance_id"])
        subprocess.run(["git", "apply", "--check", "-"], input=patch.encode(), cwd=worktree, check=True)
    finally:
        subprocess.run(["git", "-C", str(repo.path), "worktree", "remove", "--force", str(worktree)], check=True)


def _subset(repo: LiteRepo, folder: Path, count: int) -> LiteRepo:
    """The same repository with a smaller dataset: instances with gold tests first."""
    wanted = [*repo.with_tests[: count - 1], *[i for i in repo.instance_ids if i not in repo.with_tests][:1]]
    lines = [x for x in repo.dataset.read_text().splitlines() if json.loads(x)["instance_id"] in wanted]
    dataset = folder / "subset.jsonl"
    dataset.write_text("\n".join(lines) + "\n")
    return LiteRepo(repo.path, dataset, tuple(wanted), tuple(w for w in wanted if w in repo.with_tests), ())


def test_testwriter_round_trip(lite_sympy_repo: LiteRepo, tmp_path: Path) -> None:  # noqa: F811
    repo = _subset(lite_sympy_repo, tmp_path, 5)
    with OracleServer(repo.dataset) as oracle:
        summaries = _rollout("testwriter", repo, oracle.base_url, tmp_path, sampling__samples=2)
    written = summaries["s3"].written  # type: ignore[attr-defined]
    assert written + summaries["s3"].failed + summaries["s2"].failed == 2 * len(repo.instance_ids)  # type: ignore[attr-defined]
    processed = [
        json.loads(x) for x in (tmp_path / "output_0_processed_reproduction_test.jsonl").read_text().splitlines()
    ]
    assert {p["instance_id"] for p in processed} >= set(repo.with_tests)
    requests = [json.loads(x) for x in (tmp_path / "batch_requests_step1.jsonl").read_text().splitlines()]
    assert {r["body"]["temperature"] for r in requests if r["custom_id"].endswith("__pass0")} == {0.0}
    assert {r["body"]["temperature"] for r in requests if r["custom_id"].endswith("__pass1")} == {1.0}
    for record in processed:
        assert record["test_patch"].startswith(
            "diff --git a/reproduce_bug.py b/reproduce_bug.py\nnew file mode 100644\n"
        )
        assert "--- /dev/null\n+++ b/reproduce_bug.py\n" in record["test_patch"]
    # An instance whose gold tests were put back: the reproduction test holds the gold test and runs.
    iid = repo.with_tests[0]
    sample = TestWriterSample.model_validate_json((tmp_path / "samples" / f"{iid}__pass0.jsonl").read_text())
    assert sample.edits_applied >= 1 and sample.processed.test_func_name
    script = sample.processed.raw_test_patch.removeprefix("```python\n").removesuffix("\n```")
    target = tmp_path / "run" / "reproduce_bug.py"
    target.parent.mkdir()
    target.write_text(script)
    done = subprocess.run([sys.executable, str(target)], cwd=target.parent, capture_output=True, text=True, timeout=120)
    assert done.stdout.strip().splitlines()[-1] in {"Issue reproduced", "Issue resolved", "Other issues"}
