"""The executor against a fault-injecting server: every request ends with exactly one success line."""

from __future__ import annotations

from pathlib import Path

import pytest

from patchline.gateway import execute_file
from tests.fixtures.fault_server import FaultPlan, write_requests
from tests.integration.gateway.conftest import ServerFactory, fast_settings, final_counts, read_lines

pytestmark = pytest.mark.integration


@pytest.mark.parametrize("force_httpx", [False, True], ids=["http1-pool", "httpx"])
async def test_faults_end_in_one_success_each(tmp_path: Path, fault_server: ServerFactory, force_httpx: bool) -> None:
    plan = FaultPlan(seed=7, server_error=0.10, rate_limit=0.05, drop=0.02, hang=0.01, malformed=0.01, hang_seconds=2)
    server = fault_server(plan)
    ids = [f"repo__issue-{n}|{k}" for n in range(400) for k in range(5)]
    write_requests(tmp_path / "requests.jsonl", ids)
    summary = await execute_file(
        str(tmp_path / "requests.jsonl"),
        str(tmp_path / "responses.jsonl"),
        endpoints=[server.base_url],
        settings=fast_settings(concurrency=64, force_httpx=force_httpx),
    )
    lines = read_lines(tmp_path / "responses.jsonl")
    assert len(lines) == 2000
    assert all(line.ok for line in lines)
    assert final_counts(lines) == dict.fromkeys(ids, 1)
    assert (summary.succeeded, summary.failed, summary.total) == (2000, 0, 2000)
    faults = [a.fault for a in server.attempts()]
    for fault in ("server_error", "rate_limit", "drop", "hang", "malformed"):
        assert fault in faults  # each kind really happened
    # An attempt can die on a reused keep-alive connection before the server records it: the server sees
    # at most what the client sent, and every retry is an attempt beyond the first.
    assert len(faults) <= summary.attempts <= len(faults) + 5
    assert summary.retries == summary.attempts - 2000
    by_id = {line.custom_id: line for line in lines}
    counts = server.attempt_counts()
    recorded = {cid: (by_id[cid].model_extra or {})["patchline"]["attempts"] for cid in ids}
    assert all(counts[cid] <= recorded[cid] for cid in ids)
    assert sum(recorded.values()) == summary.attempts
