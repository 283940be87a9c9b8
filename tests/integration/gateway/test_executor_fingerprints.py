"""Resume never crosses runs: an output's answers count as done only for the requests they were made for."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from patchline.cli.app import main
from patchline.core.fingerprint import REQUEST_FINGERPRINT, SETTINGS_FINGERPRINT
from tests.fixtures.fault_server import write_requests
from tests.integration.gateway.conftest import ServerFactory, read_lines

pytestmark = pytest.mark.integration

IDS = ["astropy__astropy-12907", "django__django-11099", "sympy__sympy-20590"]


def _infer(tmp_path: Path, url: str, requests: str, *extra: str) -> int:
    argv = ["infer", "run", "--input", str(tmp_path / requests), "--output", str(tmp_path / "batch_output_step1.jsonl")]
    return main([*argv, "--url", url, "--concurrency", "4", "--timeout", "30", *extra])


@pytest.fixture
def two_runs(tmp_path: Path) -> Path:
    """The BugFixer's and the TestWriter's step-1 requests: the same custom_ids, other prompts."""
    write_requests(tmp_path / "bugfixer.jsonl", IDS, temperature=1.0, max_tokens=100)
    write_requests(tmp_path / "testwriter.jsonl", IDS, temperature=0.0, max_tokens=100)
    return tmp_path


def test_answers_of_another_run_are_refused_before_anything_is_sent(
    two_runs: Path, fault_server: ServerFactory, capsys: pytest.CaptureFixture[str]
) -> None:
    server = fault_server()
    assert _infer(two_runs, server.base_url, "bugfixer.jsonl") == 0
    output = two_runs / "batch_output_step1.jsonl"
    before = output.read_bytes()
    [stats] = {json.dumps(line.model_extra["patchline"], sort_keys=True) for line in read_lines(output)[:1]}
    assert {REQUEST_FINGERPRINT, SETTINGS_FINGERPRINT} <= set(json.loads(stats))
    capsys.readouterr()
    sent = len(server.attempts())
    assert _infer(two_runs, server.base_url, "testwriter.jsonl") == 4
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "Traceback" not in err
    assert str(output) in err and repr(IDS[0]) in err and "--restart" in err and "--accept-existing" in err
    assert len(server.attempts()) == sent and output.read_bytes() == before


def test_the_same_requests_resume_and_accept_existing_takes_the_old_answers(
    two_runs: Path, fault_server: ServerFactory, capsys: pytest.CaptureFixture[str]
) -> None:
    server = fault_server()
    assert _infer(two_runs, server.base_url, "bugfixer.jsonl") == 0
    sent = len(server.attempts())
    assert _infer(two_runs, server.base_url, "bugfixer.jsonl") == 0
    assert "3 already done" in capsys.readouterr().out and len(server.attempts()) == sent
    assert _infer(two_runs, server.base_url, "testwriter.jsonl", "--accept-existing") == 0
    assert "3 already done" in capsys.readouterr().out and len(server.attempts()) == sent


def test_restart_starts_the_output_over_and_keeps_the_old_file_aside(
    two_runs: Path, fault_server: ServerFactory, capsys: pytest.CaptureFixture[str]
) -> None:
    server = fault_server()
    assert _infer(two_runs, server.base_url, "bugfixer.jsonl") == 0
    old = (two_runs / "batch_output_step1.jsonl").read_bytes()
    assert _infer(two_runs, server.base_url, "testwriter.jsonl", "--restart") == 0
    assert "3 succeeded" in capsys.readouterr().out
    [aside] = list(two_runs.glob("batch_output_step1.jsonl.replaced-*"))
    assert aside.read_bytes() == old
    assert len(read_lines(two_runs / "batch_output_step1.jsonl")) == 3
    assert _infer(two_runs, server.base_url, "testwriter.jsonl") == 0  # and now it resumes
    assert "3 already done" in capsys.readouterr().out


def test_other_executor_settings_are_another_request(
    two_runs: Path, fault_server: ServerFactory, capsys: pytest.CaptureFixture[str]
) -> None:
    server = fault_server()
    assert _infer(two_runs, server.base_url, "bugfixer.jsonl") == 0
    assert _infer(two_runs, server.base_url, "bugfixer.jsonl", "--model", "other-model") == 4
    assert "other settings" in capsys.readouterr().err


def test_answers_without_fingerprints_are_taken_with_a_warning(
    two_runs: Path, fault_server: ServerFactory, capsys: pytest.CaptureFixture[str]
) -> None:
    server = fault_server()
    assert _infer(two_runs, server.base_url, "bugfixer.jsonl") == 0
    output = two_runs / "batch_output_step1.jsonl"
    legacy = []
    for raw in output.read_text().splitlines():
        record = json.loads(raw)
        del record["patchline"]  # as an OpenAI Batch API download or the seed's executor writes them
        legacy.append(json.dumps(record))
    output.write_text("\n".join(legacy) + "\n")
    sent = len(server.attempts())
    assert _infer(two_runs, server.base_url, "testwriter.jsonl") == 0
    captured = capsys.readouterr()
    assert "3 already done" in captured.out and "carry no request fingerprint" in captured.err
    assert len(server.attempts()) == sent
