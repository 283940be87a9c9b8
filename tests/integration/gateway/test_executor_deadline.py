"""Hung servers: a warning at the default log level while requests wait, and a deadline for the whole run."""

from __future__ import annotations

import logging
from collections import Counter
from pathlib import Path

import pytest

from patchline.cli.app import main
from patchline.core.errors import DeadlineExceededError
from patchline.gateway import execute_file
from tests.fixtures.fault_server import FaultPlan, write_requests
from tests.integration.gateway.conftest import ServerFactory, fast_settings, final_counts, read_lines

pytestmark = pytest.mark.integration

HUNG = ["hung|0", "hung|1"]
QUEUED = [f"queued|{i}" for i in range(10)]


async def test_a_server_that_never_answers_is_reported_then_cut_at_the_deadline(
    tmp_path: Path, fault_server: ServerFactory, caplog: pytest.LogCaptureFixture
) -> None:
    hang = fault_server(FaultPlan(forced=dict.fromkeys(HUNG, "hang"), hang_seconds=300))
    write_requests(tmp_path / "requests.jsonl", [*HUNG, *QUEUED])
    caplog.set_level(logging.WARNING)
    # Two workers, both stuck on the hung requests: the queued ones are never sent before the deadline.
    settings = fast_settings(concurrency=2, timeout_seconds=300, stall_warning_seconds=0.2, deadline_seconds=1.5)
    summary = await execute_file(
        str(tmp_path / "requests.jsonl"), str(tmp_path / "out.jsonl"), endpoints=[hang.base_url], settings=settings
    )
    stalls = [r.getMessage() for r in caplog.records if "without an answer" in r.getMessage()]
    assert stalls and all(r.levelno == logging.WARNING for r in caplog.records if "without an answer" in r.message)
    assert "2 request(s) without an answer for over 0.2 s" in stalls[-1] and "2 in flight, 0 finished" in stalls[-1]
    assert (summary.expired, summary.failed, summary.succeeded) == (12, 12, 0)
    lines = {line.custom_id: line for line in read_lines(tmp_path / "out.jsonl")}
    assert set(lines) == {*HUNG, *QUEUED}
    for custom_id, line in lines.items():
        assert line.error is not None and line.error.code == "deadline" and line.response.status_code == 0
        assert not line.is_final  # retryable: the rerun sends it
        attempts = (line.model_extra or {})["patchline"]["attempts"]
        assert attempts == (1 if custom_id in HUNG else 0)
    with pytest.raises(DeadlineExceededError, match="12 unfinished requests"):
        summary.raise_for_deadline(settings.deadline_seconds)
    # The rerun against a server that answers finishes every request exactly once.
    answering = fault_server()
    again = await execute_file(
        str(tmp_path / "requests.jsonl"), str(tmp_path / "out.jsonl"), endpoints=[answering.base_url]
    )
    assert (again.succeeded, again.expired) == (12, 0)
    assert final_counts(read_lines(tmp_path / "out.jsonl")) == Counter(dict.fromkeys([*HUNG, *QUEUED], 1))


async def test_a_retry_wait_past_the_deadline_ends_the_request_at_once(
    tmp_path: Path, fault_server: ServerFactory
) -> None:
    limited = fault_server(FaultPlan(forced={"slow|0": "rate_limit"}, retry_after="3600"))
    write_requests(tmp_path / "requests.jsonl", ["slow|0", "fine|0"])
    settings = fast_settings(retry_after_cap_seconds=3600, deadline_seconds=5)
    summary = await execute_file(
        str(tmp_path / "requests.jsonl"), str(tmp_path / "out.jsonl"), endpoints=[limited.base_url], settings=settings
    )
    lines = {line.custom_id: line for line in read_lines(tmp_path / "out.jsonl")}
    assert lines["fine|0"].ok and summary.expired == 1
    error = lines["slow|0"].error
    assert error is not None and error.code == "deadline" and "last attempt: rate limited" in error.message
    assert len(limited.attempts("slow|0")) == 1


def test_cli_deadline_exits_non_zero_after_recording_and_warns_at_the_default_level(
    tmp_path: Path, fault_server: ServerFactory, capsys: pytest.CaptureFixture[str]
) -> None:
    hang = fault_server(FaultPlan(forced=dict.fromkeys(HUNG, "hang"), hang_seconds=300))
    write_requests(tmp_path / "in.jsonl", [*HUNG, "ok|0"])
    code = main(
        ["infer", "run", "--input", str(tmp_path / "in.jsonl"), "--output", str(tmp_path / "out.jsonl"),
         "--url", hang.base_url, "--timeout", "300", "--stall-warning", "0.2", "--deadline", "1.5",
         "--summary-json", str(tmp_path / "summary.json")]
    )  # fmt: skip
    captured = capsys.readouterr()
    assert code == 5
    assert "WARNING" in captured.err and "2 request(s) without an answer" in captured.err
    assert "patchline: error: the deadline of 1.5 s passed: 2 unfinished requests" in captured.err
    assert "1 succeeded, 2 failed (2 unfinished at the deadline)" in captured.out
    assert (tmp_path / "summary.json").exists()
    assert {line.custom_id: line.ok for line in read_lines(tmp_path / "out.jsonl")} == {
        "hung|0": False,
        "hung|1": False,
        "ok|0": True,
    }
