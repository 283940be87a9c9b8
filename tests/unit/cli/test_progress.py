"""The progress line: done/total, percent, rate and ETA, always within the terminal's width; log lines once."""

from __future__ import annotations

import io
import json
import logging
import re

import pytest
from rich.console import Console

from patchline.cli.logs import JsonFormatter
from patchline.cli.progress import ProgressState, TerminalProgress, render_line

pytestmark = pytest.mark.unit

_COUNTERS = {"ok": 1200.0, "failed": 3.0, "reasoning_only": 17.0, "skipped": 200.0, "tokens": 987654.0}


def _state(total: int | None = 5000, done: int = 1400) -> ProgressState:
    return ProgressState(
        "infer batch_requests_step2.jsonl", total=total, done=done, counters=dict(_COUNTERS), started=0
    )


def test_known_total_shows_bar_count_percent_rate_and_eta() -> None:
    line = render_line(_state(), now=100.0)
    assert "1400/5000 28%" in line and "12.0/s" in line  # 1200 worked (200 skipped) in 100 s
    assert "ETA 0:05:00" in line and "━" in line and "failed=3" in line and "tok/s=9877" in line


@pytest.mark.parametrize("width", [80, 60, 50])
def test_the_line_fits_the_terminal_dropping_counters_first(width: int) -> None:
    full = render_line(_state(), now=100.0)
    assert len(full) > width
    line = render_line(_state(), width=width, now=100.0)
    assert len(line) <= width
    assert "━" in line and "ETA 0:05:00" in line and "1400/5000" in line and "28%" in line
    if width == 80:
        assert line.startswith("infer batch_requests_step2.jsonl ━")  # the description is not cut at 80
    assert "tok/s" not in line  # counters go first


def test_unknown_total_shows_count_rate_and_elapsed() -> None:
    line = render_line(_state(total=None), width=80, now=65.0)
    assert line.startswith("infer batch_requests_step2.jsonl 1400 18.5/s 0:01:05")
    assert "ETA" not in line and "%" not in line


def test_the_live_line_on_an_80_column_terminal() -> None:
    out = io.StringIO()
    console = Console(file=out, width=80, force_terminal=True, color_system=None)
    progress = TerminalProgress(interactive=True, console=console)
    progress.start("proc_step1_gen_step2", total=300)
    for _ in range(120):
        progress.advance(1, failed=0, ok=1, reasoning_only=0, skipped=0, tokens=1234)
    progress.finish()
    text = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", out.getvalue())
    lines = [line for line in text.replace("\r", "\n").splitlines() if line.strip()]
    assert lines and all(len(line) <= 80 for line in lines)
    assert "120/300" in lines[-1] and "40%" in lines[-1] and "ETA 0:00:00" in lines[-1] and "━" in lines[-1]


def test_log_lines_carry_the_counters_as_fields_and_are_not_repeated(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="patchline.progress")
    progress = TerminalProgress(interactive=False, log_every_seconds=0.0)
    progress.start("fetching released code bases from PyPI", total=3)
    for _ in range(3):
        progress.advance(1)
    progress.finish()
    texts = [r.getMessage() for r in caplog.records]
    assert len(texts) == 3 and texts[-1].startswith("fetching released code bases from PyPI ")
    assert sum("3/3" in t for t in texts) == 1  # the finish does not print the last line again
    record = caplog.records[-1]
    payload = json.loads(JsonFormatter().format(record))
    assert payload["done"] == 3 and payload["total"] == 3 and payload["percent"] == 100.0
    caplog.clear()
    progress.start("gen_step1", total=None)
    progress.advance(2, failed=1)
    progress.finish()
    payload = json.loads(JsonFormatter().format(caplog.records[-1]))
    assert payload["counters"] == {"failed": 1} and payload["total"] is None
