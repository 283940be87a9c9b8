"""bench/samples.py --quick as a smoke test: it runs, and the majority picks the planned fix for every instance."""

from __future__ import annotations

import runpy
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

BENCH = Path(__file__).resolve().parents[3] / "bench" / "samples.py"


def test_quick_bench_runs_and_the_vote_follows_the_plan(capsys: pytest.CaptureFixture[str]) -> None:
    bench = runpy.run_path(str(BENCH))
    assert bench["main"](["--quick"]) == 0
    out = capsys.readouterr().out
    assert "20 instances x 11 samples from real files (220 table rows" in out
    assert "majority chose the fix's first sample for 20/20 instances" in out and "overhead:" in out
