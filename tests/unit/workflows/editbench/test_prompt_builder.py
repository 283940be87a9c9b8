"""Building infbench files from real histories: oracle and BM25 context, skipped instances, resume, naming."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from rank_bm25 import BM25Okapi

from patchline.core.errors import InputError, UnsafePathError
from patchline.core.repos import GitSnapshot
from patchline.core.spec import EditBenchStage, EditBenchWorkflow
from patchline.retrieval import tokenize
from patchline.workflows.editbench.context import find_checkout
from patchline.workflows.editbench.prompt_builder import build_infbench, compat_save_path
from tests.fixtures.stages import stage
from tests.unit.workflows.editbench.helpers import SNAPSHOTS, load_records, make_repository

pytestmark = pytest.mark.unit

_BLOCK = re.compile(r"^\[start of ([^\]]+)\]$", re.MULTILINE)


def _shown(prompt: str) -> list[str]:
    return _BLOCK.findall(prompt.split("<code>\n", 1)[1].split("\n</code>", 1)[0])


def _bench(tmp_path: Path, records: list[dict[str, Any]]) -> Path:
    path = tmp_path / "bench.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path


def _read(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_oracle_build_skips_broken_instances_and_resumes(shared_data: Path, tmp_path: Path) -> None:
    records = load_records(shared_data, SNAPSHOTS)
    records[0] = {**records[0], "title_mes": "Deprecate units", "body_mes": "<!-- tmpl -->\r\nBody text\r\n"}
    broken = {**records[1], "instance_id": "astropy__astropy-pull-1", "file_snapshots": [
        {**s, "original": "something else\n"} for s in records[1]["file_snapshots"]
    ]}  # fmt: skip
    bench = _bench(tmp_path, [*records, broken])
    save = tmp_path / "out" / "all-task-instances_0.4.jsonl"
    summary = build_infbench(stage(EditBenchStage, dataset__source=str(bench), workflow__info_pct=0.4), str(save))
    assert summary.written == 16 and [iid for iid, _ in summary.failed] == ["astropy__astropy-pull-1"]
    assert "does not apply" in summary.failed[0][1]
    lines = _read(save)
    assert [r["instance_id"] for r in lines] == [r["instance_id"] for r in records]
    first = lines[0]
    assert first["prompt"].split("\n", 2)[1] == "<requirement>"
    assert "Deprecate units\nBody text\n</requirement>" in first["prompt"]
    for line, record in zip(lines, records, strict=True):
        assert line["split_idx"] == len(line["pre_edits"]) >= 1
        assert line["ground_truth"].startswith("diff --git") and line["num_changes"] == record["num_steps"]
        shown = _shown(line["prompt"])
        assert shown == [p for p in record["files_work"] if p in shown] and shown
        assert "[start of step 1]" in line["prompt"] and "<patch>" in line["prompt"]
    again = build_infbench(stage(EditBenchStage, dataset__source=str(bench), workflow__info_pct=0.4), str(save))
    assert again.written == 0 and again.already_there == 16 and len(again.failed) == 1
    assert len(_read(save)) == 16


def test_bm25_context_is_pre_edit_files_then_top_n(shared_data: Path, tmp_path: Path) -> None:
    record = load_records(shared_data, SNAPSHOTS)[2]  # django, 5 steps
    import click

    extra = {f"vendor/click/{p.name}": p.read_text(encoding="utf-8") for p in Path(click.__file__).parent.glob("*.py")}
    owner, name = record["repo"].split("/")
    commit = make_repository(tmp_path / "repos" / f"{owner}__{name}", record, extra)
    bench = _bench(tmp_path, [{**record, "base_commit": commit}])
    save = tmp_path / "bm25.jsonl"
    settings = stage(
        EditBenchStage,
        dataset__source=str(bench),
        workflow__info_pct=0.4,
        workflow__use_bm25=True,
        workflow__topn=3,
        repositories__repo_root=str(tmp_path / "repos"),
    )
    summary = build_infbench(settings, str(save), cache_root=str(tmp_path))
    assert summary.written == 1, summary.failed
    line = _read(save)[0]
    shown = _shown(line["prompt"])
    pre_files = list(dict.fromkeys(re.findall(r"^diff --git a/(\S+)", "\n".join(line["pre_edits"]), re.MULTILINE)))
    assert shown[: len(pre_files)] == pre_files and len(shown) == len(pre_files) + 3
    snapshot = GitSnapshot(tmp_path / "repos" / f"{owner}__{name}", commit)
    docs = [(p, t) for p, t in snapshot.iter_texts() if p.endswith(".py") and p not in pre_files]
    scores = BM25Okapi([tokenize(t) for _, t in docs]).get_scores(tokenize("\n".join(line["pre_edits"])))
    best = sorted(range(len(docs)), key=lambda i: scores[i], reverse=True)[:3]
    assert shown[len(pre_files) :] == [docs[i][0] for i in best]
    snapshot.close()
    assert list((tmp_path / ".cache" / "bm25").glob("*.npz"))


def _bm25_settings(bench: Path, repo_root: Path | None) -> EditBenchStage:
    root = {"repositories__repo_root": str(repo_root)} if repo_root else {}
    return stage(EditBenchStage, dataset__source=str(bench), workflow__info_pct=0.4, workflow__use_bm25=True, **root)


def test_bm25_on_histories_without_base_commit_is_refused_before_any_prompt(shared_data: Path, tmp_path: Path) -> None:
    """The shared histories have no base_commit: BM25 cannot rank their repository, so nothing starts."""
    bench = shared_data / "editbench_realistic" / "work_patch_list_reconstructed.jsonl"
    save = tmp_path / "o.jsonl"
    with pytest.raises(InputError) as raised:
        build_infbench(_bm25_settings(bench, tmp_path / "repos"), str(save))
    first = load_records(shared_data, "editbench_realistic/work_patch_list_reconstructed.jsonl")[0]["instance_id"]
    message = str(raised.value)
    assert "\n" not in message and f"(first: {first}: it has no base_commit)" in message
    assert "478 of 478 selected instances" in message and "set useBm25: false" in message
    assert not save.exists()  # refused before the output was opened


def test_bm25_refuses_a_missing_checkout_or_commit_even_when_other_instances_have_theirs(
    shared_data: Path, tmp_path: Path
) -> None:
    records = load_records(shared_data, SNAPSHOTS)[2:4]
    owner, name = records[0]["repo"].split("/")
    commit = make_repository(tmp_path / "repos" / f"{owner}__{name}", records[0], {})
    ready = {**records[0], "base_commit": commit}
    elsewhere = {**records[1], "repo": "nobody/nowhere", "base_commit": commit}
    unknown = {**records[1], "instance_id": "x__y-pull-1", "repo": records[0]["repo"], "base_commit": "0" * 40}
    for other, reason in [
        (elsewhere, f"no checkout of nobody/nowhere below {tmp_path / 'repos'}"),
        (unknown, "no commit '" + "0" * 40 + "'"),
    ]:
        bench = _bench(tmp_path, [ready, other])
        with pytest.raises(InputError) as raised:
            build_infbench(_bm25_settings(bench, tmp_path / "repos"), str(tmp_path / "o.jsonl"))
        assert f"1 of 2 selected instances have none (first: {other['instance_id']}: " in str(raised.value)
        assert reason in str(raised.value)
    without_root = _bench(tmp_path, [ready])
    with pytest.raises(InputError, match="repoRoot"):
        build_infbench(_bm25_settings(without_root, None), str(tmp_path / "o.jsonl"))
    summary = build_infbench(_bm25_settings(without_root, tmp_path / "repos"), str(tmp_path / "o.jsonl"))
    assert summary.written == 1 and not summary.failed  # the same line with its checkout builds


def test_compat_save_path_reproduces_the_original_names() -> None:
    base = "infbench/all-task-instances.jsonl"
    assert compat_save_path(base, EditBenchWorkflow(info_pct=0.2)) == "infbench/all-task-instances_0.2_body_issue.jsonl"
    assert (
        compat_save_path(base, EditBenchWorkflow(info_pct=0.2, use_pr_mes=False))
        == "infbench/all-task-instances_0.2.jsonl"
    )
    assert (
        compat_save_path(base, EditBenchWorkflow(info_pct=0.2, use_issue_mes=False, use_bm25=True, topn=5))
        == "infbench/all-task-instances_0.2_body_issue_bm25_5.jsonl"
    )


def test_repository_names_from_data_stay_below_the_root(tmp_path: Path) -> None:
    (tmp_path / "repos" / "org__proj").mkdir(parents=True)
    (tmp_path / "outside").mkdir()
    assert find_checkout(str(tmp_path / "repos"), "org/proj") == tmp_path / "repos" / "org__proj"
    assert find_checkout(str(tmp_path / "repos"), "org/missing") is None
    with pytest.raises(UnsafePathError):
        find_checkout(str(tmp_path / "repos"), "../outside")
