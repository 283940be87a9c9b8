"""A writer killed with ``kill -9`` in the middle of an atomic write: its temporary file is never data, and goes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from patchline.core.store import ArtifactStore
from patchline.core.tempfiles import TEMP_SUFFIX, is_temp_name, remove_stale

pytestmark = pytest.mark.integration

# A writer that starts an atomic write of ``samples/x.jsonl`` under a store root, says so, and waits to be killed.
_WRITER = """
import sys
from patchline.core.store import ArtifactStore
store = ArtifactStore(sys.argv[1])
with store.atomic_writer("samples/x.jsonl") as out:
    out.write(b'{"custom_id": "x", "stale": true}')
    out.flush()
    print("writing", flush=True)
    sys.stdin.read()  # until killed
"""


def _start_writer(root: Path) -> subprocess.Popen[str]:
    process = subprocess.Popen(
        [sys.executable, "-c", _WRITER, str(root)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    assert process.stdout is not None and process.stdout.readline().strip() == "writing"
    return process


def _temps(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if is_temp_name(p.name))


def _temps(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if is_temp_name(p.name))


def test_a_killed_writer_leaves_a_temp_file_that_no_listing_shows_and_the_next_writer_removes(tmp_path: Path) -> None:
    writer = _start_writer(tmp_path)
    try:
        assert len(_temps(tmp_path / "samples")) == 1
        # While the writer lives (and holds its lock) nobody removes its file.
        assert remove_stale(str(tmp_path / "samples")) == 0
        os.kill(writer.pid, signal.SIGKILL)
    finally:
        writer.kill()
        writer.wait(timeout=10)
    store = ArtifactStore(str(tmp_path))
    (left,) = _temps(tmp_path / "samples")
    assert left.endswith(TEMP_SUFFIX) and not (tmp_path / "samples" / "x.jsonl").exists()
    assert store.list_files("samples") == [] and store.list_files() == []
    store.write_bytes("samples/y.jsonl", b"{}\n")  # the next write into the folder cleans up
    assert _temps(tmp_path / "samples") == []
    assert store.list_files() == ["samples/y.jsonl"]
