"""The OpenAI Batch API mode against a local Batch API (tests/fixtures/batch_api_server.py) on 127.0.0.1."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from patchline.cli.app import main
from patchline.core.batch import ResponseLine, iter_responses, latest_responses
from patchline.core.settings import ApiKeys, api_keys_from_env
from patchline.core.store import ArtifactStore
from patchline.gateway.batch_api import STATE_FILE, BatchApiSettings, fetch_batch, read_state, submit_batch
from tests.fixtures.batch_api_server import BatchApiServer
from tests.fixtures.secrets import files_holding

pytestmark = pytest.mark.integration

KEY = "sk-test-batch-secret"
FAST = BatchApiSettings(poll_initial_s=0.01, poll_max_s=0.05, max_wait_s=30)


@pytest.fixture
def requests_file(lite_test_path: Path, tmp_path: Path) -> Path:
    """Eight chat requests built from real SWE-bench Lite issues; the third asks for an error answer."""
    lines = []
    for i, raw in enumerate(lite_test_path.read_text().splitlines()[:8]):
        record = json.loads(raw)
        text = record["problem_statement"][:400] + ("\nERROR" if i == 2 else "")
        body = {"model": "gpt-test", "messages": [{"role": "user", "content": text}]}
        lines.append(json.dumps({"custom_id": f"{record['instance_id']}|0", "method": "POST", "body": body}))
    path = tmp_path / "requests.jsonl"
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.fixture
def keys(monkeypatch: pytest.MonkeyPatch) -> ApiKeys:
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    monkeypatch.delenv("OPENAI_KEYS", raising=False)
    return api_keys_from_env()


def _ids(path: Path) -> list[str]:
    return [json.loads(line)["custom_id"] for line in path.read_text().splitlines()]


def _latest(path: Path) -> dict[str, ResponseLine]:
    return latest_responses(iter_responses(path.read_text().splitlines(), source=str(path)))


@pytest.fixture
def api() -> Iterator[BatchApiServer]:
    with BatchApiServer(api_key=KEY, in_progress_polls=2) as server:
        yield server


def test_cli_submit_status_fetch_across_restarts(
    api: BatchApiServer, keys: ApiKeys, requests_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run_dir, out = tmp_path / "run", tmp_path / "responses.jsonl"
    submit = ["infer", "submit", "--input_file", str(requests_file), "--url", f"{api.base_url}/v1"]
    assert main([*submit, "--run-dir", str(run_dir)]) == 0
    state = json.loads((run_dir / STATE_FILE).read_text())
    assert state["batch_id"].startswith("batch_") and state["status"] == "validating"
    # Each command below is a fresh start: everything it knows comes from the state file.
    assert main(["infer", "status", "--run-dir", str(run_dir)]) == 0
    assert "in_progress" in capsys.readouterr().out
    assert main(["infer", "fetch", "--run-dir", str(run_dir), "--output_file", str(out)]) == 4  # not finished
    assert "use --wait" in capsys.readouterr().err
    fetch = [
        "infer",
        "fetch",
        "--run-dir",
        str(run_dir),
        "--output_file",
        str(out),
        "--wait",
        "--poll-interval",
        "0.01",
    ]
    assert main(fetch) == 0
    assert "7 succeeded, 1 failed" in capsys.readouterr().out
    latest = _latest(out)
    ids = _ids(requests_file)
    assert set(latest) == set(ids)
    for custom_id in ids[:2] + ids[3:]:
        assert latest[custom_id].ok and latest[custom_id].content == f"answer to {custom_id}"
    failed = latest[ids[2]]
    assert failed.response.status_code == 400 and failed.is_final
    assert failed.error is not None and failed.error.code == "context_length_exceeded"
    lines_before = out.read_text()
    assert main(fetch) == 0  # fetching again appends nothing
    assert out.read_text() == lines_before
    assert "8 already final" in capsys.readouterr().out
    assert KEY not in (run_dir / STATE_FILE).read_text() + lines_before
    assert [call for call in api.calls if call[0] == "POST"] == [("POST", "/v1/files"), ("POST", "/v1/batches")]


async def test_submit_is_idempotent_and_adopts_a_batch_whose_id_was_lost(
    api: BatchApiServer, keys: ApiKeys, requests_file: Path, tmp_path: Path
) -> None:
    run_dir = str(tmp_path / "run")
    first = await submit_batch(str(requests_file), base_url=api.base_url, run_dir=run_dir, keys=keys, settings=FAST)
    again = await submit_batch(str(requests_file), base_url=api.base_url, run_dir=run_dir, keys=keys, settings=FAST)
    assert again.batch_id == first.batch_id
    # A process killed after creating the batch but before recording its id left only the token and file id.
    store = ArtifactStore(run_dir)
    store.write_text(STATE_FILE, first.model_copy(update={"batch_id": None, "status": None}).model_dump_json())
    adopted = await submit_batch(str(requests_file), base_url=api.base_url, run_dir=run_dir, keys=keys, settings=FAST)
    assert adopted.batch_id == first.batch_id
    assert len(api.batches) == 1
    assert [call for call in api.calls if call[0] == "POST"] == [("POST", "/v1/files"), ("POST", "/v1/batches")]


async def test_fetch_skips_ids_already_final(
    api: BatchApiServer, keys: ApiKeys, requests_file: Path, tmp_path: Path
) -> None:
    run_dir, out = str(tmp_path / "run"), tmp_path / "out.jsonl"
    ids = _ids(requests_file)
    done = ResponseLine.success(ids[0], {"choices": [{"message": {"content": "from an earlier run"}}]})
    out.write_text(done.model_dump_json() + "\n")
    await submit_batch(str(requests_file), base_url=api.base_url, run_dir=run_dir, keys=keys, settings=FAST)
    summary = await fetch_batch(run_dir, str(out), keys=keys, wait=True, settings=FAST)
    assert (summary.succeeded, summary.failed, summary.skipped) == (6, 1, 1)
    assert [json.loads(line)["custom_id"] for line in out.read_text().splitlines()].count(ids[0]) == 1
    assert _latest(out)[ids[0]].content == "from an earlier run"


async def test_expired_batch_keeps_answers_and_marks_the_rest_retryable(
    keys: ApiKeys, requests_file: Path, tmp_path: Path
) -> None:
    run_dir, out = str(tmp_path / "run"), tmp_path / "out.jsonl"
    with BatchApiServer(api_key=KEY, outcome="expired") as api:
        await submit_batch(str(requests_file), base_url=api.base_url, run_dir=run_dir, keys=keys, settings=FAST)
        summary = await fetch_batch(run_dir, str(out), keys=keys, wait=True, settings=FAST)
    assert summary.status == "expired"
    latest = _latest(out)
    ids = _ids(requests_file)
    assert [latest[i].ok for i in ids] == [True, True, False, True, False, False, False, False]
    for custom_id in ids[4:]:
        line = latest[custom_id]
        assert line.error is not None and line.error.code == "batch_expired"
        assert line.response.status_code == 0 and not line.is_final  # the executor will send these again
    state = read_state(ArtifactStore(run_dir))
    assert state is not None and state.status == "expired"


async def test_failed_batch_gives_every_request_a_failure_line(
    keys: ApiKeys, requests_file: Path, tmp_path: Path
) -> None:
    run_dir, out = str(tmp_path / "run"), tmp_path / "out.jsonl"
    with BatchApiServer(api_key=KEY, outcome="failed") as api:
        await submit_batch(str(requests_file), base_url=api.base_url, run_dir=run_dir, keys=keys, settings=FAST)
        summary = await fetch_batch(run_dir, str(out), keys=keys, wait=True, settings=FAST)
    assert (summary.status, summary.succeeded, summary.unanswered) == ("failed", 0, 8)
    for line in _latest(out).values():
        assert line.error is not None and line.error.code == "batch_failed"
        assert "model not found" in line.error.message and not line.is_final


def test_a_wrong_key_is_refused_without_showing_it(
    requests_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-wrong-secret")
    with BatchApiServer(api_key=KEY) as api:
        code = main(
            ["infer", "submit", "--input_file", str(requests_file), "--url", api.base_url, "--run-dir", str(tmp_path)]
        )
    err = capsys.readouterr().err
    assert code == 2 and "HTTP 401" in err
    assert "sk-wrong-secret" not in err


def test_status_without_a_submission_is_a_precondition_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["infer", "status", "--run-dir", str(tmp_path)]) == 4
    assert "patchline infer submit" in capsys.readouterr().err


@pytest.mark.parametrize("outcome", ["completed", "failed"])
def test_a_provider_that_echoes_the_key_leaves_it_in_no_file_and_no_message(
    outcome: str,
    keys: ApiKeys,
    requests_file: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    run_dir, out = tmp_path / "run", tmp_path / "out.jsonl"
    with BatchApiServer(api_key=KEY, outcome=outcome, echo_key=True) as api:
        submit = ["infer", "submit", "--input_file", str(requests_file), "--url", api.base_url]
        assert main(["-vv", *submit, "--run-dir", str(run_dir)]) == 0
        fetch = ["infer", "fetch", "--run-dir", str(run_dir), "--output_file", str(out), "--wait"]
        assert main(["-vv", *fetch, "--poll-interval", "0.01"]) == 0
        assert main(["infer", "status", "--run-dir", str(run_dir)]) == 0
        # A 401 that quotes the wrong key back.
        monkeypatch.setenv("OPENAI_API_KEY", "sk-wrong-secret")
        code = main(
            [
                "infer",
                "submit",
                "--input_file",
                str(requests_file),
                "--url",
                api.base_url,
                "--run-dir",
                str(tmp_path / "other"),
            ]
        )
    assert code == 2
    captured = capsys.readouterr()
    messages = [line.error.message for line in _latest(out).values() if line.error is not None]
    assert messages and all("Bearer <redacted>" in m for m in messages if "authorization" in m)
    assert any("authorization 'Bearer <redacted>'" in m for m in messages)  # the echo happened
    assert "bad key 'Bearer <redacted>'" in captured.err
    assert KEY not in captured.out + captured.err and "sk-wrong-secret" not in captured.err
    assert files_holding(tmp_path, [KEY, "sk-wrong-secret"]) == []
