"""The oracle server over HTTP on 127.0.0.1: answers, errors, both ways of running it, the executor and the CLI."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from patchline.core.batch import iter_responses, latest_responses
from patchline.edits import find_diffs, search_replace_from_diff
from patchline.gateway import ExecutorSettings, execute_file
from patchline.oracle import OracleServer, load_gold

pytestmark = pytest.mark.integration

IDS = ["astropy__astropy-14182", "django__django-11099", "pallets__flask-4045", "sympy__sympy-20590"]


def _chat(content: str, model: str = "oracle-test") -> dict[str, object]:
    return {
        "model": model,
        "messages": [{"role": "system", "content": "You fix bugs."}, {"role": "user", "content": content}],
    }


async def test_answers_errors_and_routes(lite_test_path: Path) -> None:
    gold = {inst.instance_id: inst for inst in load_gold(lite_test_path)}
    inst = gold["django__django-11099"]
    async with OracleServer(lite_test_path) as oracle, httpx.AsyncClient(base_url=oracle.base_url) as client:
        assert oracle.base_url.startswith("http://127.0.0.1:")
        reply = await client.post(
            "/v1/chat/completions", json=_chat(f"{inst.problem_statement}\nAnswer with <<<<<<< SEARCH edits.")
        )
        assert reply.status_code == 200
        body = reply.json()
        assert body["object"] == "chat.completion" and body["model"] == "oracle-test"
        assert body["choices"][0]["message"]["content"] == search_replace_from_diff(inst.patch)
        assert body["usage"]["prompt_tokens"] > 0 and body["usage"]["completion_tokens"] > 0

        unknown = await client.post("/v1/chat/completions", json=_chat("Please fix my printer."))
        assert unknown.status_code == 404
        error = unknown.json()["error"]
        assert error["code"] == "instance_not_found" and error["type"] == "not_found_error" and error["message"]

        bad = await client.post(
            "/v1/chat/completions", content=b"{not json", headers={"content-type": "application/json"}
        )
        assert bad.status_code == 400 and bad.json()["error"]["code"] == "invalid_json"
        empty = await client.post("/v1/chat/completions", json={"model": "x", "messages": []})
        assert empty.status_code == 400

        models = (await client.get("/v1/models")).json()
        assert models["data"][0]["id"] == "oracle"
        for path in ("/health", "/health_generate"):
            health = await client.get(path)
            assert health.status_code == 200 and health.json()["instances"] == 300


def test_threaded_server_serves_and_stops(lite_test_path: Path) -> None:
    gold = {inst.instance_id: inst for inst in load_gold(lite_test_path)}
    inst = gold["astropy__astropy-14182"]
    with OracleServer(lite_test_path, reasoning="field") as oracle:
        url = oracle.base_url
        reply = httpx.post(f"{url}/v1/chat/completions", json=_chat(f"{inst.problem_statement}\nUse <patch> tags."))
        message = reply.json()["choices"][0]["message"]
        assert find_diffs(message["content"])[0].strip() == inst.patch.strip()
        assert "astropy__astropy-14182" in message["reasoning_content"]
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{url}/health", timeout=2)


async def test_executor_round_trip_through_the_oracle(lite_test_path: Path, tmp_path: Path) -> None:
    gold = {inst.instance_id: inst for inst in load_gold(lite_test_path)}
    requests = tmp_path / "requests.jsonl"
    lines = [
        {"custom_id": iid, "body": _chat(f"{gold[iid].problem_statement}\nAnswer in <patch></patch>.")} for iid in IDS
    ]
    lines.append({"custom_id": "unknown", "body": _chat("An issue no dataset has.\n<patch>")})
    requests.write_text("".join(json.dumps(line) + "\n" for line in lines))
    output = tmp_path / "responses.jsonl"
    settings = ExecutorSettings(concurrency=4, max_attempts=2)
    async with OracleServer(lite_test_path) as oracle:
        summary = await execute_file(str(requests), str(output), endpoints=[oracle.base_url], settings=settings)
    assert (summary.succeeded, summary.failed) == (4, 1)
    latest = latest_responses(iter_responses(output.read_text().splitlines(), source=str(output)))
    for iid in IDS:
        assert find_diffs(latest[iid].content)[0].strip() == gold[iid].patch.strip()
    assert latest["unknown"].response.status_code == 404 and latest["unknown"].is_final


def test_cli_oracle_serve(lite_test_path: Path) -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "patchline", "oracle", "serve", "--dataset", str(lite_test_path), "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        banner = process.stdout.readline()
        assert "300 instances, serving on http://127.0.0.1:" in banner, process.stderr and process.stderr.read()
        url = banner.rsplit(" ", 1)[1].strip()
        assert httpx.get(f"{url}/health_generate").status_code == 200
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=30) == 130
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
