"""EditBench end to end through the CLI: build prompts per repo, merge them, run against the oracle, merge results.

The 16 real histories with file snapshots are split per repository the way EditBench lays out its
files; the oracle answers every prompt with the infbench ground truth (once with a reasoning part in
front), and the result files must be where the evaluation looks, with patches that turn the files
after the pre-edits into the final files.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest

from patchline.cli.app import main
from patchline.edits import apply_unified_diff
from patchline.oracle import OracleServer
from tests.unit.workflows.editbench.helpers import (
    SNAPSHOTS,
    commit_all,
    finals,
    load_records,
    make_repository,
    originals,
    same_text,
)

pytestmark = pytest.mark.e2e

SUCCESS_KEYS = {"instance_id", "model_name", "temperature", "top_p", "n", "prompt", "full_output", "model_patch"}


def _jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def _build_per_repo(shared_data: Path, root: Path) -> tuple[list[str], dict[str, dict[str, Any]]]:
    by_repo: dict[str, list[dict[str, Any]]] = defaultdict(list)
    records = load_records(shared_data, SNAPSHOTS)
    for record in records:
        by_repo[record["repo"]].append({**record, "title_mes": f"Work on {record['instance_id']}"})
    for repo, group in by_repo.items():
        bench = root / "crawled_data" / "bench" / f"{repo.replace('/', '-')}-task-instances.jsonl"
        bench.parent.mkdir(parents=True, exist_ok=True)
        bench.write_text("".join(json.dumps(r) + "\n" for r in group), encoding="utf-8")
        save = root / "crawled_data" / "infbench" / f"{repo.replace('/', '-')}-task-instances_0.4.jsonl"
        assert main(["editbench", "build-prompts", "--dataset-name", str(bench), "--save-path", str(save),
                     "--info-pct", "0.4", "--no-issue-mes"]) == 0  # fmt: skip
    return sorted(by_repo), {r["instance_id"]: r for r in records}


def _check_results(path: Path, records: dict[str, dict[str, Any]], infbench: dict[str, dict[str, Any]]) -> None:
    results = _jsonl(path)
    assert sorted(r["instance_id"] for r in results) == sorted(records)
    for result in results:
        assert set(result) >= SUCCESS_KEYS and "status" not in result
        assert result["temperature"] == 0.0 and result["n"] == 1
        line = infbench[result["instance_id"]]
        assert result["model_patch"].strip() == line["ground_truth"].strip()
        assert "<think>" not in result["model_patch"]
        state = {p: t for p, t in originals(records[result["instance_id"]]).items() if t is not None}
        for step in line["pre_edits"]:
            state = {p: t for p, t in apply_unified_diff(state, step).items() if t is not None}
        state = {p: t for p, t in apply_unified_diff(state, result["model_patch"]).items() if t is not None}
        for file_path, final in finals(records[result["instance_id"]]).items():
            assert same_text(state.get(file_path), final)


def test_build_run_merge_against_the_oracle(
    shared_data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = tmp_path / "project"
    repos, records = _build_per_repo(shared_data, root)
    assert main(["editbench", "merge-infbench", "--condition", "0.4", "--root", str(root)]) == 0
    merged_infbench = root / "crawled_data" / "infbench" / "all-task-instances_0.4.jsonl"
    infbench = {line["instance_id"]: line for line in _jsonl(merged_infbench)}
    assert len(infbench) == 16

    with OracleServer(merged_infbench) as oracle:
        argv = ["editbench", "run", "--dataset_name", *repos, "--model", "oracle-model", "--run_id", "0.4",
                "--url", oracle.base_url, "--root", str(root), "--max_workers", "4", "--timeout", "30"]  # fmt: skip
        assert main(argv) == 0
        assert main(argv) == 0  # resumed: nothing is sent again
        assert "0 succeeded, 0 failed, 2 already done" in capsys.readouterr().out
        sample = sorted(records)[:3]
        (root / "sampled.json").write_text(json.dumps({"sampled_instance_ids": sample}))
        assert main(["editbench", "run", "--dataset_name", str(merged_infbench), "--model", "sampled-model",
                     "--sampled_ids_file", str(root / "sampled.json"), "--url", oracle.base_url,
                     "--root", str(root)]) == 0  # fmt: skip
        sampled = root / "experiment_results" / "sampled-model" / "T=0" / "n=1" / "all-task-instances_0.4.jsonl"
        assert sorted(r["instance_id"] for r in _jsonl(sampled)) == sample
    with OracleServer(merged_infbench, reasoning="think") as thinking:
        assert main(["editbench", "run", "--dataset_name", "all", "--model", "thinking-oracle", "--run_id", "0.4",
                     "--url", thinking.base_url, "--root", str(root)]) == 0  # fmt: skip

    folder = root / "experiment_results" / "oracle-model" / "T=0" / "n=1"
    per_repo = sorted(p.name for p in folder.glob("*.jsonl"))
    assert per_repo == sorted(f"{r.replace('/', '-')}-task-instances_0.4.jsonl" for r in repos)
    assert main(["editbench", "merge-results", "--model-name", "oracle-model", "--temperature", "0", "--n", "1",
                 "--run-id", "0.4", "--root", str(root)]) == 0  # fmt: skip
    merged = folder / "all-task-instances_0.4.jsonl"
    _check_results(merged, records, infbench)
    merged_repos = [r["instance_id"].split("-pull-")[0] for r in _jsonl(merged)]
    assert merged_repos == sorted(merged_repos)
    thinking_file = root / "experiment_results" / "thinking-oracle" / "T=0" / "n=1" / "all-task-instances_0.4.jsonl"
    _check_results(thinking_file, records, infbench)
    assert all("<think>" in r["full_output"] for r in _jsonl(thinking_file))
    assert not any((root / ".patchline").rglob("*.jsonl"))  # work files are removed after a run


def test_bad_input_is_one_line_on_stderr(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("BASE_URL", raising=False)
    code = main(["editbench", "run", "--dataset_name", "all", "--model", "m", "--url", "http://127.0.0.1:9",
                 "--root", str(tmp_path)])  # fmt: skip
    err = capsys.readouterr().err
    assert code == 3 and err.startswith("patchline: error:") and "Traceback" not in err
    assert not (tmp_path / "experiment_results").exists()
    missing_ids = ["--sampled_ids_file", str(tmp_path / "x"), "--url", "http://127.0.0.1:9"]
    assert main(["editbench", "run", "--model", "m", "--root", str(tmp_path), *missing_ids]) == 3
    assert main(["editbench", "run", "--model", "m", "--root", str(tmp_path)]) == 2  # no --url and no BASE_URL
    assert "BASE_URL" in capsys.readouterr().err


def _repositories(shared_data: Path, repo_root: Path) -> list[dict[str, Any]]:
    """One git checkout per repository; each instance's original files (plus click's sources) are one commit."""
    import click

    filler = {f"vendor/click/{p.name}": p.read_text(encoding="utf-8") for p in Path(click.__file__).parent.glob("*.py")}
    bench = []
    for record in load_records(shared_data, SNAPSHOTS):
        owner, name = record["repo"].split("/")
        checkout = repo_root / f"{owner}__{name}"
        if checkout.exists():
            for path, text in {p: t for p, t in originals(record).items() if t is not None}.items():
                (checkout / path).parent.mkdir(parents=True, exist_ok=True)
                (checkout / path).write_text(text, encoding="utf-8")
            commit = commit_all(checkout)
        else:
            commit = make_repository(checkout, record, filler)
        bench.append({**record, "base_commit": commit})
    return bench


def test_bm25_prompts_with_compat_names_against_the_oracle(shared_data: Path, tmp_path: Path) -> None:
    root = tmp_path / "project"
    bench = _repositories(shared_data, tmp_path / "repos")
    bench_file = root / "crawled_data" / "bench" / "all-task-instances.jsonl"
    bench_file.parent.mkdir(parents=True)
    bench_file.write_text("".join(json.dumps(r) + "\n" for r in bench), encoding="utf-8")
    assert main(["editbench", "build-prompts", "--dataset-name", str(bench_file),
                 "--save-path", str(root / "crawled_data" / "infbench" / "all-task-instances.jsonl"),
                 "--info-pct", "0.4", "--use-bm25", "--topn", "3", "--repo-root", str(tmp_path / "repos"),
                 "--cache-root", str(root), "--compat-save-path"]) == 0  # fmt: skip
    infbench_file = root / "crawled_data" / "infbench" / "all-task-instances_0.4_body_issue_bm25_3.jsonl"
    infbench = {line["instance_id"]: line for line in _jsonl(infbench_file)}
    assert len(infbench) == 16
    for line in infbench.values():
        code = line["prompt"].split("<code>\n", 1)[1].split("\n</code>", 1)[0]
        shown = re.findall(r"^\[start of (\S+)\]$", code, re.MULTILINE)
        pre_files = list(dict.fromkeys(re.findall(r"^diff --git a/(\S+)", "".join(line["pre_edits"]), re.MULTILINE)))
        assert shown[: len(pre_files)] == pre_files and len(shown) == len(pre_files) + 3  # then three retrieved
    assert len(list((root / ".cache" / "bm25").glob("*.npz"))) == 16
    with OracleServer(infbench_file) as oracle:
        assert main(["editbench", "run", "--dataset_name", "all", "--model", "gpt-4.1", "--run_id",
                     "0.4_body_issue_bm25_3", "--url", oracle.base_url, "--root", str(root)]) == 0  # fmt: skip
    results = root / "experiment_results" / "gpt-4.1" / "T=0" / "n=1" / "all-task-instances_0.4_body_issue_bm25_3.jsonl"
    records = {r["instance_id"]: r for r in load_records(shared_data, SNAPSHOTS)}
    _check_results(results, records, infbench)
