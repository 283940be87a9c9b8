"""``patchline run``: a ``--via`` address where nothing listens is one line on stderr, not a traceback."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from patchline.cli.app import main

pytestmark = pytest.mark.integration

EXAMPLES = Path(__file__).resolve().parents[3] / "k8s" / "examples"


def _closed_port() -> int:
    """A port that nothing listens on: bound, then released."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def test_via_to_a_dead_address_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = f"127.0.0.1:{_closed_port()}"
    manifest = str(EXAMPLES / "bugfixer-rollout.yaml")
    code = main(["run", manifest, "--via", target, "--base", str(tmp_path)])
    err = capsys.readouterr().err
    assert code != 0
    [line] = [line for line in err.splitlines() if line.startswith("patchline: error:")]
    assert f"nothing answers at {target}" in line and "patchline serve" in line
    assert "Traceback" not in err and "AioRpcError" not in err
