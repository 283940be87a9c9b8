"""`patchline run` of an InferenceRun: in-process, resumed, and through the services on a loopback port."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from patchline.core.errors import InputError, PatchlineError
from patchline.core.settings import KeySets
from patchline.core.spec import load_manifest
from patchline.pipeline.runner import RunnerSettings, run_manifest
from patchline.servers import RunningServer, create_server
from tests.fixtures.fault_server import FaultPlan, FaultServer, write_requests
from tests.fixtures.secrets import files_holding
from tests.fixtures.serving import served
from tests.fixtures.sglang_env import fake_sglang  # noqa: F401 - fixture

pytestmark = pytest.mark.integration


def _manifest(tmp_path: Path, url: str, *, executor_extra: str = "") -> Path:
    write_requests(tmp_path / "requests.jsonl", [f"q{i}" for i in range(12)])
    path = tmp_path / "run.yaml"
    path.write_text(
        f"""
apiVersion: patchline.dev/v1alpha1
kind: InferenceRun
metadata:
  name: smoke
spec:
  engine:
    type: endpoint
    urls: ["{url}"]
    model: served-model
  input: {tmp_path / "requests.jsonl"}
  output: {tmp_path / "out" / "responses.jsonl"}
  executor:
    concurrency: 4
    timeoutSeconds: 10
{executor_extra}"""
    )
    return path


@pytest.fixture
async def services(tmp_path: Path) -> AsyncIterator[RunningServer]:
    running = await create_server(served(tmp_path))
    yield running
    await running.stop(0)


async def test_inference_run_in_process_then_skipped_on_rerun(tmp_path: Path) -> None:
    with FaultServer() as model:
        run = load_manifest(_manifest(tmp_path, model.base_url))
        report = await run_manifest(run, RunnerSettings(base=str(tmp_path)))
        assert [r.name for r in report.stages] == ["infer"] and not report.reused
        assert report.stages[0].counts.succeeded == 12
        assert {a.model for a in model.attempts()} == {"served-model"}  # the engine's model overrides body.model
        again = await run_manifest(run, RunnerSettings(base=str(tmp_path)))
        assert [r.name for r in again.stages] == ["infer"] and again.reused == {"infer"}
        assert len(model.attempts()) == 12
    lines = (tmp_path / "out" / "responses.jsonl").read_text().splitlines()
    assert len(lines) == 12
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    assert manifest["run"]["kind"] == "InferenceRun" and manifest["stages"][0]["operation"] == "gateway.execute"
    assert len(manifest["hashes"]["spec"]) == 64
    assert (tmp_path / "out" / "stages" / "infer.json").exists()


async def test_inference_run_through_the_services(tmp_path: Path, services: RunningServer) -> None:
    with FaultServer() as model:
        run = load_manifest(_manifest(tmp_path, model.base_url))
        report = await run_manifest(run, RunnerSettings(base=str(tmp_path), via=f"127.0.0.1:{services.port}"))
    [record] = report.stages
    assert not report.reused and record.counts.succeeded == 12
    assert record.artifacts["responses"] == str(tmp_path / "out" / "responses.jsonl")
    assert len((tmp_path / "out" / "responses.jsonl").read_text().splitlines()) == 12


async def test_endpoint_override_replaces_the_engine(tmp_path: Path) -> None:
    with FaultServer() as real, FaultServer() as other:
        run = load_manifest(_manifest(tmp_path, "http://127.0.0.1:9"))
        await run_manifest(run, RunnerSettings(base=str(tmp_path), endpoint_override=other.base_url))
        assert len(other.attempts()) == 12 and not real.attempts()


def test_a_bad_manifest_names_the_field(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("apiVersion: patchline.dev/v1alpha1\nkind: InferenceRun\nmetadata: {name: x}\nspec: {input: a}\n")
    with pytest.raises(InputError, match="engine"):
        load_manifest(path)


@pytest.mark.parametrize("via_services", [False, True], ids=["in-process", "through-the-services"])
async def test_the_manifest_deadline_reaches_the_executor(
    tmp_path: Path, services: RunningServer, via_services: bool
) -> None:
    with FaultServer(FaultPlan(forced={"q3": "hang"}, hang_seconds=300)) as model:
        run = load_manifest(_manifest(tmp_path, model.base_url, executor_extra="    deadlineSeconds: 1.5\n"))
        assert run.spec.executor.deadline_seconds == 1.5
        via = f"127.0.0.1:{services.port}" if via_services else None
        with pytest.raises(PatchlineError, match="deadline"):
            await run_manifest(run, RunnerSettings(base=str(tmp_path), via=via))
    lines = [json.loads(line) for line in (tmp_path / "out" / "responses.jsonl").read_text().splitlines()]
    assert {line["custom_id"]: (line["error"] or {}).get("code") for line in lines} == {
        **{f"q{i}": None for i in range(12) if i != 3},
        "q3": "deadline",
    }
    record = json.loads((tmp_path / "out" / "stages" / "infer.json").read_text())
    assert record["phase"] == "Failed" and "deadline" in record["message"]  # a rerun retries the stage


def _sglang_manifest(tmp_path: Path, key_field: str) -> Path:
    """An InferenceRun of two requests on a local (fake) SGLang engine whose key ``key_field`` gives."""
    write_requests(tmp_path / "requests.jsonl", ["a", "b"])
    path = tmp_path / "run.yaml"
    path.write_text(
        "apiVersion: patchline.dev/v1alpha1\nkind: InferenceRun\nmetadata: {name: keyed}\n"
        f"spec:\n  engine: {{type: sglang, modelPath: fake/model, {key_field}}}\n"
        f"  input: {tmp_path / 'requests.jsonl'}\n  output: {tmp_path / 'out' / 'responses.jsonl'}\n"
    )
    return path


async def test_an_sglang_api_key_is_never_recorded(
    tmp_path: Path,
    fake_sglang: Path,  # noqa: F811 - the fixture
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    key = "sk-sglang-run-0123456789abcdef"
    monkeypatch.setenv("OPENAI_API_KEY", key)  # the executor sends it; SGLang was started with it
    path = _sglang_manifest(tmp_path, f"extraArgs: ['--api-key', '{key}']")
    report = await run_manifest(load_manifest(path), RunnerSettings(base=str(tmp_path)))
    assert report.stages[0].counts.succeeded == 2
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    assert manifest["server"]["args"][-2:] == ["--api-key", "<redacted>"]
    assert manifest["run"]["spec"]["engine"]["extraArgs"] == ["--api-key", "<redacted>"]
    assert files_holding(tmp_path / "out", [key]) == []


async def test_a_local_sglang_takes_its_secret_key_from_the_key_set_of_the_same_name(
    tmp_path: Path,
    fake_sglang: Path,  # noqa: F811 - the fixture
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    key = "sk-sglang-secret-fedcba9876543210"
    monkeypatch.setenv("MY_SGLANG_KEY", key)
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)  # the server's key reaches the executor by its key set
    path = _sglang_manifest(tmp_path, "apiKeySecretRef: {name: sglang-key}")
    with pytest.raises(InputError, match="pass --key-set sglang-key/api-key=VARIABLE"):
        await run_manifest(load_manifest(path), RunnerSettings(base=str(tmp_path)))
    settings = RunnerSettings(base=str(tmp_path), key_sets=KeySets.parse(["sglang-key/api-key=MY_SGLANG_KEY"]))
    report = await run_manifest(load_manifest(path), settings)
    assert report.stages[0].counts.succeeded == 2  # the fake SGLang answers 401 without its key
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    assert manifest["server"]["args"][-2:] == ["--api-key", "<redacted>"]
    assert files_holding(tmp_path / "out", [key]) == []
