"""Keys an endpoint echoes back (in 401 and 500 bodies) never reach an output line, a log line or the console."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from patchline.cli.app import main
from patchline.core.redact import REDACTED
from tests.fixtures.fault_server import FaultPlan, write_requests
from tests.fixtures.secrets import files_holding
from tests.integration.gateway.conftest import ServerFactory, read_lines

pytestmark = pytest.mark.integration

KEYS = ["sk-proj-alpha-0123456789", "sk-proj-bravo-9876543210"]


def test_echoed_keys_are_redacted_from_lines_logs_and_errors(
    tmp_path: Path, fault_server: ServerFactory, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("OPENAI_KEYS", ",".join(KEYS))
    forced = {"e|0": "server_error", "e|1": "server_error", "u|0": "unauthorized", "u|1": "unauthorized"}
    server = fault_server(FaultPlan(forced=forced))
    write_requests(tmp_path / "in.jsonl", [*forced, "ok|0"])
    code = main(
        ["-vv", "infer", "run", "--input", str(tmp_path / "in.jsonl"), "--output", str(tmp_path / "out.jsonl"),
         "--url", server.base_url, "--max-attempts", "2", "--backoff-base", "0", "--backoff-cap", "0",
         "--summary-json", str(tmp_path / "summary.json")]
    )  # fmt: skip
    assert code == 0
    # The server really received and echoed both keys.
    assert {a.authorization for a in server.attempts()} == {f"Bearer {k}" for k in KEYS}
    lines = {line.custom_id: line for line in read_lines(tmp_path / "out.jsonl")}
    assert len(lines) == 5 and lines["ok|0"].ok
    for custom_id in forced:
        line = lines[custom_id]
        assert line.error is not None and f"Bearer {REDACTED}" in line.error.message
        assert f"Bearer {REDACTED}" in json.dumps(line.response.body)  # the stored body too
    captured = capsys.readouterr()
    assert not any(key in captured.out + captured.err for key in KEYS)
    assert "retrying" in captured.err  # debug logging was on and carried the server's messages
    assert files_holding(tmp_path, KEYS) == []
