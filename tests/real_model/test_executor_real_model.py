"""The executor against real llama.cpp replicas serving SmolLM2-135M: samples, n > 1, kill -9, a too-long prompt.

Texts are never compared across requests: llama.cpp batches concurrent requests, and a batched or cold
prefill may sample differently from a cached one even at temperature 0. The tests check structure, ids,
the accounting the server reports and the order the executor sends in.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import pytest

from patchline.core.batch import ResponseLine, iter_responses
from patchline.gateway import ExecutorSettings, run_file

pytestmark = [pytest.mark.real_model, pytest.mark.integration]

QUESTIONS = (
    "Name a prime number.",
    "What colour is the sky?",
    "Say hello in French.",
    "What is two plus two?",
    "Name a fruit.",
)


def _request(custom_id: str, content: str, **body: Any) -> dict[str, Any]:
    return {
        "custom_id": custom_id,
        "method": "POST",
        "url": "/v1/chat/completions",
        "body": {"model": "SmolLM2-135M-Instruct", "messages": [{"role": "user", "content": content}], **body},
    }


def _write(path: Path, lines: list[dict[str, Any]]) -> None:
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))


def _lines(path: Path) -> list[ResponseLine]:
    return list(iter_responses(path.read_bytes().splitlines(keepends=True), source=str(path)))


def _stats(line: ResponseLine) -> dict[str, Any]:
    stats: dict[str, Any] = (line.model_extra or {})["patchline"]
    return stats


def test_samples_with_seeds_and_n_on_two_replicas(tmp_path: Path, replicas: list[str]) -> None:
    requests = [
        _request(f"q{i}|{k}", question, seed=1000 * i + k, temperature=0.8, max_tokens=8)
        for i, question in enumerate(QUESTIONS)
        for k in range(3)
    ]
    requests.append(_request("pair|0", "Name two animals.", n=2, seed=5, temperature=0.8, max_tokens=8))
    _write(tmp_path / "in.jsonl", requests)
    out = tmp_path / "out.jsonl"
    summary = run_file(
        str(tmp_path / "in.jsonl"), str(out), endpoints=replicas, settings=ExecutorSettings(concurrency=4)
    )
    lines = _lines(out)
    assert Counter(line.custom_id for line in lines) == dict.fromkeys((r["custom_id"] for r in requests), 1)
    assert all(line.ok and line.content for line in lines)
    assert (summary.succeeded, summary.failed) == (len(requests), 0)
    by_id = {line.custom_id: line for line in lines}
    assert len(by_id["pair|0"].response.body["choices"]) == 2
    assert summary.prompt_tokens == sum(line.usage["prompt_tokens"] for line in lines)
    assert summary.completion_tokens == sum(line.usage["completion_tokens"] for line in lines) > 0
    cached = {cid: _stats(line)["cached_tokens"] for cid, line in by_id.items()}
    assert summary.cached_tokens == sum(cached.values())
    homes: dict[str, set[int]] = defaultdict(set)
    for cid, line in by_id.items():
        homes[cid.split("|")[0]].add(_stats(line)["endpoint_index"])
    assert all(len(home) == 1 for home in homes.values())  # each prompt's samples on one replica
    assert set().union(*homes.values()) == {0, 1}  # and the prompts spread over both
    # Sent after the first sample had finished, on its replica, a later sample finds the whole prompt but its last
    # token cached, unless another prompt's request took that slot in between (4 slots, 4 requests in flight):
    # most do, none is cached beyond its prompt.
    fully_cached, later_samples = 0, 0
    for i in range(len(QUESTIONS)):
        prompt = by_id[f"q{i}|0"].usage["prompt_tokens"]
        for k in (1, 2):
            assert 0 <= cached[f"q{i}|{k}"] <= prompt - 1, (i, k, prompt, cached[f"q{i}|{k}"])
            fully_cached += cached[f"q{i}|{k}"] == prompt - 1
            later_samples += 1
    assert fully_cached * 2 > later_samples, (fully_cached, later_samples)


def test_kill_nine_mid_run_then_rerun_gives_one_final_line_each(tmp_path: Path, replicas: list[str]) -> None:
    ids = [f"k{i}|{k}" for i in range(6) for k in range(3)]
    _write(
        tmp_path / "in.jsonl",
        [_request(cid, f"Count to {cid[1]}.", seed=k, max_tokens=16) for k, cid in enumerate(ids)],
    )
    out = tmp_path / "out.jsonl"
    command = [sys.executable, "-m", "patchline", "infer", "run", "--input", str(tmp_path / "in.jsonl")]
    command += ["--output", str(out), "--concurrency", "2", *(arg for url in replicas for arg in ("--url", url))]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and process.poll() is None:
            if out.exists() and len(out.read_bytes().splitlines()) >= 3:
                break
            time.sleep(0.05)  # polling the output file for a condition, not waiting a fixed time
        assert process.poll() is None, "the run finished before it could be killed"
        os.kill(process.pid, signal.SIGKILL)
        process.wait(timeout=10)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    before = {line.custom_id for line in _lines(out) if line.is_final}
    assert 3 <= len(before) < len(ids)
    summary = run_file(str(tmp_path / "in.jsonl"), str(out), endpoints=replicas)
    assert summary.skipped == len(before) and summary.succeeded == len(ids) - len(before)
    finals = Counter(line.custom_id for line in _lines(out) if line.is_final)
    assert finals == dict.fromkeys(ids, 1)


def test_a_prompt_longer_than_the_slot_is_one_permanent_failure(tmp_path: Path, replicas: list[str]) -> None:
    long_prompt = "Summarise this: " + "the quick brown fox jumps over the lazy dog " * 150  # ~1,400 tokens
    _write(
        tmp_path / "in.jsonl", [_request("long|0", long_prompt, max_tokens=8), _request("short|0", "Hi.", max_tokens=4)]
    )
    out = tmp_path / "out.jsonl"
    settings = ExecutorSettings(max_attempts=5, backoff_base_seconds=0.01, backoff_cap_seconds=0.05)
    summary = run_file(str(tmp_path / "in.jsonl"), str(out), endpoints=replicas, settings=settings)
    assert (summary.succeeded, summary.failed, summary.retries) == (1, 1, 0)
    (failure,) = [line for line in _lines(out) if line.custom_id == "long|0"]
    assert failure.response.status_code == 400 and failure.is_final
    assert failure.response.body["error"]["type"] == "exceed_context_size_error"
    assert failure.error is not None and "exceeds the available context size" in failure.error.message
    assert _stats(failure)["attempts"] == 1
    again = run_file(str(tmp_path / "in.jsonl"), str(out), endpoints=replicas, settings=settings)
    assert (again.skipped, again.attempts) == (2, 0)  # final: never sent again
    assert len(_lines(out)) == 2
