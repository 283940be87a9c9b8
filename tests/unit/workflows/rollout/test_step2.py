"""Stage 2: step-1 answers (good, failed, empty, hostile, repeated) become requests or failure records."""

from __future__ import annotations

from pathlib import Path

import pytest

from patchline.core.spec import RolloutStage
from patchline.workflows.rollout import run_stage
from tests.fixtures.lite_repos import RequestsLite
from tests.fixtures.stages import stage
from tests.unit.workflows.rollout.helpers import failed_line, ok_line, read_jsonl, write_lines

pytestmark = pytest.mark.unit


def _run(lite: RequestsLite, out: Path, lines: list[str], **kw: object) -> tuple[list[dict], dict[str, str]]:  # type: ignore[type-arg]
    write_lines(out / "batch_output_step1.jsonl", lines)
    config = stage(
        RolloutStage,
        workflow__type=kw.pop("workflow__type", "bugfixer"),  # type: ignore[arg-type]
        dataset__source=str(lite.dataset),
        repositories__structure_dir=str(lite.structure_dir),
        input_file=str(out / "batch_output_step1.jsonl"),
        output_file=str(out / "batch_requests_step2.jsonl"),
        **kw,  # type: ignore[arg-type]
    )
    run_stage(config, "proc_step1_gen_step2")
    failures = {f["custom_id"]: f["reason"] for f in read_jsonl(out / "failures.jsonl")}
    return read_jsonl(out / "batch_requests_step2.jsonl"), failures


def test_bugfixer_requests_and_failures(requests_lite: RequestsLite, tmp_path: Path) -> None:
    a, b, c, d, e, f = requests_lite.instance_ids
    lines = [
        ok_line(f"{a}__pass0", "```\nrequests/sessions.py\nrequests/models.py\n```"),
        ok_line(f"{a}__pass1", "```\nsessions.py\n/etc/passwd\n../requests/api.py\nrequests/sessions.py\n```"),
        failed_line(f"{b}__pass0"),
        ok_line(f"{c}__pass0", ""),
        ok_line(f"{d}__pass0", None, reasoning="thinking until the budget ran out"),
        ok_line("not_in_lite__pass0", "requests/api.py"),
        "{not json",
        ok_line(f"{e}__pass0", "nothing useful"),
        failed_line(f"{f}__pass0", 0),
        ok_line(f"{f}__pass0", "requests/api.py"),  # a later line (a retry) replaces the failure
    ]
    requests, failures = _run(requests_lite, tmp_path, lines, workflow__num_workers=2)
    by_id = {r["custom_id"]: r for r in requests}
    assert sorted(by_id) == sorted([f"{a}__pass0", f"{a}__pass1", f"{f}__pass0"])
    prompt = by_id[f"{a}__pass0"]["body"]["messages"][0]["content"]
    assert prompt.index("requests/sessions.py\n") < prompt.index("requests/models.py\n")
    assert "<<<<<<< SEARCH" in prompt and "Issue reproduced" not in prompt
    assert "\nclass Session(" in prompt  # whole files
    assert failures == {
        f"{b}__pass0": "step1_request_failed",
        f"{c}__pass0": "no_files_found",
        f"{d}__pass0": "no_files_found",
        "not_in_lite__pass0": "instance_not_found",
        f"{e}__pass0": "no_files_found",
    }
    lone = by_id[f"{a}__pass1"]["body"]["messages"][0]["content"]
    assert (
        "requests/sessions.py\n" in lone
        and "requests/api.py\n" not in lone
        and "passwd" not in lone.split("--- END ISSUE ---")[1]
    )


def test_path_correction_keeps_answer_order(requests_lite: RequestsLite, tmp_path: Path) -> None:
    iid = requests_lite.instance_ids[0]
    lines = [ok_line(iid, "```\nmodels.py\n/etc/passwd\n../requests/api.py\nrequests/sessions.py\nmodels.py\n```")]
    requests, failures = _run(requests_lite, tmp_path, lines)
    prompt = requests[0]["body"]["messages"][0]["content"]
    assert failures == {}
    assert prompt.index("requests/models.py\n") < prompt.index("requests/sessions.py\n")
    assert prompt.count("\nrequests/models.py\n") == 1 and "requests/api.py\n" not in prompt


def test_testwriter_takes_first_test_file_or_fails(requests_lite: RequestsLite, tmp_path: Path) -> None:
    a, b = requests_lite.instance_ids[:2]
    lines = [
        ok_line(f"{a}__pass0", "requests/models.py\ntests/test_requests.py\n"),
        ok_line(f"{a}__pass1", "requests/models.py\n"),
        ok_line(f"{b}__pass0", "tests/test_requests.py"),
    ]
    requests, failures = _run(requests_lite, tmp_path, lines, workflow__type="testwriter")
    assert failures == {f"{a}__pass1": "no_test_files_found"}
    prompt = requests[0]["body"]["messages"][0]["content"]
    assert "tests/test_requests.py\n" in prompt and "requests/models.py\n" not in prompt
    assert "Issue reproduced" in prompt and "<<<<<<< SEARCH" in prompt
    temps = {r["custom_id"]: r["body"]["temperature"] for r in requests}
    assert temps == {f"{a}__pass0": 0.0, f"{b}__pass0": 0.0}


def test_rerun_replaces_requests_and_failures(requests_lite: RequestsLite, tmp_path: Path) -> None:
    iid = requests_lite.instance_ids[0]
    _run(requests_lite, tmp_path, [failed_line(iid)])
    requests, failures = _run(requests_lite, tmp_path, [ok_line(iid, "requests/api.py")])
    assert [r["custom_id"] for r in requests] == [iid] and failures == {}
    requests, failures = _run(requests_lite, tmp_path, [ok_line(iid, "requests/api.py")])
    assert len(requests) == 1
    requests, failures = _run(requests_lite, tmp_path, [ok_line(iid, "")])
    assert requests == [] and failures == {iid: "no_files_found"}
