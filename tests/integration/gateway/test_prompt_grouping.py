"""Prompt-cache-aware sending over real HTTP: samples of a prompt one after another, on one endpoint."""

from __future__ import annotations

import itertools
import json
import random
from collections import defaultdict
from pathlib import Path

import pytest

from patchline.gateway import execute_file
from tests.fixtures.fault_server import FaultPlan, chat_request_line
from tests.integration.gateway.conftest import ServerFactory, fast_settings, final_counts, read_lines

pytestmark = pytest.mark.integration

LATENCY_S = 0.05


def _write_samples(path: Path, prompts: int, samples: int, *, shuffle: bool) -> list[str]:
    """``samples`` lines per prompt (same messages, a seed each); the server's key is the prompt's text."""
    lines = []
    for n in range(prompts):
        for k in range(samples):
            line = chat_request_line(f"prompt-{n}", seed=k, temperature=0.0 if k == 0 else 0.8)
            line["custom_id"] = f"inst-{n}|{k}"
            lines.append(line)
    if shuffle:
        random.Random(3).shuffle(lines)
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    return [line["custom_id"] for line in lines]


def _overlaps(times: list[float]) -> bool:
    ordered = sorted(times)
    return any(b - a < LATENCY_S * 0.8 for a, b in itertools.pairwise(ordered))


async def test_samples_of_a_prompt_go_one_after_another_to_one_endpoint(
    tmp_path: Path, fault_server: ServerFactory
) -> None:
    servers = [fault_server(FaultPlan(latency_s=LATENCY_S)) for _ in range(2)]
    ids = _write_samples(tmp_path / "in.jsonl", prompts=8, samples=4, shuffle=True)
    out = tmp_path / "out.jsonl"
    summary = await execute_file(
        str(tmp_path / "in.jsonl"), str(out), endpoints=[s.base_url for s in servers], settings=fast_settings()
    )
    assert summary.succeeded == len(ids)
    arrivals: dict[str, list[float]] = defaultdict(list)
    homes: dict[str, set[int]] = defaultdict(set)
    for index, server in enumerate(servers):
        for attempt in server.attempts():
            arrivals[attempt.key].append(attempt.at)
            homes[attempt.key].add(index)
    assert sorted(arrivals) == [f"prompt-{n}" for n in range(8)]
    assert all(len(times) == 4 for times in arrivals.values())
    assert not any(_overlaps(times) for times in arrivals.values())  # never two samples of one prompt at once
    assert all(len(home) == 1 for home in homes.values())  # each prompt stays on one endpoint
    assert all(server.attempts() for server in servers)  # and the prompts are spread over both
    everything = sorted(t for times in arrivals.values() for t in times)
    assert _overlaps(everything)  # different prompts are in flight together
    assert final_counts(read_lines(out)) == dict.fromkeys(ids, 1)


async def test_without_grouping_samples_of_a_prompt_are_sent_at_once(
    tmp_path: Path, fault_server: ServerFactory
) -> None:
    server = fault_server(FaultPlan(latency_s=LATENCY_S))
    _write_samples(tmp_path / "in.jsonl", prompts=1, samples=6, shuffle=False)
    await execute_file(
        str(tmp_path / "in.jsonl"),
        str(tmp_path / "out.jsonl"),
        endpoints=[server.base_url],
        settings=fast_settings(prompt_grouping=False),
    )
    assert _overlaps([a.at for a in server.attempts()])


async def test_a_long_run_of_one_prompt_stays_bounded_and_complete(tmp_path: Path, fault_server: ServerFactory) -> None:
    server = fault_server()
    ids = _write_samples(tmp_path / "in.jsonl", prompts=3, samples=40, shuffle=False)
    out = tmp_path / "out.jsonl"
    summary = await execute_file(
        str(tmp_path / "in.jsonl"), str(out), endpoints=[server.base_url], settings=fast_settings(concurrency=4)
    )
    assert (summary.total, summary.succeeded) == (120, 120)
    assert final_counts(read_lines(out)) == dict.fromkeys(ids, 1)
