"""``patchline editbench build-prompts`` exits non-zero with the cause when it writes no record."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from patchline.cli.app import main

pytestmark = pytest.mark.unit


def test_every_instance_skipped_is_an_error_naming_the_first_cause(
    tmp_path: Path, shared_data: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bench = tmp_path / "bench.jsonl"
    lines = (shared_data / "editbench_realistic" / "sample_with_file_snapshots.jsonl").read_text().splitlines()
    records = [json.loads(line) for line in lines[:2]]
    for record in records:  # files that are not what the histories were written against: no step applies
        record["file_snapshots"] = [{**s, "original": "something else\n"} for s in record["file_snapshots"]]
    bench.write_text("".join(json.dumps(r) + "\n" for r in records))
    argv = ["editbench", "build-prompts", "--dataset-name", str(bench), "--save-path", str(tmp_path / "inf.jsonl")]
    assert main([*argv, "--info-pct", "0.2"]) == 1
    err = capsys.readouterr().err
    [error] = [line for line in err.splitlines() if line.startswith("patchline: error:")]
    assert "all 2 instances skipped (first: " in error and "does not apply" in error
    assert err.count("skipped: step") == 2  # each instance once, as it happened
    # BM25 on histories without base_commit: refused before any instance is tried, in one line.
    bench.write_text("\n".join(lines[:2]) + "\n")
    assert main([*argv, "--info-pct", "0.2", "--use-bm25"]) == 2
    err = capsys.readouterr().err
    [error] = [line for line in err.splitlines() if line.startswith("patchline: error:")]
    assert "useBm25 needs each instance's repository at its base_commit" in error and "skipped:" not in err
    (tmp_path / "empty.jsonl").write_text("")
    empty = [
        "editbench",
        "build-prompts",
        "--dataset-name",
        str(tmp_path / "empty.jsonl"),
        "--save-path",
        str(tmp_path / "x.jsonl"),
    ]
    assert main(empty) == 2
