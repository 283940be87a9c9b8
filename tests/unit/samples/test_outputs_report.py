"""The sample files of a stage (written, rerun, carried over) and ``patchline samples report`` over them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from patchline.cli.app import main
from patchline.core.layout import SampleFiles, sample_files
from patchline.core.samples import SampleRecord
from patchline.core.spec import Selection
from patchline.core.store import ArtifactStore
from patchline.samples.outputs import SampleOutputs
from patchline.samples.selection import resolve_strategy

pytestmark = pytest.mark.unit


def _row(iid: str, sample: int, form: str, *, valid: bool, tokens: int = 10, round_number: int = 0) -> SampleRecord:
    return SampleRecord(
        instance_id=iid,
        sample=sample,
        custom_id=f"{iid}|{sample}",
        status="ok" if form else "no_edits",
        model_patch=f"diff {form} {sample}" if form else "",
        normalized_patch=form,
        normalized_hash=f"h{form}" if form else "",
        valid=valid,
        prompt_tokens=tokens,
        completion_tokens=tokens,
        round=round_number,
    )


ROWS = {
    "a__a-1": [
        _row("a__a-1", 0, "X", valid=True),
        _row("a__a-1", 1, "X", valid=True),
        _row("a__a-1", 2, "Y", valid=False),
    ],
    "b__b-2": [_row("b__b-2", 0, "", valid=False), _row("b__b-2", 1, "Z", valid=True, round_number=1)],
}


def _write(root: Path, rows: dict[str, list[SampleRecord]], *, carry_over: bool, files: SampleFiles) -> None:
    store = ArtifactStore(str(root))
    strategy = resolve_strategy("agentless-majority", Selection(), hooks=False)
    with SampleOutputs(store, files, strategy=strategy, strategy_name="agentless-majority", model_name="m") as out:
        for iid, samples in rows.items():
            out.write(iid, samples)
        out.finish(carry_over=carry_over)


def _lines(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_rerun_of_one_instance_carries_the_others_over(tmp_path: Path) -> None:
    _write(tmp_path, ROWS, carry_over=True, files=sample_files())
    again = {"a__a-1": [_row("a__a-1", 0, "Y", valid=True)]}
    _write(tmp_path, again, carry_over=True, files=sample_files())
    table = _lines(tmp_path / "samples.jsonl")
    assert [(r["instance_id"], r["sample"]) for r in table] == [("a__a-1", 0), ("b__b-2", 0), ("b__b-2", 1)]
    predictions = {p["instance_id"]: p["model_patch"] for p in _lines(tmp_path / "predictions.jsonl")}
    assert predictions == {"a__a-1": "diff Y 0", "b__b-2": "diff Z 1"}
    # sample 2's file had only a__a-1, which this run rewrote without it; sample 1's keeps b__b-2
    assert _lines(tmp_path / "predictions" / "sample_2.jsonl") == []
    assert [p["instance_id"] for p in _lines(tmp_path / "predictions" / "sample_1.jsonl")] == ["b__b-2"]


def test_a_full_rebuild_drops_files_of_samples_no_longer_there(tmp_path: Path) -> None:
    _write(tmp_path, ROWS, carry_over=False, files=sample_files())
    _write(tmp_path, {"a__a-1": ROWS["a__a-1"][:1]}, carry_over=False, files=sample_files())
    assert sorted(p.name for p in (tmp_path / "predictions").iterdir()) == ["sample_0.jsonl"]


def test_report_per_instance_and_overall(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _write(tmp_path / "run", ROWS, carry_over=False, files=sample_files())
    assert main(["samples", "report", str(tmp_path / "run"), "--format", "json"]) == 0
    report = json.loads(capsys.readouterr().out)
    a, b = report["instances"]
    assert (a["samples"], a["distinct_patches"], a["valid_share"], a["agreement"]) == (3, 2, 2 / 3, 2 / 3)
    assert a["tokens_per_valid_patch"] == 30 and a["chosen_sample"] == 0 and a["strategy"] == "agentless-majority"
    assert (b["rounds"], b["chosen_sample"], b["agreement"]) == (1, 1, 1.0)
    overall = report["overall"]
    assert overall["instances"] == 2 and overall["samples"] == 5 and overall["valid_share"] == 3 / 5
    assert overall["tokens_per_valid_patch"] == 100 / 3 and overall["resampled_instances"] == 1
    assert main(["samples", "report", str(tmp_path / "run" / "samples.jsonl")]) == 0
    text = capsys.readouterr().out
    assert "a__a-1" in text and "mean_agreement: 0.833" in text


def test_report_of_a_prefixed_table_and_of_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    files = SampleFiles("results/samples/bench.")
    _write(tmp_path, ROWS, carry_over=False, files=files)
    assert main(["samples", "report", str(tmp_path / files.table), "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["overall"]["instances"] == 2
    assert main(["samples", "report", str(tmp_path / "empty")]) == 3  # no table: missing artifact
    assert "no sample table" in capsys.readouterr().err
