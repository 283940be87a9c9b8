"""The helpers of ``realmodel.py --vllm`` that need no vLLM: stopping a process group, counting final lines."""

from __future__ import annotations

import json
import runpy
import signal
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

HELPERS = runpy.run_path(str(Path(__file__).resolve().parents[3] / "bench" / "_vllm.py"))

# A leader that dies on SIGTERM and a child that ignores it: vLLM's main process and its engine core.
LEADER = """
import signal, subprocess, sys, time
child = subprocess.Popen([sys.executable, "-c",
    "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); print('ready', flush=True); time.sleep(600)"])
print(f"CHILD {child.pid}", flush=True)
time.sleep(600)
"""


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"


def _wait_for(condition: Callable[[], bool], timeout_s: float = 10.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.02)


def test_the_process_group_is_stopped_with_a_child_that_ignores_sigterm(tmp_path: Path) -> None:
    log = tmp_path / "leader.log"
    with HELPERS["process_group"]([sys.executable, "-c", LEADER], {}, log) as leader:
        _wait_for(lambda: "ready" in log.read_text() and "CHILD" in log.read_text())
        child = int(log.read_text().split("CHILD ")[1].split()[0])
        assert _alive(leader.pid) and _alive(child)
    assert leader.returncode == -signal.SIGTERM
    _wait_for(lambda: not _alive(child))


def test_final_lines_count_each_custom_id_and_the_torn_last_line(tmp_path: Path) -> None:
    def line(custom_id: str, status: int) -> str:
        return json.dumps({"custom_id": custom_id, "response": {"status_code": status, "body": {}}}) + "\n"

    output = tmp_path / "out.jsonl"
    output.write_text(line("a", 200) + line("b", 503) + line("a", 200) + line("c", 400) + '{"custom_id": "d", "resp')
    finals, unreadable = HELPERS["final_lines"](output)
    # 503 is retried by a rerun (not final); 400 is a permanent failure (final).
    assert finals == {"a": 2, "c": 1} and unreadable == 1
    assert HELPERS["final_lines"](tmp_path / "absent.jsonl") == ({}, 0)
