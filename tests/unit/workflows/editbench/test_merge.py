"""merge-results / merge-infbench: first record wins, repos sorted, newest first, T=0 folders matched."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from patchline.cli.app import main
from patchline.core.errors import ArtifactNotFoundError, PreconditionError
from patchline.workflows.editbench.merge import ExistingMerged, merge_infbench, merge_results, repo_of_instance

pytestmark = pytest.mark.unit


def _write(path: Path, records: list[dict[str, object]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")


def _ids(path: Path) -> list[str]:
    return [json.loads(line)["instance_id"] for line in path.read_text().splitlines()]


def test_merge_results(tmp_path: Path) -> None:
    folder = tmp_path / "experiment_results" / "org/model" / "T=0" / "n=1"
    _write(folder / "django-django-task-instances_0.2.jsonl", [
        {"instance_id": "django__django-pull-1", "created_at": "2024-01-01", "model_patch": "first"},
        {"instance_id": "django__django-pull-2", "created_at": "2025-01-01"},
    ])  # fmt: skip
    _write(folder / "astropy-astropy-task-instances_0.2.jsonl", [
        {"instance_id": "astropy__astropy-pull-9", "created_at": "2023-05-05"},
        {"instance_id": "django__django-pull-1", "created_at": "2024-01-01", "model_patch": "second"},
    ])  # fmt: skip
    _write(folder / "django-django-task-instances_0.4.jsonl", [{"instance_id": "django__django-pull-1"}])
    (folder / "django-django-task-instances_0.2.jsonl").open("a").write("not json\n")
    outputs = merge_results(str(tmp_path), "org/model", temperature=0.0, n=1, run_id="0.2")
    assert [o.name for o in outputs] == ["experiment_results/org/model/T=0/n=1/all-task-instances_0.2.jsonl"]
    merged = folder / "all-task-instances_0.2.jsonl"
    assert _ids(merged) == ["astropy__astropy-pull-9", "django__django-pull-2", "django__django-pull-1"]
    first = [json.loads(x) for x in merged.read_text().splitlines()][-1]
    assert first["model_patch"] == "second"  # files in name order: astropy's file comes first
    assert outputs[0].bad_lines == 1 and outputs[0].repos == 2
    every = merge_results(str(tmp_path), "org/model")
    assert sorted(o.name.rsplit("/", 1)[1] for o in every) == [
        "all-task-instances_0.2.jsonl",
        "all-task-instances_0.4.jsonl",
    ]
    only = merge_results(
        str(tmp_path), "org/model", run_id="0.2", repos=["django/django"], existing=ExistingMerged.OVERWRITE
    )
    assert _ids(folder / "all-task-instances_0.2.jsonl") == ["django__django-pull-2", "django__django-pull-1"]
    assert only[0].repos == 1
    with pytest.raises(ArtifactNotFoundError):
        merge_results(str(tmp_path), "org/model", temperature=1.0)
    with pytest.raises(ArtifactNotFoundError):
        merge_results(str(tmp_path), "other-model")


def test_merge_infbench(tmp_path: Path) -> None:
    folder = tmp_path / "crawled_data" / "infbench"
    _write(folder / "b-b-task-instances_0.2.jsonl", [{"instance_id": "b__b-pull-1"}, {"instance_id": "a__a-pull-1"}])
    _write(folder / "a-a-task-instances_0.2.jsonl", [{"instance_id": "a__a-pull-1", "v": 1}])
    _write(folder / "a-a-task-instances_0.4.jsonl", [{"instance_id": "a__a-pull-2"}])
    out = merge_infbench(str(tmp_path), "0.2")
    assert out.records == 2 and _ids(folder / "all-task-instances_0.2.jsonl") == ["a__a-pull-1", "b__b-pull-1"]
    assert merge_infbench(str(tmp_path), "0.2").records == 2  # the merged file itself is never an input
    with pytest.raises(ArtifactNotFoundError):
        merge_infbench(str(tmp_path), "0.8")


def _infbench_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "crawled_data" / "infbench"
    records = [{"instance_id": f"a__a-pull-{i}"} for i in range(16)]
    _write(folder / "all-task-instances_0.2.jsonl", records)
    _write(folder / "a-a-task-instances_0.2.jsonl", records[:3] + [{"instance_id": "b__b-pull-1"}])
    return folder


def test_a_different_merged_file_is_not_replaced_silently(tmp_path: Path) -> None:
    folder = _infbench_folder(tmp_path)
    before = (folder / "all-task-instances_0.2.jsonl").read_bytes()
    with pytest.raises(PreconditionError, match=r"16 records there, 4 in the merge.*--overwrite.*--merge-existing"):
        merge_infbench(str(tmp_path), "0.2")
    assert (folder / "all-task-instances_0.2.jsonl").read_bytes() == before
    assert sorted(p.name for p in folder.iterdir()) == ["a-a-task-instances_0.2.jsonl", "all-task-instances_0.2.jsonl"]


def test_merging_into_an_existing_file_keeps_its_other_records(tmp_path: Path) -> None:
    folder = _infbench_folder(tmp_path)
    out = merge_infbench(str(tmp_path), "0.2", existing=ExistingMerged.MERGE)
    assert (out.action, out.previous_records, out.records) == ("merged", 16, 17)
    ids = _ids(folder / "all-task-instances_0.2.jsonl")
    assert ids[:4] == ["a__a-pull-0", "a__a-pull-1", "a__a-pull-2", "b__b-pull-1"] and len(set(ids)) == 17
    again = merge_infbench(str(tmp_path), "0.2", existing=ExistingMerged.MERGE)
    assert again.action == "unchanged"


def test_merge_commands_say_what_they_did(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = _infbench_folder(tmp_path)
    assert main(["editbench", "merge-infbench", "--condition", "0.2", "--root", str(tmp_path)]) == 4
    assert "--overwrite" in capsys.readouterr().err
    assert main(["editbench", "merge-infbench", "--condition", "0.2", "--root", str(tmp_path), "--overwrite"]) == 0
    assert "replaced (had 16 records): 4 records" in capsys.readouterr().out
    assert len(_ids(folder / "all-task-instances_0.2.jsonl")) == 4
    results = tmp_path / "experiment_results" / "m" / "T=0" / "n=1"
    _write(results / "a-a-task-instances_0.2.jsonl", [{"instance_id": "a__a-pull-1"}])
    _write(results / "all-task-instances_0.2.jsonl", [{"instance_id": "z__z-pull-1"}])
    assert main(["editbench", "merge-results", "--model-name", "m", "--root", str(tmp_path)]) == 4
    capsys.readouterr()
    assert main(["editbench", "merge-results", "--model-name", "m", "--root", str(tmp_path), "--merge-existing"]) == 0
    assert "merged (had 1 records): 2 records" in capsys.readouterr().out


def test_repo_of_instance() -> None:
    assert repo_of_instance("scikit-learn__scikit-learn-pull-30380") == "scikit-learn/scikit-learn"
    assert repo_of_instance("weird") == "unknown"
