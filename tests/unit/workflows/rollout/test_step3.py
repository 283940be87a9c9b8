"""Stage 3: samples, per-pass files, output.jsonl, predictions, failures; reruns and chunks replace, never duplicate."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from patchline.core.errors import InputError
from patchline.core.spec import RolloutStage
from patchline.core.structure import structure_file_name
from patchline.workflows.rollout import run_stage
from tests.fixtures.lite_repos import TEST_MODULE, RequestsLite
from tests.fixtures.stages import stage
from tests.unit.workflows.rollout.helpers import failed_line, ok_line, read_jsonl, write_lines

pytestmark = pytest.mark.unit


def _edit(path: str, search: str, replace: str) -> str:
    return f"```python\n### {path}\n<<<<<<< SEARCH\n{search}\n=======\n{replace}\n>>>>>>> REPLACE\n```\n"


def _config(lite: RequestsLite, out: Path, **kw: object) -> RolloutStage:
    return stage(
        RolloutStage,
        workflow__type=kw.pop("workflow__type", "bugfixer"),  # type: ignore[arg-type]
        dataset__source=kw.pop("dataset__source", str(lite.dataset)),  # type: ignore[arg-type]
        repositories__structure_dir=kw.pop("repositories__structure_dir", str(lite.structure_dir)),  # type: ignore[arg-type]
        input_file=str(out / "batch_output_step2.jsonl"),
        save_dir=kw.pop("save_dir", str(out)),  # type: ignore[arg-type]
        **kw,  # type: ignore[arg-type]
    )


def _snapshot(out: Path) -> dict[str, bytes]:
    return {
        p.relative_to(out).as_posix(): p.read_bytes()
        for p in sorted(out.rglob("*"))
        if p.is_file() and "batch_" not in p.name
    }


@pytest.fixture
def bugfixer_answers(requests_lite: RequestsLite) -> list[str]:
    a, b, c = requests_lite.instance_ids[:3]
    return [
        ok_line(f"{a}__pass0", _edit("requests/sessions.py", "import os", "import os  # patched")),
        ok_line(f"{a}__pass1", "no idea"),
        failed_line(f"{b}__pass0"),
        ok_line(
            f"{c}__pass0",
            "<think>```\nnot this\n```</think>"
            + _edit("requests/api.py", "from . import sessions", "from . import sessions  # c"),
        ),
    ]


def test_bugfixer_outputs(requests_lite: RequestsLite, tmp_path: Path, bugfixer_answers: list[str]) -> None:
    a, b, c = requests_lite.instance_ids[:3]
    write_lines(tmp_path / "batch_output_step2.jsonl", bugfixer_answers)
    summary = run_stage(_config(requests_lite, tmp_path, workflow__num_workers=2), "proc_step2")
    assert summary.written == 3 and dict(summary.failures) == {"step2_request_failed": 1}
    sample = json.loads((tmp_path / "samples" / f"{a}__pass0.jsonl").read_text())
    assert set(sample) >= {"instance_id", "model_patch", "search_replace_text", "raw_output", "gt_results"}
    assert sample["model_patch"].count("diff --git a/requests/sessions.py b/requests/sessions.py") == 1
    assert sample["gt_results"]["gt_patch"].startswith("diff --git")
    pass0 = read_jsonl(tmp_path / "output_0_processed.jsonl")
    assert sorted(r["instance_id"] for r in pass0) == sorted([a, c])
    assert set(pass0[0]) == {
        "model_name_or_path",
        "instance_id",
        "model_patch",
        "raw_model_patch",
        "original_file_content",
        "edited_files",
        "new_file_content",
    }
    assert read_jsonl(tmp_path / "output_1_processed.jsonl")[0]["model_patch"] == ""
    assert sorted((r["custom_id"], r["pass"]) for r in read_jsonl(tmp_path / "output.jsonl")) == [
        (f"{a}__pass0", 0),
        (f"{a}__pass1", 1),
        (f"{c}__pass0", 0),
    ]
    predictions = {p["instance_id"]: p for p in read_jsonl(tmp_path / "predictions.jsonl")}
    assert sorted(predictions) == sorted([a, b, c]) and "# patched" in predictions[a]["model_patch"]
    assert predictions[a]["model_name_or_path"] == "m" and predictions[b]["model_patch"] == ""  # every instance listed
    table = {(r["instance_id"], r["sample"]): r for r in read_jsonl(tmp_path / "samples.jsonl")}
    assert table[(b, 0)]["status"] == "failed: step2_request_failed" and table[(a, 1)]["status"] == "no_edits"
    assert table[(a, 0)]["valid"] and table[(a, 0)]["normalization"] == "normalized"  # a comment: empty form
    assert table[(a, 0)]["normalized_patch"] == ""
    selection = {r["instance_id"]: r for r in read_jsonl(tmp_path / "selection.jsonl")}
    assert selection[a]["strategy"] == "first-nonempty" and selection[a]["chosen_sample"] == 0
    assert read_jsonl(tmp_path / "failures.jsonl") == [
        {
            "status": "failed",
            "reason": "step2_request_failed",
            "custom_id": f"{b}__pass0",
            "stage": "proc_step2",
            "details": "500: server_error: boom",
        }
    ]


def test_bugfixer_rerun_is_idempotent_and_replaces(
    requests_lite: RequestsLite, tmp_path: Path, bugfixer_answers: list[str]
) -> None:
    a, b = requests_lite.instance_ids[:2]
    write_lines(tmp_path / "batch_output_step2.jsonl", bugfixer_answers)
    run_stage(_config(requests_lite, tmp_path), "proc_step2")
    first = _snapshot(tmp_path)
    run_stage(_config(requests_lite, tmp_path), "proc_step2")
    assert _snapshot(tmp_path) == first
    # The executor's rerun appended new lines: a's pass 0 now failed, b's pass 0 now answered.
    write_lines(
        tmp_path / "batch_output_step2.jsonl",
        [*bugfixer_answers, failed_line(f"{a}__pass0", 400), ok_line(f"{b}__pass0", "x")],
    )
    run_stage(_config(requests_lite, tmp_path), "proc_step2")
    assert not (tmp_path / "samples" / f"{a}__pass0.jsonl").exists()
    failures = {f["custom_id"]: f["reason"] for f in read_jsonl(tmp_path / "failures.jsonl")}
    assert failures == {f"{a}__pass0": "step2_request_failed"}
    predictions = {p["instance_id"]: p for p in read_jsonl(tmp_path / "predictions.jsonl")}
    assert predictions[a]["model_patch"] == ""  # falls back to pass 1
    assert len(read_jsonl(tmp_path / "output.jsonl")) == 3


def test_bugfixer_chunks_add_up(requests_lite: RequestsLite, tmp_path: Path, bugfixer_answers: list[str]) -> None:
    whole, chunks = tmp_path / "whole", tmp_path / "chunks"
    for out in (whole, chunks):
        write_lines(out / "batch_output_step2.jsonl", bugfixer_answers)
    run_stage(_config(requests_lite, whole), "proc_step2")
    run_stage(_config(requests_lite, chunks, workflow__start_file="0", workflow__end_file="2"), "proc_step2")
    run_stage(_config(requests_lite, chunks, workflow__start_file="2"), "proc_step2")
    assert _snapshot(chunks) == _snapshot(whole)


def test_testwriter_outputs_and_failures(requests_lite: RequestsLite, tmp_path: Path) -> None:
    a, b, c, d = requests_lite.instance_ids[:4]
    write_lines(
        tmp_path / "batch_output_step1.jsonl",
        [
            ok_line(f"{a}__pass0", "```\nrequests/models.py\ntests/test_requests.py\n```"),
            ok_line(f"{a}__pass1", "requests/models.py"),
            failed_line(f"{c}__pass0"),
            ok_line(f"{d}__pass0", "tests/test_requests.py"),
        ],
    )
    new_test = (
        "from requests.models import Request\nfrom .helpers import slow\n\n\n"
        "def test_issue():\n    print('Issue reproduced')"
    )
    write_lines(
        tmp_path / "batch_output_step2.jsonl",
        [
            ok_line(f"{a}__pass0", _edit("tests/test_requests.py", "from requests.models import Request", new_test)),
            ok_line(f"{a}__pass1", "x"),
            ok_line(f"{b}__pass0", "x"),
            ok_line(f"{c}__pass0", "x"),
            failed_line(f"{d}__pass0"),
        ],
    )
    config = _config(
        requests_lite, tmp_path, workflow__type="testwriter", step1_file=str(tmp_path / "batch_output_step1.jsonl")
    )
    run_stage(config, "proc_step2")
    failures = {f["custom_id"]: f["reason"] for f in read_jsonl(tmp_path / "failures.jsonl")}
    assert failures == {
        f"{a}__pass1": "no_test_files_found",
        f"{b}__pass0": "step1_answer_missing",
        f"{c}__pass0": "step1_request_failed",
        f"{d}__pass0": "step2_request_failed",
    }
    [record] = read_jsonl(tmp_path / "output_0_processed_reproduction_test.jsonl")
    assert set(record) == {
        "model_name_or_path",
        "instance_id",
        "test_patch",
        "raw_test_patch",
        "test_func_name",
        "original_file_content",
    }
    assert record["instance_id"] == a and record["test_func_name"] == "test_issue"
    assert record["original_file_content"] == TEST_MODULE
    patch = record["test_patch"]
    assert patch.startswith("diff --git a/reproduce_bug.py b/reproduce_bug.py\nnew file mode 100644\n")
    assert "--- /dev/null\n+++ b/reproduce_bug.py\n" in patch
    assert "+from tests.helpers import slow\n" in patch and "+# a comment that must survive\n" in patch
    assert '+if __name__ == "__main__":\n' in patch and record["raw_test_patch"].startswith("```python\n")
    assert not (tmp_path / "predictions.jsonl").exists() and not (tmp_path / "predictions").exists()
    # The reproduction tests are samples too: a new file that applies and parses, in the table with its verdicts.
    table = {(r["instance_id"], r["sample"]): r for r in read_jsonl(tmp_path / "samples.jsonl")}
    assert table[(a, 0)]["valid"] and table[(a, 0)]["edited_files"] == ["reproduce_bug.py"]
    assert table[(a, 1)]["status"] == "failed: no_test_files_found" and not table[(a, 1)]["valid"]
    [chosen] = [r for r in read_jsonl(tmp_path / "selection.jsonl") if r["instance_id"] == a]
    assert chosen["chosen_sample"] == 0 and chosen["strategy"] == "first-nonempty"


def test_missing_settings_are_input_errors(requests_lite: RequestsLite, tmp_path: Path) -> None:
    write_lines(tmp_path / "batch_output_step2.jsonl", [ok_line("x", "y")])
    with pytest.raises(InputError, match="step1_file"):
        run_stage(_config(requests_lite, tmp_path, workflow__type="testwriter"), "proc_step2")
    with pytest.raises(InputError, match="save_dir"):
        run_stage(_config(requests_lite, tmp_path, save_dir=None), "proc_step2")
    with pytest.raises(InputError, match="unknown stage"):
        run_stage(_config(requests_lite, tmp_path), "gen_step3")


def test_hostile_custom_ids_fail_alone_and_the_stage_finishes(
    requests_lite: RequestsLite, tmp_path: Path, bugfixer_answers: list[str]
) -> None:
    a = requests_lite.instance_ids[0]
    hostile = [
        f"{a}/../../escape__pass0",
        f"{a}__pass{'9' * 300}",
        f"{a}__pass{'9' * 5000}",
        "../" + "x" * 400,
        f".tmp-abcdefgh-{a}__pass0",
    ]
    lines = [ok_line(custom_id, _edit("requests/api.py", "import os", "import sys")) for custom_id in hostile]
    write_lines(tmp_path / "batch_output_step2.jsonl", [*lines, *bugfixer_answers])
    summary = run_stage(_config(requests_lite, tmp_path), "proc_step2")
    assert summary.items == len(hostile) + 4 and summary.written == 3
    assert dict(summary.failures) == {"instance_not_found": len(hostile), "step2_request_failed": 1}
    failures = {f["custom_id"]: f["reason"] for f in read_jsonl(tmp_path / "failures.jsonl")}
    assert all(failures[custom_id] == "instance_not_found" for custom_id in hostile)
    assert len(read_jsonl(tmp_path / "output.jsonl")) == 3 and (tmp_path / "predictions.jsonl").exists()
    assert all(p.parent == tmp_path / "samples" for p in (tmp_path / "samples").iterdir())
    assert not (tmp_path.parent / "escape__pass0.jsonl").exists()


def test_a_real_instance_with_an_id_too_long_for_a_file_name(requests_lite: RequestsLite, tmp_path: Path) -> None:
    a = requests_lite.instance_ids[0]
    long_id = a + "-" + "9" * 290
    rows = [json.loads(line) for line in requests_lite.dataset.read_text().splitlines()]
    row = next(r for r in rows if r["instance_id"] == a)
    dataset = write_lines(tmp_path / "dataset.jsonl", [json.dumps(r) for r in [*rows, {**row, "instance_id": long_id}]])
    structures = tmp_path / "structures"
    shutil.copytree(requests_lite.structure_dir, structures)
    shutil.copy(structures / f"{a}.json", structures / structure_file_name(long_id))
    answer = ok_line(
        f"{long_id}__pass1", _edit("requests/api.py", "from . import sessions", "from . import sessions  # x")
    )
    write_lines(tmp_path / "batch_output_step2.jsonl", [answer])
    config = _config(requests_lite, tmp_path, dataset__source=str(dataset), repositories__structure_dir=str(structures))
    summary = run_stage(config, "proc_step2")
    assert summary.written == 1 and summary.failed == 0
    [sample] = list((tmp_path / "samples").iterdir())
    assert len(sample.name) < 120 and json.loads(sample.read_text())["custom_id"] == f"{long_id}__pass1"
    assert [r["instance_id"] for r in read_jsonl(tmp_path / "output_1_processed.jsonl")] == [long_id]
    assert "# x" in read_jsonl(tmp_path / "predictions.jsonl")[0]["model_patch"]
