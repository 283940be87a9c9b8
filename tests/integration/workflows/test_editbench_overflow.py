"""EditBench run against a model server that answers 400 "context too long" the way real providers word it.

The server on 127.0.0.1 reads the case name from the requirement, and refuses prompts longer than that
case's limit with the provider's own status and wording; otherwise it answers with a diff. A case may
also fail once with an unrelated 400 (then the next run must retry it and replace the failed record).
"""

from __future__ import annotations

import asyncio
import json
import re
import threading
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from patchline.core.layout import editbench_result, editbench_work_dir
from patchline.gateway import ExecutorSettings, ModelEndpoints
from patchline.pipeline.editbench import RunOptions, run_editbench
from patchline.workflows.editbench import ModelConfig, PromptTemplates, render_prompt

pytestmark = pytest.mark.integration

PROVIDERS: dict[str, tuple[int, dict[str, Any]]] = {
    "openai": (400, {"error": {"message": "This model's maximum context length is 8192 tokens. However, your "
                               "messages resulted in 9000 tokens.", "type": "invalid_request_error",
                               "code": "context_length_exceeded"}}),
    "anthropic": (400, {"type": "error", "error": {"type": "invalid_request_error",
                                                   "message": "prompt is too long: 210000 tokens > 200000 maximum"}}),
    "gemini": (400, {"error": {"code": 400, "status": "INVALID_ARGUMENT", "message": "The input token count "
                               "(1200000) exceeds the maximum number of tokens allowed (1048576)."}}),
    "sglang": (400, {"object": "error", "message": "The input (9000 tokens) is longer than the model's context "
                     "length (8192 tokens).", "type": "BadRequestError", "code": 400}),
    "dashscope": (400, {"code": "InvalidParameter", "message": "Range of input length should be [1, 30720]"}),
    "proxy": (413, {"detail": "Request Entity Too Large"}),
}  # fmt: skip
EXECUTOR = ExecutorSettings(concurrency=4, max_attempts=2, backoff_base_seconds=0)
ANSWER = "Here it is.\n```diff\n--- a/pkg/m0.py\n+++ b/pkg/m0.py\n@@ -1 +1 @@\n-line 0\n+line zero\n```\n"


class LimitServer:
    """Chat completions on loopback with a prompt-length limit per case (see the module docstring)."""

    def __init__(self, provider: str, limits: dict[str, int], fail_once: set[str]) -> None:
        self.status, self.body = PROVIDERS[provider]
        self.limits, self.fail_once = limits, set(fail_once)
        self.lengths: dict[str, list[int]] = {}
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._runner: web.AppRunner | None = None
        self.base_url = ""

    async def _chat(self, request: web.Request) -> web.Response:
        body = await request.json()
        user = body["messages"][-1]["content"]
        case = re.search(r"case-(\w+)", user)
        assert case is not None and body["messages"][0]["role"] == "system"
        name = case.group(1)
        self.lengths.setdefault(name, []).append(len(user))
        if name in self.fail_once:
            self.fail_once.discard(name)
            return web.json_response({"error": {"message": "unsupported parameter: top_k"}}, status=400)
        if len(user) > self.limits[name]:
            return web.json_response(self.body, status=self.status)
        message = {"role": "assistant", "content": ANSWER}
        usage = {"prompt_tokens": len(user) // 4, "completion_tokens": 20, "total_tokens": len(user) // 4 + 20}
        return web.json_response({"id": "x", "object": "chat.completion", "choices": [{"index": 0, "message": message,
                                  "finish_reason": "stop"}], "usage": usage})  # fmt: skip

    async def _start(self) -> None:
        app = web.Application()
        app.router.add_post("/v1/chat/completions", self._chat)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.base_url = f"http://127.0.0.1:{self._runner.addresses[0][1]}"

    def __enter__(self) -> LimitServer:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._start(), self._loop).result(timeout=10)
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._runner is not None
        asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(timeout=10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
        self._loop.close()


def _module(lines: int, tag: str) -> str:
    return "".join(f"line {i} {tag}\n" for i in range(lines))


def _infbench(path: Path, cases: dict[str, dict[str, str]]) -> None:
    templates = PromptTemplates.load()
    with path.open("w", encoding="utf-8") as out:
        for name, files in cases.items():
            prompt = render_prompt(templates, requirement=f"Do the work of case-{name}", files=files, pre_edits=[])
            record = {"instance_id": f"org__repo-pull-{name}", "repo": "org/repo", "work_patch_list": [["x"]],
                      "files_work": list(files), "prompt": prompt, "split_idx": 0, "pre_edits": [],
                      "ground_truth": ""}  # fmt: skip
            out.write(json.dumps(record) + "\n")


def _cases() -> dict[str, dict[str, str]]:
    return {
        "drop": {f"pkg/m{i}.py": _module(150, f"m{i}") for i in range(3)},  # three files, fits with one
        "halve": {"pkg/big.py": _module(2400, "big")},  # one file of 2400 lines, fits at 1200
        "nothing": {"pkg/small.py": _module(100, "small")},  # one small file that never fits
        "flaky": {"pkg/m0.py": _module(10, "flaky")},
    }


def _limits(cases: dict[str, dict[str, str]]) -> dict[str, int]:
    templates = PromptTemplates.load()
    one_file = render_prompt(templates, requirement="case-drop", files={"a": _module(150, "m0")}, pre_edits=[])
    half = render_prompt(templates, requirement="case-halve", files={"pkg/big.py": _module(1200, "big")}, pre_edits=[])
    return {"drop": len(one_file) + 200, "halve": len(half) + 200, "nothing": 500, "flaky": 100_000}


def _results(root: Path, model: str) -> list[dict[str, Any]]:
    path = root / editbench_result(model, 0.0, 1, "repo-task-instances_x")
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


@pytest.mark.parametrize("provider", sorted(PROVIDERS))
def test_overflow_is_shrunk_and_failures_retried(provider: str, tmp_path: Path) -> None:
    cases = _cases()
    infbench = tmp_path / "repo-task-instances_x.jsonl"
    _infbench(infbench, cases)
    with LimitServer(provider, _limits(cases), fail_once={"flaky"}) as server:
        options = RunOptions(endpoints=ModelEndpoints(urls=[server.base_url]), root=str(tmp_path), executor=EXECUTOR)
        first = run_editbench(str(infbench), "local-model", "x", options)
        assert (first.totals.succeeded, first.totals.failed, first.totals.shrunk) == (2, 2, 3)
        assert not first.config_known
        records = {r["instance_id"].rsplit("-", 1)[1]: r for r in _results(tmp_path, "local-model")}
        assert records["drop"]["prompt"].count("[start of ") == 1 and "model_patch" in records["drop"]
        assert records["drop"]["model_patch"].startswith("--- a/pkg/m0.py")
        kept = records["halve"]["prompt"].split("[start of pkg/big.py]\n")[1].split("\n[end of")[0].split("\n")
        assert len(kept) == 1200 and kept[-1] == "1200 line 1199 big"
        assert records["nothing"]["status"] == "failed" and records["nothing"]["error"] == "input context exceeded"
        assert records["flaky"]["status"] == "failed" and "unsupported parameter" in records["flaky"]["error"]
        assert len(server.lengths["drop"]) == 3 and server.lengths["drop"] == sorted(
            server.lengths["drop"], reverse=True
        )

        second = run_editbench(str(infbench), "local-model", "x", options)
        assert (second.totals.already_done, second.totals.succeeded, second.totals.failed) == (2, 1, 1)
        records_after = _results(tmp_path, "local-model")
        assert Counter(r["instance_id"] for r in records_after) == Counter({f"org__repo-pull-{n}": 1 for n in cases})
        flaky = next(r for r in records_after if r["instance_id"].endswith("flaky"))
        assert "status" not in flaky and flaky["cost"] == 0.0 and flaky["response_time"] > 0
    assert not list((tmp_path / ".patchline").rglob("*.jsonl"))


def test_answers_of_a_run_that_died_mid_round_are_harvested(tmp_path: Path) -> None:
    cases = _cases()
    infbench = tmp_path / "repo-task-instances_x.jsonl"
    _infbench(infbench, cases)
    work = tmp_path / editbench_work_dir("repo-task-instances_x.jsonl", "local-model")
    work.mkdir(parents=True)
    prompt = json.loads(infbench.read_text().splitlines()[3])["prompt"]
    system, user = prompt.split("\n", 1)
    request = {"custom_id": "org__repo-pull-flaky", "method": "POST", "url": "/v1/chat/completions",
               "body": {"model": "local-model", "messages": [{"role": "system", "content": system},
                                                             {"role": "user", "content": user}]}}  # fmt: skip
    answer = {"id": "batch_req_1", "custom_id": "org__repo-pull-flaky", "error": None, "patchline": {"latency_s": 1.5},
              "response": {"status_code": 200, "body": {"choices": [{"message": {"content": ANSWER}}]}}}  # fmt: skip
    (work / "round-0-requests.jsonl").write_text(json.dumps(request) + "\n")
    (work / "round-0-responses.jsonl").write_text(json.dumps(answer) + "\n")
    with LimitServer("openai", _limits(cases), fail_once=set()) as server:
        summary = run_editbench(
            str(infbench),
            "local-model",
            "x",
            RunOptions(ModelEndpoints(urls=[server.base_url]), str(tmp_path), executor=EXECUTOR),
        )
        assert "flaky" not in server.lengths  # its answer was already there
    assert summary.totals.harvested == 1 and summary.totals.succeeded == 3
    flaky = next(r for r in _results(tmp_path, "local-model") if r["instance_id"].endswith("flaky"))
    assert flaky["prompt"] == prompt and flaky["response_time"] == 1.5 and flaky["model_patch"].startswith("--- a/")
    assert not list(work.glob("*.jsonl"))


def test_a_prompt_far_over_a_known_limit_is_shrunk_before_it_is_sent(tmp_path: Path) -> None:
    cases = {"drop": _cases()["drop"]}
    infbench = tmp_path / "repo-task-instances_x.jsonl"
    _infbench(infbench, cases)
    infbench.write_text(infbench.read_text() * 2)  # the same instance twice: sent once
    one_file = _limits(_cases())["drop"]
    configs = {"small-model": ModelConfig(context_limit=one_file // 2)}  # 2 bytes per token: one file fits
    with LimitServer("openai", {"drop": 10**9}, fail_once=set()) as server:
        options = RunOptions(ModelEndpoints(urls=[server.base_url]), str(tmp_path), executor=EXECUTOR, configs=configs)
        summary = run_editbench(str(infbench), "small-model", "x", options)
        assert summary.totals.succeeded == 1 and summary.config_known
        assert len(server.lengths["drop"]) == 1 and server.lengths["drop"][0] < one_file
    (record,) = _results(tmp_path, "small-model")
    assert record["prompt"].count("[start of ") == 1
