"""The SGLang launcher's lifecycle against a fake ``sglang.launch_server`` on PYTHONPATH (real processes, real HTTP)."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from patchline.cli.app import main
from patchline.core.batch import iter_responses
from patchline.core.errors import UnavailableError
from patchline.gateway.launcher import SGLangServer, log_tail
from tests.fixtures.sglang_env import fake_sglang  # noqa: F401 - fixture

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("fake_sglang")]

SGLANG_KEY = "sk-sglang-0123456789abcdef"


def _alive(pid: int) -> bool:
    """True while ``pid`` exists and is not a zombie waiting for a parent that is not us."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = Path(f"/proc/{pid}/stat")
    try:
        return stat.read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (FileNotFoundError, IndexError):
        return False


def _wait_gone(pids: list[int], limit_s: float = 10.0) -> list[int]:
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        left = [pid for pid in pids if _alive(pid)]
        if not left:
            return []
        time.sleep(0.05)
    return [pid for pid in pids if _alive(pid)]


def _fake_pids(log_path: Path) -> list[int]:
    match = re.search(r"FAKE_PIDS (\d+) (\d+)", log_path.read_text())
    assert match, log_path.read_text()
    return [int(match.group(1)), int(match.group(2))]


def _server(tmp_path: Path, *args: str, **options: float) -> SGLangServer:
    return SGLangServer(
        ["--model-path", "fake/model", *args],
        log_path=tmp_path / "sglang.log",
        poll_interval_s=0.05,
        **options,  # type: ignore[arg-type]
    )


async def test_starts_answers_and_stops_without_orphans(tmp_path: Path) -> None:
    server = _server(tmp_path, "--tp-size", "1")
    async with server as base_url:
        assert base_url == f"http://127.0.0.1:{server.port}"
        async with httpx.AsyncClient(trust_env=False) as client:
            reply = await client.post(
                f"{base_url}/v1/chat/completions", json={"messages": [{"role": "user", "content": "hi"}]}
            )
        assert reply.json()["choices"][0]["message"]["content"] == "echo: hi"
        pids = _fake_pids(tmp_path / "sglang.log")
        assert all(_alive(pid) for pid in pids)
    assert _wait_gone(pids) == []
    argv = (tmp_path / "sglang.log").read_text().split("fake sglang argv:", 1)[1].splitlines()[0]
    assert '"--model-path", "fake/model", "--tp-size", "1", "--host", "127.0.0.1", "--port"' in argv


async def test_falls_back_to_v1_models(tmp_path: Path) -> None:
    async with _server(tmp_path, "--fake-mode", "no-health-generate") as base_url:
        async with httpx.AsyncClient(trust_env=False) as client:
            assert (await client.get(f"{base_url}/v1/models")).status_code == 200
        pids = _fake_pids(tmp_path / "sglang.log")
    assert _wait_gone(pids) == []


async def test_exit_during_startup_fails_at_once_with_the_log_tail(tmp_path: Path) -> None:
    started = time.monotonic()
    with pytest.raises(UnavailableError) as caught:
        async with _server(tmp_path, "--fake-mode", "exit", startup_timeout_s=120):
            pytest.fail("the server must not be reported ready")
    assert time.monotonic() - started < 30  # not the startup limit
    message = str(caught.value)
    assert "exited with status 3" in message
    assert "RuntimeError: fake failure while loading the model" in message
    assert _wait_gone(_fake_pids(tmp_path / "sglang.log")) == []  # its child is killed too


async def test_the_api_key_given_to_sglang_is_never_quoted(tmp_path: Path) -> None:
    with pytest.raises(UnavailableError) as caught:
        async with _server(tmp_path, "--fake-mode", "exit", "--api-key", SGLANG_KEY, startup_timeout_s=120):
            pytest.fail("the server must not be reported ready")
    assert SGLANG_KEY in (tmp_path / "sglang.log").read_text()  # SGLang prints its arguments...
    assert "fake sglang argv" in str(caught.value) and SGLANG_KEY not in str(caught.value)  # ...never quoted


async def test_a_temporary_log_goes_with_a_clean_stop_and_stays_after_a_failure() -> None:
    clean = SGLangServer(["--model-path", "fake/model"], poll_interval_s=0.05)
    async with clean:
        log_path = clean.log_path
        assert log_path is not None and log_path.exists()
    assert not log_path.exists()  # nothing in it is needed any more
    failed_block = SGLangServer(["--model-path", "fake/model"], poll_interval_s=0.05)
    with pytest.raises(RuntimeError, match="the run failed"):
        async with failed_block:
            raise RuntimeError("the run failed")
    assert failed_block.log_path is not None and failed_block.log_path.exists()  # kept to explain the failure
    failed_block.log_path.unlink()
    broken = SGLangServer(["--model-path", "fake/model", "--fake-mode", "exit"], poll_interval_s=0.05)
    with pytest.raises(UnavailableError) as caught:
        async with broken:
            pytest.fail("the server must not be reported ready")
    assert broken.log_path is not None and str(broken.log_path) in str(caught.value) and broken.log_path.exists()
    broken.log_path.unlink()


async def test_never_healthy_hits_the_limit_and_is_stopped(tmp_path: Path) -> None:
    with pytest.raises(UnavailableError, match=r"did not become healthy within 1\.5 s"):
        async with _server(tmp_path, "--fake-mode", "unhealthy", startup_timeout_s=1.5):
            pytest.fail("the server must not be reported ready")
    assert _wait_gone(_fake_pids(tmp_path / "sglang.log")) == []


async def test_a_server_ignoring_sigterm_is_killed(tmp_path: Path) -> None:
    async with _server(tmp_path, "--fake-mode", "stubborn", stop_timeout_s=0.5):
        pids = _fake_pids(tmp_path / "sglang.log")
    assert _wait_gone(pids) == []


async def test_cancellation_stops_the_server(tmp_path: Path) -> None:
    ready = asyncio.Event()

    async def hold() -> None:
        async with _server(tmp_path):
            ready.set()
            await asyncio.Event().wait()

    task = asyncio.create_task(hold())
    await asyncio.wait_for(ready.wait(), timeout=30)
    pids = _fake_pids(tmp_path / "sglang.log")
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert _wait_gone(pids) == []


def test_sigterm_to_patchline_stops_sglang(tmp_path: Path) -> None:
    script = (
        "import asyncio, sys\n"
        "from pathlib import Path\n"
        "from patchline.gateway.launcher import SGLangServer\n"
        "async def run():\n"
        f"    async with SGLangServer(['--model-path', 'm'], log_path=Path({str(tmp_path / 'sglang.log')!r}),"
        " poll_interval_s=0.05):\n"
        "        print('READY', flush=True)\n"
        "        await asyncio.Event().wait()\n"
        "try:\n"
        "    asyncio.run(run())\n"
        "except KeyboardInterrupt:\n"
        "    print('INTERRUPTED', flush=True)\n"
        "    sys.exit(130)\n"
    )
    process = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        assert process.stdout.readline().strip() == "READY"
        pids = _fake_pids(tmp_path / "sglang.log")
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 130
        assert process.stdout.read().strip() == "INTERRUPTED"
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert _wait_gone(pids) == []


def test_log_tail_reads_the_last_lines(tmp_path: Path) -> None:
    path = tmp_path / "x.log"
    path.write_text("".join(f"line {i}\n" for i in range(100)))
    assert log_tail(path, 3) == "line 97\nline 98\nline 99"
    assert log_tail(tmp_path / "missing.log") == ""


def test_cli_serve_and_process_batch_requests(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    requests = tmp_path / "requests.jsonl"
    requests.write_text(
        "".join(
            f'{{"custom_id": "c{i}", "body": {{"model": "m", "messages": [{{"role": "user", "content": "q{i}"}}]}}}}\n'
            for i in range(5)
        )
    )
    output = tmp_path / "out" / "responses.jsonl"
    code = main(
        [
            "infer",
            "serve_and_process_batch_requests",
            "--input_file",
            str(requests),
            "--output_file",
            str(output),
            "--concurrency",
            "2",
            "--serve",
            "--tp-size",
            "1",
            "--model-path",
            "fake/model",
            "--sglang-log",
            str(tmp_path / "sglang.log"),
        ]
    )
    assert code == 0, capsys.readouterr().err
    lines = list(iter_responses(output.read_text().splitlines(), source=str(output)))
    assert sorted((line.custom_id, line.content) for line in lines) == [(f"c{i}", f"echo: q{i}") for i in range(5)]
    assert _wait_gone(_fake_pids(tmp_path / "sglang.log")) == []


def test_cli_passes_the_sglang_api_key_through_and_never_prints_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    requests = tmp_path / "requests.jsonl"
    requests.write_text('{"custom_id": "c0", "body": {"messages": [{"role": "user", "content": "q"}]}}\n')
    output = tmp_path / "out" / "responses.jsonl"
    arguments = ["infer", "serve_and_process_batch_requests", "--input_file", str(requests)]
    arguments += ["--output_file", str(output), "--serve", "--model-path", "fake/model", "--api-key", SGLANG_KEY]
    assert main(["-vv", *arguments, "--sglang-log", str(tmp_path / "sglang.log")]) == 0
    [line] = list(iter_responses(output.read_text().splitlines(), source=str(output)))
    assert line.content == "echo: q"  # sent with SGLang's own key (the fake answers 401 without it)
    printed = capsys.readouterr()
    assert SGLANG_KEY not in printed.out + printed.err + caplog.text + output.read_text()


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--url", "http://127.0.0.1:1", "--serve", "--model-path", "m"], "--url and --serve"),
        (["--url", "http://127.0.0.1:1", "--tp-size", "2"], "unrecognized arguments: --tp-size 2"),
        (["--serve", "--model-path", "m", "--port", "8000"], "set --port"),
        (["--serve"], "--model-path"),
    ],
)
def test_cli_refuses_conflicting_flags(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], extra: list[str], message: str
) -> None:
    base = ["infer", "serve_and_process_batch_requests", "--input_file", "in", "--output_file", str(tmp_path / "o")]
    assert main([*base, *extra]) == 2
    assert message in capsys.readouterr().err
