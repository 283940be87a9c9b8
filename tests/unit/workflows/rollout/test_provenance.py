"""Rollout stages never mix runs: kept request lines must be this run's, answers must answer this run's requests."""

from __future__ import annotations

from pathlib import Path

import pytest

from patchline.core.errors import PreconditionError
from patchline.core.spec import RolloutStage
from patchline.workflows.rollout import run_stage
from tests.fixtures.lite_repos import RequestsLite
from tests.fixtures.stages import stage
from tests.unit.workflows.rollout.helpers import answers_for, read_jsonl, write_lines

pytestmark = pytest.mark.unit


def _config(lite: RequestsLite, folder: Path, **changes: object) -> RolloutStage:
    """A BugFixer stage over ``lite`` whose files live in ``folder``; ``changes`` as :func:`stage` takes them."""
    values: dict[str, object] = {
        "workflow__type": "bugfixer",
        "dataset__source": str(lite.dataset),
        "repositories__structure_dir": str(lite.structure_dir),
        "input_file": str(folder / "batch_output_step1.jsonl"),
        "output_file": str(folder / "batch_requests_step1.jsonl"),
        "save_dir": str(folder),
    }
    values.update(changes)
    return stage(RolloutStage, **values)


def test_a_chunk_with_another_model_does_not_join_the_file(requests_lite: RequestsLite, tmp_path: Path) -> None:
    ids = sorted(requests_lite.instance_ids)
    run_stage(_config(requests_lite, tmp_path, workflow__end_file=ids[3]), "gen_step1")
    with pytest.raises(PreconditionError, match=rf"batch_requests_step1.jsonl: 3 request.*{ids[0]!r}.*--restart"):
        run_stage(_config(requests_lite, tmp_path, workflow__start_file=ids[3], model="other/model"), "gen_step1")
    run_stage(
        _config(requests_lite, tmp_path, workflow__start_file=ids[3]), "gen_step1"
    )  # the same settings: chunks add up
    assert sorted(r["custom_id"] for r in read_jsonl(tmp_path / "batch_requests_step1.jsonl")) == ids


def test_stale_passes_of_an_earlier_run_are_refused_or_restarted(requests_lite: RequestsLite, tmp_path: Path) -> None:
    run_stage(_config(requests_lite, tmp_path, sampling__samples=2), "gen_step1")
    with pytest.raises(PreconditionError, match="not among this run's requests"):
        run_stage(_config(requests_lite, tmp_path, sampling__samples=1), "gen_step1")
    run_stage(_config(requests_lite, tmp_path, sampling__samples=1, on_mismatch="restart"), "gen_step1")
    ids = {r["custom_id"] for r in read_jsonl(tmp_path / "batch_requests_step1.jsonl")}
    assert ids == set(requests_lite.instance_ids)
    assert list(tmp_path.glob("batch_requests_step1.jsonl.replaced-*"))


def test_stage_2_refuses_the_bugfixers_answers_in_a_testwriter_run(requests_lite: RequestsLite, tmp_path: Path) -> None:
    bugfixer, testwriter = tmp_path / "dsr1-bugfixer", tmp_path / "dsr1-testwriter"
    run_stage(_config(requests_lite, bugfixer), "gen_step1")
    run_stage(_config(requests_lite, testwriter, workflow__type="testwriter"), "gen_step1")
    answers = answers_for(bugfixer / "batch_requests_step1.jsonl", "```\nrequests/sessions.py\n```")
    write_lines(bugfixer / "batch_output_step1.jsonl", answers)
    stage2 = _config(
        requests_lite,
        testwriter,
        workflow__type="testwriter",
        input_file=str(bugfixer / "batch_output_step1.jsonl"),
        output_file=str(testwriter / "batch_requests_step2.jsonl"),
    )
    with pytest.raises(PreconditionError, match=r"dsr1-bugfixer/batch_output_step1.jsonl: 6 answer.*other requests"):
        run_stage(stage2, "proc_step1_gen_step2")
    assert not (testwriter / "batch_requests_step2.jsonl").exists()
    mine = _config(requests_lite, bugfixer, output_file=str(bugfixer / "batch_requests_step2.jsonl"))
    assert run_stage(mine, "proc_step1_gen_step2").written == 6  # the BugFixer's own run takes them


def test_stage_3_refuses_step_1_answers(requests_lite: RequestsLite, tmp_path: Path) -> None:
    run_stage(_config(requests_lite, tmp_path), "gen_step1")
    write_lines(
        tmp_path / "batch_output_step1.jsonl",
        answers_for(tmp_path / "batch_requests_step1.jsonl", "```\nrequests/sessions.py\n```"),
    )
    run_stage(
        _config(requests_lite, tmp_path, output_file=str(tmp_path / "batch_requests_step2.jsonl")),
        "proc_step1_gen_step2",
    )
    with pytest.raises(PreconditionError, match=r"batch_output_step1.jsonl: 6 answer.*batch_requests_step2.jsonl"):
        run_stage(_config(requests_lite, tmp_path), "proc_step2")
