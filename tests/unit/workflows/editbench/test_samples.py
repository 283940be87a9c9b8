"""EditBench samples: each of an answer's ``n`` choices is a row of the table, checked against the prompt's code.

The prompt's code is a real history's original files (../shared/data/editbench_realistic); the three
choices of the answer are the same fix twice (once with a comment) and a diff that does not apply, so the
table's verdicts, the vote and the selection files beside the result file are checked on real shapes.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from patchline.core.batch import ResponseLine
from patchline.core.layout import editbench_sample_files
from patchline.core.spec import Sampling, Selection
from patchline.edits import render_patch
from patchline.workflows.editbench import EditBenchRun, PromptTemplates, render_prompt
from tests.unit.workflows.editbench.helpers import SNAPSHOTS, load_records, originals

pytestmark = pytest.mark.unit


def _records(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def _diff_answer(path: str, old: str, new: str) -> str:
    return "The next edit:\n```diff\n" + render_patch({path: (old, new)}) + "```\n"


def test_every_choice_is_a_row_and_the_vote_picks_the_fix(shared_data: Path, tmp_path: Path) -> None:
    record = load_records(shared_data, SNAPSHOTS)[0]
    files = {p: t for p, t in originals(record).items() if t is not None}
    path, old = next(iter(files.items()))
    first_line = old.splitlines()[0]
    fix = old.replace(first_line, first_line + "\nimport warnings", 1)
    fix_commented = old.replace(first_line, first_line + "\nimport warnings  # for the deprecation", 1)
    stale = _diff_answer(path, old.replace(first_line, "# not the file", 1), fix)
    prompt = render_prompt(PromptTemplates.load(), requirement="Deprecate it", files=files, pre_edits=[])
    infbench = tmp_path / "astropy-task-instances_x.jsonl"
    line = {
        "instance_id": record["instance_id"],
        "repo": record["repo"],
        "work_patch_list": record["work_patch_list"],
        "files_work": list(files),
        "prompt": prompt,
        "split_idx": 0,
        "pre_edits": [],
        "ground_truth": "",
    }
    infbench.write_text(json.dumps(line) + "\n", encoding="utf-8")
    run = EditBenchRun(
        str(tmp_path), str(infbench), "m", sampling=Sampling(samples=3), max_rounds=2, selection=Selection()
    )
    assert run.prepare().pending == 1
    _, responses_uri = run.round_files(0)
    choices = [stale, _diff_answer(path, old, fix_commented), _diff_answer(path, old, fix)]
    body = {
        "choices": [{"index": i, "message": {"content": c}} for i, c in enumerate(choices)],
        "usage": {"prompt_tokens": 50, "completion_tokens": 30},
    }
    Path(responses_uri).write_text(ResponseLine.success(record["instance_id"], body).model_dump_json() + "\n")
    assert run.collect(0).succeeded == 1
    sample_files = editbench_sample_files("m", 1.0, 3, "astropy-task-instances_x")
    rows = _records(tmp_path / sample_files.table)
    assert [(r["sample"], r["applies"], r["valid"]) for r in rows] == [
        (0, False, False),
        (1, True, True),
        (2, True, True),
    ]
    assert rows[1]["normalized_hash"] == rows[2]["normalized_hash"] and rows[0]["prompt_tokens"] == 50
    assert rows[1]["prompt_tokens"] is None  # the request's usage is counted once
    [selection] = _records(tmp_path / sample_files.selection)
    # first-nonempty (EditBench's default) takes choice 0, the seed's; the vote would take the fix
    assert selection["strategy"] == "first-nonempty" and selection["chosen_sample"] == 0
    voted = EditBenchRun(
        str(tmp_path),
        str(infbench),
        "m",
        sampling=Sampling(samples=3),
        max_rounds=2,
        selection=Selection(strategy="agentless-majority"),
    )
    voted.finish()
    [selection] = _records(tmp_path / sample_files.selection)
    assert selection["chosen_sample"] == 1 and [v["samples"] for v in selection["votes"]] == [[1, 2], [0]]
    [prediction] = _records(tmp_path / sample_files.predictions)
    assert "for the deprecation" in prediction["model_patch"]
    assert len(_records(tmp_path / sample_files.per_sample(2))) == 1
