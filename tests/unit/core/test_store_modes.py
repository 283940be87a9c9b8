"""Files the artifact store writes are readable by others exactly as the umask allows (atomic and appended alike)."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from patchline.core.store import ArtifactStore

pytestmark = pytest.mark.unit


@pytest.fixture(params=[0o022, 0o002, 0o077])
def umask(request: pytest.FixtureRequest) -> Iterator[int]:
    previous = os.umask(request.param)
    try:
        yield int(request.param)
    finally:
        os.umask(previous)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_atomically_written_files_get_the_umask_mode_like_appended_ones(tmp_path: Path, umask: int) -> None:
    store = ArtifactStore(str(tmp_path))
    store.write_text("predictions.jsonl", "{}\n")
    with store.atomic_writer("run/output_0_processed.jsonl") as out:
        out.write(b"{}\n")
    with store.appender("responses.jsonl") as appender:
        appender.write_line(b"{}\n")
    expected = 0o666 & ~umask
    assert _mode(tmp_path / "predictions.jsonl") == expected
    assert _mode(tmp_path / "run" / "output_0_processed.jsonl") == expected
    assert _mode(tmp_path / "responses.jsonl") == expected


def test_replacing_a_file_keeps_it_readable(tmp_path: Path, umask: int) -> None:
    store = ArtifactStore(str(tmp_path))
    store.write_text("args.json", "{}")
    store.write_text("args.json", '{"model": "m"}')
    assert _mode(tmp_path / "args.json") == 0o666 & ~umask
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".tmp-")]
