"""Starting llama.cpp replicas: the command line and ``patchline run``'s launcher, with the real wheel."""

from __future__ import annotations

import json
import time
from pathlib import Path

import httpx
import pytest

from patchline.cli.app import main
from patchline.core.batch import iter_responses
from patchline.core.errors import UnavailableError
from patchline.gateway.launcher import llamacpp_servers
from tests.fixtures.llamacpp import small_engine

pytestmark = [pytest.mark.real_model, pytest.mark.integration]


def test_serve_and_process_with_dp_size_two(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    requests = tmp_path / "requests.jsonl"
    lines = [
        {"custom_id": f"c{i}", "body": {"messages": [{"role": "user", "content": f"Say {i}."}], "max_tokens": 4}}
        for i in range(4)
    ]
    requests.write_text("".join(json.dumps(line) + "\n" for line in lines))
    output = tmp_path / "responses.jsonl"
    command = ["infer", "serve_and_process_batch_requests", "--input_file", str(requests), "--output_file"]
    command += [str(output), "--serve", "--engine", "llamacpp", "--dp-size", "2", "--threads", "1", "--slots", "2"]
    command += ["--ctx-per-slot", "512", "--server-log-dir", str(tmp_path / "logs")]
    assert main(command) == 0, capsys.readouterr().err
    answers = list(iter_responses(output.read_text().splitlines(), source=str(output)))
    assert sorted(a.custom_id for a in answers) == [f"c{i}" for i in range(4)] and all(a.ok for a in answers)
    assert {(a.model_extra or {})["patchline"]["endpoint_index"] for a in answers} == {0, 1}
    logs = sorted(p.name for p in (tmp_path / "logs").iterdir())
    assert logs == ["llamacpp-0.log", "llamacpp-1.log"]
    assert all("llama.cpp stopped" in (tmp_path / "logs" / name).read_text() for name in logs)


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--tp-size", "2"], "unrecognized arguments for --engine llamacpp: --tp-size 2"),
        (["--slots", "0"], "slots"),
        (["--model-path", "weights.bin"], ".gguf"),
    ],
)
def test_bad_llamacpp_flags_are_refused_before_anything_starts(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], extra: list[str], message: str
) -> None:
    command = ["infer", "serve_and_process_batch_requests", "--input_file", "in", "--output_file", str(tmp_path / "o")]
    assert main([*command, "--serve", "--engine", "llamacpp", *extra]) == 2
    assert message in capsys.readouterr().err


async def test_a_replica_that_cannot_load_fails_at_once_with_its_log(tmp_path: Path) -> None:
    bogus = tmp_path / "broken.gguf"
    bogus.write_text("not a model")
    started = time.monotonic()
    with pytest.raises(UnavailableError, match=r"llama\.cpp exited with status") as caught:
        async with llamacpp_servers(small_engine(model=str(bogus), replicas=2), log_dir=tmp_path / "logs"):
            pytest.fail("a replica must not be reported ready")
    assert time.monotonic() - started < 60
    assert "last lines" in str(caught.value) and "broken.gguf" in str(caught.value)


async def test_replicas_answer_health_and_are_gone_after_the_block(tmp_path: Path) -> None:
    async with llamacpp_servers(small_engine(replicas=2), log_dir=tmp_path) as urls, httpx.AsyncClient() as client:
        assert [(await client.get(f"{u}/health")).status_code for u in urls] == [200, 200]
        models = (await client.get(f"{urls[0]}/v1/models")).json()
    assert models["data"][0]["id"] == "SmolLM2-135M-Instruct"
    async with httpx.AsyncClient(trust_env=False) as client:
        for url in urls:
            with pytest.raises(httpx.ConnectError):
                await client.get(f"{url}/health")
