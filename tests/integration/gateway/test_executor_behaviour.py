"""The executor over real HTTP: permanent errors, Retry-After, keys, affinity, cooldown, metrics, resume."""

from __future__ import annotations

import asyncio
import json
import logging
import socket
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import pytest

from patchline.core.errors import PreconditionError
from patchline.core.settings import api_keys_from_env
from patchline.gateway import ExecutionSummary, ModelEndpoints, Price, execute_file, run_file
from tests.fixtures.fault_server import FaultPlan, chat_request_line, write_requests
from tests.integration.gateway.conftest import ServerFactory, fast_settings, final_counts, read_lines, write_raw

pytestmark = pytest.mark.integration


async def _execute(tmp_path: Path, endpoints: list[str] | ModelEndpoints, **kwargs: Any) -> ExecutionSummary:
    """Run the executor on ``tmp_path/in.jsonl`` into ``tmp_path/out.jsonl``."""
    return await execute_file(str(tmp_path / "in.jsonl"), str(tmp_path / "out.jsonl"), endpoints=endpoints, **kwargs)


async def test_permanent_error_is_recorded_once_and_not_resent(tmp_path: Path, fault_server: ServerFactory) -> None:
    server = fault_server(FaultPlan(forced={"big|0": "context_length"}))
    write_requests(tmp_path / "in.jsonl", ["big|0", "small|0"])
    out = tmp_path / "out.jsonl"
    summary = await _execute(tmp_path, [server.base_url], settings=fast_settings())
    assert (summary.succeeded, summary.failed) == (1, 1)
    assert server.attempt_counts() == {"big|0": 1, "small|0": 1}
    bad = next(line for line in read_lines(out) if line.custom_id == "big|0")
    assert bad.response.status_code == 400 and bad.error is not None
    assert "maximum context length" in bad.error.message and bad.is_final
    again = await _execute(tmp_path, [server.base_url], settings=fast_settings())
    assert (again.skipped, again.succeeded, again.failed) == (2, 0, 0)
    assert server.attempt_counts() == {"big|0": 1, "small|0": 1}
    assert len(read_lines(out)) == 2


async def test_exhausted_retries_are_written_and_resent_on_rerun(tmp_path: Path, fault_server: ServerFactory) -> None:
    server = fault_server(FaultPlan(forced={"down|0": "server_error"}))
    write_requests(tmp_path / "in.jsonl", ["down|0"])
    out = tmp_path / "out.jsonl"
    settings = fast_settings(max_attempts=3)
    first = await _execute(tmp_path, [server.base_url], settings=settings)
    assert first.failed == 1 and server.attempt_counts() == {"down|0": 3}
    (line,) = read_lines(out)
    assert line.response.status_code == 500 and not line.is_final
    second = await _execute(tmp_path, [server.base_url], settings=settings)
    assert second.skipped == 0 and server.attempt_counts() == {"down|0": 6}


async def test_retry_after_is_honoured(tmp_path: Path, fault_server: ServerFactory) -> None:
    server = fault_server(FaultPlan(rate_limit=1.0, faulty_attempts=1, retry_after="1"))
    ids = ["a|0", "b|0", "c|0"]
    write_requests(tmp_path / "in.jsonl", ids)
    summary = await _execute(tmp_path, [server.base_url], settings=fast_settings())
    assert summary.succeeded == 3
    for cid in ids:
        first, second = server.attempts(cid)
        assert first.fault == "rate_limit" and second.fault is None
        assert second.at - first.at >= 0.95  # the backoff alone would wait at most 5 ms


async def test_keys_round_robin_and_never_logged(
    tmp_path: Path, fault_server: ServerFactory, caplog: pytest.LogCaptureFixture
) -> None:
    secrets = ["sk-alpha-0001", "sk-bravo-0002", "sk-charlie-0003"]
    keys = api_keys_from_env({"OPENAI_KEYS": ",".join(secrets)})
    server = fault_server(FaultPlan(seed=3, server_error=0.2, drop=0.05, forced={"bad|0": "context_length"}))
    write_requests(tmp_path / "in.jsonl", [f"k{n}|0" for n in range(60)] + ["bad|0"])
    caplog.set_level(logging.DEBUG)
    await _execute(
        tmp_path,
        [server.base_url],
        keys=keys,
        settings=fast_settings(concurrency=4),
    )
    used = Counter(a.authorization for a in server.attempts())
    assert set(used) == {f"Bearer {k}" for k in secrets}
    assert max(used.values()) - min(used.values()) <= 4  # round robin (concurrent attempts interleave)
    written = (tmp_path / "out.jsonl").read_text()
    for secret in secrets:
        assert secret not in caplog.text and secret not in written


async def test_no_authorization_header_without_keys(tmp_path: Path, fault_server: ServerFactory) -> None:
    server = fault_server()
    write_requests(tmp_path / "in.jsonl", ["a|0", "b|0"])
    await _execute(tmp_path, [server.base_url])
    assert [a.authorization for a in server.attempts()] == [None, None]


async def test_affinity_keeps_an_instance_on_one_endpoint(tmp_path: Path, fault_server: ServerFactory) -> None:
    servers = [fault_server(), fault_server(), fault_server()]
    ids = [f"inst-{n}|{k}" for n in range(30) for k in range(4)]
    write_requests(tmp_path / "in.jsonl", ids)
    await _execute(
        tmp_path,
        [s.base_url + "/v1" for s in servers],
        # Timeouts long enough that no endpoint cools down on a busy machine (which would move an instance).
        settings=fast_settings(affinity=True, timeout_seconds=10.0, connect_timeout_seconds=5.0),
    )
    home: dict[str, set[int]] = {}
    for index, server in enumerate(servers):
        for attempt in server.attempts():
            home.setdefault(attempt.key.split("|")[0], set()).add(index)
    assert len(home) == 30 and all(len(v) == 1 for v in home.values())
    assert all(server.attempts() for server in servers)
    lines = read_lines(tmp_path / "out.jsonl")
    by_id = {line.custom_id: (line.model_extra or {})["patchline"]["endpoint_index"] for line in lines}
    assert all(by_id[cid] in home[cid.split("|")[0]] for cid in ids)


async def test_failing_endpoint_is_cooled_down(tmp_path: Path, fault_server: ServerFactory) -> None:
    broken = fault_server(FaultPlan(server_error=1.0))
    healthy = fault_server()
    write_requests(tmp_path / "in.jsonl", [f"c{n}|0" for n in range(300)])
    summary = await _execute(
        tmp_path,
        [broken.base_url, healthy.base_url],
        settings=fast_settings(
            concurrency=8, cooldown_after_failures=3, cooldown_base_seconds=0.5, cooldown_cap_seconds=5.0
        ),
    )
    assert summary.succeeded == 300
    assert len(broken.attempts()) < len(healthy.attempts()) / 4


async def test_metrics_endpoint_serves_counts(tmp_path: Path, fault_server: ServerFactory) -> None:
    server = fault_server(FaultPlan(latency_s=0.01))
    write_requests(tmp_path / "in.jsonl", [f"m{n}|0" for n in range(400)])
    port = _free_port()
    run = asyncio.create_task(
        _execute(
            tmp_path,
            [server.base_url],
            settings=fast_settings(concurrency=4),
            metrics_address=("127.0.0.1", port),
        )
    )
    async with httpx.AsyncClient() as client:
        text = ""
        while 'patchline_requests_total{outcome="ok"}' not in text and not run.done():
            await asyncio.sleep(0.02)
            try:
                text = (await client.get(f"http://127.0.0.1:{port}/metrics")).text
            except httpx.TransportError:
                continue
    summary = await run
    assert summary.succeeded == 400
    assert 'patchline_requests_total{outcome="ok"}' in text and "patchline_in_flight" in text


async def test_model_override_reasoning_only_and_null_content(tmp_path: Path, fault_server: ServerFactory) -> None:
    forced = {"r1|0": "reasoning_only", "r2|0": "reasoning_only", "n|0": "null_content"}
    server = fault_server(FaultPlan(forced=forced))
    write_requests(tmp_path / "in.jsonl", [*forced, "plain|0"])
    prices = {"served": (1.0, 2.0)}
    summary = await _execute(
        tmp_path,
        ModelEndpoints(urls=[server.base_url], model="served"),
        settings=fast_settings(prices={k: _price(*v) for k, v in prices.items()}),
    )
    assert {a.model for a in server.attempts()} == {"served"}
    assert (summary.succeeded, summary.reasoning_only) == (4, 2)
    assert summary.cost == pytest.approx(4 * (10 * 1.0 + 5 * 2.0) / 1e6)
    lines = {line.custom_id: line for line in read_lines(tmp_path / "out.jsonl")}
    assert lines["r1|0"].reasoning_content.startswith("thinking about") and lines["r1|0"].is_reasoning_only
    assert lines["n|0"].response.body["choices"][0]["message"]["content"] is None


async def test_bodies_sent_as_written_are_priced_by_their_model(tmp_path: Path, fault_server: ServerFactory) -> None:
    server = fault_server()
    line = chat_request_line("p|0", model="priced", temperature=0.5)
    raw_body = '{ "model" : "priced", "messages": [{"role": "user", "content": "p|0"}], "temperature": 0.5 }'
    (tmp_path / "in.jsonl").write_text(
        f'{{"custom_id": "p|0", "body": {raw_body}}}\n' + json.dumps({**line, "custom_id": "q|0"}) + "\n"
    )
    summary = await _execute(tmp_path, [server.base_url], settings=fast_settings(prices={"priced": _price(1.0, 2.0)}))
    assert summary.succeeded == 2
    assert summary.cost == pytest.approx(2 * (10 * 1.0 + 5 * 2.0) / 1e6)
    assert {a.model for a in server.attempts()} == {"priced"}


async def test_bad_input_lines_are_reported_not_sent(tmp_path: Path, fault_server: ServerFactory) -> None:
    server = fault_server()
    good = {"custom_id": "g|0", "body": {"messages": [{"role": "user", "content": "g|0"}]}}
    write_raw(tmp_path / "in.jsonl", [good, {"custom_id": "nobody"}, good])
    (tmp_path / "in.jsonl").open("a").write("not json\n")
    summary = await _execute(tmp_path, [server.base_url])
    assert (summary.total, summary.succeeded, summary.malformed_input_lines) == (1, 1, 3)
    assert server.attempt_counts() == {"g|0": 1}


async def test_compact_folds_to_one_line_per_id(tmp_path: Path, fault_server: ServerFactory) -> None:
    server = fault_server(FaultPlan(server_error=1.0, faulty_attempts=2))
    write_requests(tmp_path / "in.jsonl", ["x|0", "y|0"])
    out = tmp_path / "out.jsonl"
    await _execute(tmp_path, [server.base_url], settings=fast_settings(max_attempts=1))
    await _execute(tmp_path, [server.base_url], settings=fast_settings(max_attempts=1))
    assert len(read_lines(out)) == 4
    await _execute(tmp_path, [server.base_url], settings=fast_settings(compact=True))
    lines = read_lines(out)
    assert len(lines) == 2 and all(line.ok for line in lines)
    assert final_counts(lines) == {"x|0": 1, "y|0": 1}


async def test_run_file_refuses_a_running_loop(tmp_path: Path) -> None:
    with pytest.raises(PreconditionError, match="execute_file"):
        run_file(str(tmp_path / "in.jsonl"), str(tmp_path / "out.jsonl"), endpoints=["http://127.0.0.1:9"])


def test_run_file_runs_its_own_loop(tmp_path: Path, fault_server: ServerFactory) -> None:
    server = fault_server()
    write_requests(tmp_path / "in.jsonl", ["s|0"])
    summary = run_file(
        str(tmp_path / "in.jsonl"), str(tmp_path / "out.jsonl"), endpoints=[server.base_url + "/v1/chat/completions"]
    )
    assert summary.succeeded == 1


def _price(input_per_mtok: float, output_per_mtok: float) -> Price:
    return Price(input_per_mtok=input_per_mtok, output_per_mtok=output_per_mtok)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
