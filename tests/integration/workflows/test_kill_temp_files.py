"""``kill -9`` in the middle of a stage: its temporary files are never read as data, and the rerun removes them.

Agentless ``--process_batch`` keeps its whole-file outputs in temporary files for the whole run; rollout
``proc_step2`` writes one temporary file per sample and per aggregate. Both commands run as real processes
and are killed with SIGKILL while such files exist; a rerun must finish with exactly the clean outputs.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from patchline.core.store import ArtifactStore
from patchline.core.tempfiles import is_temp_name
from patchline.workflows.agentless import generate_requests
from tests.fixtures.lite_repos import RequestsLite, requests_lite  # noqa: F401 - fixture
from tests.unit.workflows.agentless.helpers import (
    Scenario,
    build_scenario,
    oracle_answer,
    repair_settings,
    success,
    write_responses,
)
from tests.unit.workflows.rollout.helpers import ok_line, read_jsonl, write_lines

pytestmark = pytest.mark.integration

SAMPLES = 20  # Agentless samples per instance: processing lasts long enough to be killed mid-run
PASSES = 60  # rollout passes per instance


def _temps(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if is_temp_name(p.name))


def _kill_when_temps_appear(command: list[str], folder: Path, env: dict[str, str]) -> list[Path]:
    """Start ``command``, SIGKILL it as soon as a temporary file exists below ``folder``; the files left.

    The whole process group is killed, worker processes included, as a kill of the job does: a worker left
    running would go on writing while the test looks at what the kill left."""
    process = subprocess.Popen(
        command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True
    )
    deadline = time.monotonic() + 120
    try:
        while not _temps(folder):
            if process.poll() is not None:
                return []  # finished before a temporary file was seen
            assert time.monotonic() < deadline, "no temporary file appeared"
            time.sleep(0.002)
        os.killpg(process.pid, signal.SIGKILL)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=30)
    return _temps(folder)


def _snapshot(out: Path) -> dict[str, bytes]:
    return {p.relative_to(out).as_posix(): p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()}


@pytest.fixture
def scenario(tmp_path: Path, shared_data: Path) -> Scenario:
    return build_scenario(tmp_path, shared_data / "swebench_verified" / "swe_bench_verified.jsonl", git=False)


def test_agentless_process_batch_killed_then_rerun(scenario: Scenario, tmp_path: Path) -> None:
    settings = repair_settings(scenario, sampling__samples=SAMPLES, workflow__skip_greedy=False)
    generate_requests(settings, str(tmp_path / "killed"))
    responses = tmp_path / "responses.jsonl"
    write_responses(
        tmp_path / "killed" / "requests-repair.jsonl",
        responses,
        lambda iid, i: success(f"{iid}|{i}", oracle_answer(scenario.instances[iid])),
    )

    def command(out: Path) -> list[str]:
        return [
            sys.executable, "-m", "patchline", "agentless", "repair", "--loc_file", str(scenario.loc_file),
            "--output_folder", str(out), "--dataset", str(scenario.dataset), "--loc_interval", "--top_n", "none",
            "--max_samples", str(SAMPLES), "--cot", "--diff_format", "--model", "m",
            "--process_batch", "--batch_output", str(responses),
        ]  # fmt: skip

    env = {**os.environ, "PROJECT_FILE_LOC": str(scenario.structures)}
    killed = tmp_path / "killed"
    requests = (killed / "requests-repair.jsonl").read_bytes()
    kills = 0
    for _ in range(8):  # two kills in a row: output files of a killed run are read back by the next one
        left = _kill_when_temps_appear(command(killed), killed, env)
        if not left:  # the run finished between two looks (temporary files live for milliseconds): start over
            shutil.rmtree(killed)
            killed.mkdir()
            (killed / "requests-repair.jsonl").write_bytes(requests)
            kills = 0
            continue
        assert ArtifactStore(str(killed)).list_files() == sorted(
            p.relative_to(killed).as_posix() for p in killed.rglob("*") if p.is_file() and p not in left
        )
        kills += 1
        if kills == 2:
            break
    assert kills == 2, "the runs kept ending before they could be killed twice in a row"
    subprocess.run(command(killed), env=env, check=True, capture_output=True)
    assert _temps(killed) == []
    clean = tmp_path / "clean"
    clean.mkdir()
    (clean / "requests-repair.jsonl").write_bytes((killed / "requests-repair.jsonl").read_bytes())
    subprocess.run(command(clean), env=env, check=True, capture_output=True)
    assert _snapshot(killed).keys() == _snapshot(clean).keys()
    for name in ("output.jsonl", "predictions.jsonl", "output_1_processed.jsonl"):
        assert read_jsonl(killed / name) == read_jsonl(clean / name)


# A writer that starts replacing a sample with a stale one, says so, and waits to be killed.
_STALE_SAMPLE_WRITER = """
import sys
from patchline.core.store import ArtifactStore
store = ArtifactStore(sys.argv[1])
with store.atomic_writer(sys.argv[2]) as out:
    out.write(sys.argv[3].encode() + b"\\n")
    out.flush()
    print("writing", flush=True)
    sys.stdin.read()
"""


def test_rollout_proc_step2_killed_then_rerun(requests_lite: RequestsLite, tmp_path: Path) -> None:  # noqa: F811
    out = tmp_path / "run"
    edit = "```python\n### requests/api.py\n<<<<<<< SEARCH\nfrom . import sessions\n=======\n{}\n>>>>>>> REPLACE\n```"
    answers = [
        ok_line(f"{iid}__pass{k}", edit.format(f"from . import sessions  # pass {k}"))
        for iid in requests_lite.instance_ids
        for k in range(PASSES)
    ]
    write_lines(out / "batch_output_step2.jsonl", answers)
    command = [
        sys.executable, "-m", "patchline", "rollout", "bugfixer", "proc_step2", "--dataset", str(requests_lite.dataset),
        "--repostructure_dir", str(requests_lite.structure_dir), "--input_file", str(out / "batch_output_step2.jsonl"),
        "--save_dir", str(out), "--passk", str(PASSES),
    ]  # fmt: skip
    kills = sum(bool(_kill_when_temps_appear(command, out, dict(os.environ))) for _ in range(3))
    assert kills >= 1
    subprocess.run(command, check=True, capture_output=True)
    # A stale sample half-replaced by a writer killed mid-write: it must not become a sample.
    first = f"{requests_lite.instance_ids[0]}__pass0"
    stale = json.dumps({"custom_id": first, "instance_id": requests_lite.instance_ids[0], "model_patch": "stale"})
    writer = subprocess.Popen(
        [sys.executable, "-c", _STALE_SAMPLE_WRITER, str(out), f"samples/{first}.jsonl", stale],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert writer.stdout is not None and writer.stdout.readline().strip() == "writing"
    os.kill(writer.pid, signal.SIGKILL)
    writer.wait(timeout=30)
    assert _temps(out)
    subprocess.run(command, check=True, capture_output=True)
    assert _temps(out) == []
    output = read_jsonl(out / "output.jsonl")
    assert Counter(r["custom_id"] for r in output) == dict.fromkeys(
        (f"{iid}__pass{k}" for iid in requests_lite.instance_ids for k in range(PASSES)), 1
    )
    assert "stale" not in (out / "predictions.jsonl").read_text()
    assert len(read_jsonl(out / "predictions.jsonl")) == len(requests_lite.instance_ids)
