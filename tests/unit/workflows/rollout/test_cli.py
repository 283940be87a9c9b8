"""``patchline rollout``: the stage as --stage or positional, flags of the seed README, errors as exit codes."""

from __future__ import annotations

from pathlib import Path

import pytest

from patchline.cli.app import main
from tests.fixtures.lite_repos import RequestsLite
from tests.unit.workflows.rollout.helpers import read_jsonl

pytestmark = pytest.mark.unit


def _args(lite: RequestsLite, out: Path) -> list[str]:
    return ["--dataset", str(lite.dataset), "--repostructure_dir", str(lite.structure_dir), "--output_file", str(out)]


def test_stage_flag_and_positional_give_the_same_file(requests_lite: RequestsLite, tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    flag, positional = tmp_path / "a" / "req.jsonl", tmp_path / "b" / "req.jsonl"
    common = ["--model_name", "m", "--temp", "0.5", "--passk", "2", "--enable_thinking", "--thinking_budget", "100"]
    assert main(["rollout", "bugfixer", "--stage", "gen_step1", *_args(requests_lite, flag), *common]) == 0
    assert main(["rollout", "bugfixer", "gen_step1", *_args(requests_lite, positional), *common]) == 0
    assert flag.read_text() == positional.read_text()
    records = read_jsonl(flag)
    assert len(records) == 2 * len(requests_lite.instance_ids)
    assert records[0]["body"]["thinking_budget"] == 100 and records[0]["body"]["temperature"] == 0.5
    assert "gen_step1: 6 instances, 12 custom_ids: 12 written, 0 failed" in capsys.readouterr().out


@pytest.mark.parametrize(
    "argv",
    [
        ["rollout", "bugfixer"],
        ["rollout", "bugfixer", "gen_step1", "--stage", "proc_step2"],
    ],
)
def test_stage_missing_or_twice_is_exit_2(requests_lite: RequestsLite, tmp_path: Path, argv: list[str], capsys) -> None:  # type: ignore[no-untyped-def]
    assert main([*argv, *_args(requests_lite, tmp_path / "r.jsonl")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("patchline: error:") and "Traceback" not in err


def test_missing_flags_and_inputs_are_exit_codes(requests_lite: RequestsLite, tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    base = [
        "rollout",
        "testwriter",
        "--dataset",
        str(requests_lite.dataset),
        "--repostructure_dir",
        str(requests_lite.structure_dir),
    ]
    assert main([*base, "--stage", "gen_step1"]) == 2
    assert "--output_file" in capsys.readouterr().err
    assert (
        main(
            [
                *base,
                "proc_step1_gen_step2",
                "--input_file",
                str(tmp_path / "none.jsonl"),
                "--output_file",
                str(tmp_path / "o.jsonl"),
            ]
        )
        == 3
    )
    assert (
        main(["rollout", "bugfixer", "gen_step1", "--dataset", str(requests_lite.dataset), "--output_file", "x"]) == 2
    )
    assert "--repostructure_dir" in capsys.readouterr().err


def _stage(lite: RequestsLite, folder: Path, stage: str, answers: str, *extra: str) -> list[str]:
    return [
        "rollout", "bugfixer", stage, "--dataset", str(lite.dataset), "--repostructure_dir", str(lite.structure_dir),
        "--input_file", str(folder / answers), "--output_file", str(folder / "batch_requests_step2.jsonl"),
        "--save_dir", str(folder), *extra,
    ]  # fmt: skip


def test_a_stage_that_does_nothing_useful_says_why_and_exits_non_zero(
    requests_lite: RequestsLite, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from tests.unit.workflows.rollout.helpers import failed_line, ok_line, write_lines

    ids = requests_lite.instance_ids
    write_lines(tmp_path / "empty.jsonl", [])
    assert main(_stage(requests_lite, tmp_path, "proc_step1_gen_step2", "empty.jsonl")) == 2
    assert "nothing to do" in capsys.readouterr().err
    write_lines(tmp_path / "failed.jsonl", [failed_line(i, 0) for i in ids] + ["{broken"])
    assert main(_stage(requests_lite, tmp_path, "proc_step1_gen_step2", "failed.jsonl")) == 1
    captured = capsys.readouterr()
    assert "proc_step1_gen_step2: 6 answers (+1 unreadable input line, skipped): 0 written, 6 failed" in captured.out
    [error] = [line for line in captured.err.splitlines() if line.startswith("patchline: error:")]
    assert "nothing written: all 6 failed (step1_request_failed=6); first: " in error and ids[0] in error
    step1_answers = [ok_line(i, "```\nrequests/sessions.py\n```") for i in ids]
    write_lines(tmp_path / "batch_output_step1.jsonl", step1_answers)
    assert main(_stage(requests_lite, tmp_path, "proc_step2", "batch_output_step1.jsonl")) == 4
    assert "none of the 6 answers" in capsys.readouterr().err


def test_custom_ids_that_are_no_rollout_ids_get_their_own_reason(requests_lite: RequestsLite, tmp_path: Path) -> None:
    from tests.unit.workflows.rollout.helpers import ok_line, write_lines

    a = requests_lite.instance_ids[0]
    answers = [ok_line(f"{a}|0", "requests/api.py"), ok_line("nobody__x-1__pass3", "x"), ok_line("nobody__x-1", "x")]
    write_lines(tmp_path / "answers.jsonl", answers)
    main(_stage(requests_lite, tmp_path, "proc_step1_gen_step2", "answers.jsonl", "--passk", "2"))
    failures = {r["custom_id"]: (r["reason"], r["details"]) for r in read_jsonl(tmp_path / "failures.jsonl")}
    assert failures[f"{a}|0"][0] == "bad_custom_id" and "Agentless sample id" in failures[f"{a}|0"][1]
    assert failures["nobody__x-1__pass3"] == ("bad_custom_id", "'nobody__x-1__pass3' names pass 3, but --passk is 2")
    assert failures["nobody__x-1"] == ("instance_not_found", "instance 'nobody__x-1' is not in the dataset")
