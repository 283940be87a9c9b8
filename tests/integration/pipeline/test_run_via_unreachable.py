"""``patchline run``: a ``--via`` address where nothing listens is one line on stderr, not a traceback."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
import yaml

from patchline.cli.app import main

pytestmark = pytest.mark.integration

EXAMPLES = Path(__file__).resolve().parents[3] / "k8s" / "examples"


def _closed_port() -> int:
    """A port that nothing listens on: bound, then released."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def test_via_to_a_dead_address_is_one_line(
    tmp_path: Path, shared_data: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = f"127.0.0.1:{_closed_port()}"
    # The shipped example with data that exists in any clone (its own is prepared by the demo).
    example = yaml.safe_load((EXAMPLES / "bugfixer-rollout.yaml").read_text(encoding="utf-8"))
    example["spec"]["dataset"] = {"source": str(shared_data / "swebench_lite" / "swe_bench_lite_test.jsonl")}
    example["spec"]["repositories"] = {"structureDir": str(tmp_path)}
    manifest = tmp_path / "bugfixer-rollout.yaml"
    manifest.write_text(yaml.safe_dump(example), encoding="utf-8")
    code = main(["run", str(manifest), "--via", target, "--base", str(tmp_path)])
    err = capsys.readouterr().err
    assert code != 0
    [line] = [line for line in err.splitlines() if line.startswith("patchline: error:")]
    assert f"nothing answers at {target}" in line and "patchline serve" in line
    assert "Traceback" not in err and "AioRpcError" not in err
