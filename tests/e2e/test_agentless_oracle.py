"""Agentless end to end through the CLI: --batch_gen, the executor against the oracle server, --process_batch,
and patches that ``git apply --check`` cleanly to the repository at base_commit."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from patchline.cli.app import main
from patchline.gateway import ExecutorSettings, run_file
from patchline.oracle import OracleServer
from tests.fixtures.gitrepos import git_env
from tests.unit.workflows.agentless.helpers import GOLD_INSTANCES, Scenario, build_scenario

pytestmark = pytest.mark.e2e


def _seed_flags(scenario: Scenario, out: Path, *extra: str) -> list[str]:
    """The flags of the seed README's example commands (plus ``extra``)."""
    return [
        "agentless",
        "repair",
        "--loc_file",
        str(scenario.loc_file),
        "--output_folder",
        str(out),
        "--loc_interval",
        "--top_n=none",
        "--context_window=10",
        "--max_samples",
        "3",
        "--skip_greedy",
        "--cot",
        "--diff_format",
        "--model",
        "deepseek-ai/DeepSeek-V3",
        "--temperature",
        "0.6",
        "--max_tokens",
        "32768",
        "--thinking_budget",
        "32768",
        "--enable_thinking",
        "--dataset",
        str(scenario.dataset),
        *extra,
    ]


def _run(scenario: Scenario, out: Path, *, reasoning: str | None, extra: tuple[str, ...] = ()) -> Path:
    assert main([*_seed_flags(scenario, out, *extra), "--batch_gen"]) == 0
    responses = out / "responses-repair.jsonl"
    with OracleServer(scenario.dataset, reasoning=reasoning) as oracle:  # type: ignore[arg-type]
        summary = run_file(
            str(out / "requests-repair.jsonl"),
            str(responses),
            endpoints=[oracle.base_url],
            settings=ExecutorSettings(concurrency=4, max_attempts=2, timeout_seconds=60),
        )
    assert summary.succeeded == 4 and summary.failed == 0
    flags = _seed_flags(scenario, out, *extra)
    assert main([*flags, "--num_threads", "2", "--process_batch", "--batch_output", str(responses)]) == 0
    return out


def _git_apply_check(repo: Path, patch: str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        ["git", "apply", "--check", "-"],
        input=patch.encode(),
        cwd=repo,
        env=git_env(),
        capture_output=True,
        check=False,
    )


def _predictions(out: Path) -> list[dict[str, str]]:
    return [json.loads(line) for line in (out / "predictions.jsonl").read_text(encoding="utf-8").splitlines()]


@pytest.fixture
def scenario(tmp_path: Path, shared_data: Path) -> Scenario:
    return build_scenario(tmp_path, shared_data / "swebench_verified" / "swe_bench_verified.jsonl")


@pytest.mark.parametrize("reasoning", [None, "think", "field"])
def test_structure_json_to_patches_that_apply(
    scenario: Scenario, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, reasoning: str | None
) -> None:
    monkeypatch.setenv("PROJECT_FILE_LOC", str(scenario.structures))
    out = _run(scenario, tmp_path / "out", reasoning=reasoning)
    predictions = _predictions(out)
    assert [p["instance_id"] for p in predictions] == list(GOLD_INSTANCES)
    for prediction in predictions:
        assert prediction["model_patch"], prediction["instance_id"]
        done = _git_apply_check(scenario.repo, prediction["model_patch"])
        assert done.returncode == 0, done.stderr.decode()
    for sample in (1, 2):
        records = [json.loads(x) for x in (out / f"output_{sample}_processed.jsonl").read_text().splitlines()]
        assert [r["status"] for r in records] == ["ok", "ok"]
    raw = [json.loads(x) for x in (out / "output.jsonl").read_text().splitlines()]
    if reasoning == "field":
        assert all(t["reasoning_content"] for r in raw for t in r["traj"][1:])


def test_repo_at_base_commit_and_compat_newlines(
    tmp_path: Path, shared_data: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    scenario = build_scenario(
        tmp_path, shared_data / "swebench_verified" / "swe_bench_verified.jsonl", base_commit_is_repo=True
    )
    monkeypatch.delenv("PROJECT_FILE_LOC", raising=False)
    out = _run(scenario, tmp_path / "out", reasoning=None, extra=("--repo", str(scenario.repo)))
    for prediction in _predictions(out):
        done = _git_apply_check(scenario.repo, prediction["model_patch"])
        assert done.returncode == 0, done.stderr.decode()
    # the original's output, artefact included, for comparison with old results
    compat = _run(
        scenario,
        tmp_path / "compat",
        reasoning=None,
        extra=("--repo", str(scenario.repo), "--compat-agentless-newlines"),
    )
    for prediction in _predictions(compat):
        patch = prediction["model_patch"]
        assert "\nindex " in patch and "@@ -1,3 +1,4 @@\n+\n" in patch
        done = _git_apply_check(scenario.repo, patch)
        assert done.returncode == 0, done.stderr.decode()


def test_seed_flags_errors_are_one_line(tmp_path: Path, shared_data: Path, capsys: pytest.CaptureFixture[str]) -> None:
    scenario = build_scenario(tmp_path, shared_data / "swebench_verified" / "swe_bench_verified.jsonl", git=False)
    flags = _seed_flags(scenario, tmp_path / "out")
    assert main([*flags, "--batch_gen", "--repo", str(tmp_path / "nowhere")]) == 2
    assert main([*flags, "--process_batch"]) == 2
    assert main([*flags, "--batch_gen", "--process_batch"]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and err.count("patchline: error:") == 3
