"""``patchline editbench build-prompts`` exits non-zero with the cause when it writes no record."""

from __future__ import annotations

from pathlib import Path

import pytest

from patchline.cli.app import main

pytestmark = pytest.mark.unit


def test_every_instance_skipped_is_an_error_naming_the_first_cause(
    tmp_path: Path, shared_data: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bench = tmp_path / "bench.jsonl"
    lines = (shared_data / "editbench_realistic" / "sample_with_file_snapshots.jsonl").read_text().splitlines()
    bench.write_text("\n".join(lines[:2]) + "\n")
    argv = ["editbench", "build-prompts", "--dataset-name", str(bench), "--save-path", str(tmp_path / "inf.jsonl")]
    assert main([*argv, "--info-pct", "0.2", "--use-bm25"]) == 1
    err = capsys.readouterr().err
    [error] = [line for line in err.splitlines() if line.startswith("patchline: error:")]
    assert "all 2 instances skipped (first: " in error and "BM25" in error
    assert err.count("skipped: BM25") == 2  # each instance once, as it happened
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
