"""``patchline infer run`` and the seed-compatible ``process_batch_requests`` through the real entry point."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from patchline.cli.app import main
from tests.fixtures.fault_server import FaultPlan, write_requests
from tests.integration.gateway.conftest import ServerFactory, read_lines

pytestmark = pytest.mark.integration


def test_seed_compatible_command(
    tmp_path: Path, fault_server: ServerFactory, capsys: pytest.CaptureFixture[str]
) -> None:
    server = fault_server(FaultPlan(forced={"r|1": "reasoning_only"}))
    write_requests(tmp_path / "in.jsonl", ["r|0", "r|1", "q|0"])
    (tmp_path / "prices.json").write_text(json.dumps({"served-model": [2.0, 10.0]}))
    code = main(
        [
            "infer", "process_batch_requests",
            "--input_file", str(tmp_path / "in.jsonl"), "--output_file", str(tmp_path / "out.jsonl"),
            "--url", f"{server.base_url}/v1/chat/completions", "--concurrency", "4", "--timeout", "30",
            "--model", "served-model", "--price-table", str(tmp_path / "prices.json"),
            "--summary-json", str(tmp_path / "summary.json"),
        ]
    )  # fmt: skip
    assert code == 0
    assert "3 succeeded" in capsys.readouterr().out
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert (summary["succeeded"], summary["reasoning_only"], summary["total"]) == (3, 1, 3)
    assert summary["cost"] == pytest.approx(3 * (10 * 2.0 + 5 * 10.0) / 1e6)
    assert {a.model for a in server.attempts()} == {"served-model"}
    assert len(read_lines(tmp_path / "out.jsonl")) == 3


def test_run_with_several_urls(tmp_path: Path, fault_server: ServerFactory) -> None:
    one, two = fault_server(), fault_server()
    write_requests(tmp_path / "in.jsonl", [f"u{n}|0" for n in range(40)])
    code = main(
        ["infer", "run", "--input", str(tmp_path / "in.jsonl"), "--output", str(tmp_path / "out.jsonl"),
         "--url", f"{one.base_url},{two.base_url}/v1", "--concurrency", "8", "--compact"]
    )  # fmt: skip
    assert code == 0
    assert one.attempts() and two.attempts()
    assert len(one.attempts()) + len(two.attempts()) == 40


def test_missing_url_is_an_input_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_requests(tmp_path / "in.jsonl", ["a|0"])
    code = main(["infer", "run", "--input", str(tmp_path / "in.jsonl"), "--output", str(tmp_path / "out.jsonl")])
    err = capsys.readouterr().err
    assert code == 2 and "--url" in err and "Traceback" not in err
    assert not (tmp_path / "out.jsonl").exists()


def test_missing_input_is_reported(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(
        ["infer", "run", "--input", str(tmp_path / "nope.jsonl"), "--output", str(tmp_path / "out.jsonl"),
         "--url", "http://127.0.0.1:9"]
    )  # fmt: skip
    assert code == 3 and "nope.jsonl" in capsys.readouterr().err
    assert not (tmp_path / "out.jsonl").exists()  # nothing created for a run that cannot start


def test_a_run_that_answered_nothing_exits_non_zero_with_the_cause(
    tmp_path: Path, fault_server: ServerFactory, capsys: pytest.CaptureFixture[str]
) -> None:
    import socket

    with socket.socket() as probe:  # a port where nothing listens
        probe.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{probe.getsockname()[1]}"
    write_requests(tmp_path / "in.jsonl", ["a|0", "b|0", "c|0"])
    argv = ["infer", "run", "--input", str(tmp_path / "in.jsonl"), "--output", str(tmp_path / "out.jsonl")]
    assert main([*argv, "--url", dead, "--max-attempts", "1", "--timeout", "5"]) == 5
    captured = capsys.readouterr()
    assert "0 succeeded, 3 failed" in captured.out
    [error] = [line for line in captured.err.splitlines() if line.startswith("patchline: error:")]
    assert "all 3 requests sent failed (first: " in error and ": 0: " in error and "out.jsonl" in error
    (tmp_path / "empty.jsonl").write_text("")
    empty = ["infer", "run", "--input", str(tmp_path / "empty.jsonl"), "--output", str(tmp_path / "o2.jsonl")]
    assert main([*empty, "--url", fault_server().base_url]) == 2
    assert "empty.jsonl: no request to send (it is empty)" in capsys.readouterr().err
    server = fault_server(FaultPlan(forced={"a|0": "context_length"}))
    assert main([*argv, "--url", server.base_url, "--timeout", "30"]) == 0  # b and c succeed: a useful run
