"""Temporary files of atomic writes: never listed as data, kept while their writer lives, removed once stale."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from patchline.core.tempfiles import STALE_AFTER_S, TEMP_SUFFIX, is_temp_name, locked_temp, remove_stale

pytestmark = pytest.mark.unit


def _temps(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if is_temp_name(p.name))


def test_temp_names_are_recognised_and_never_look_like_data() -> None:
    assert is_temp_name(f".x.jsonl.0123abcd-42-k3j4h5g6{TEMP_SUFFIX}")
    assert is_temp_name(".tmp-ab12cd_3-x.jsonl")  # the name earlier versions used
    assert not is_temp_name("x.jsonl") and not is_temp_name(".tmp-notes.txt")


def test_temp_files_of_another_host_or_an_earlier_version_go_only_when_unlocked_and_old(tmp_path: Path) -> None:
    foreign = tmp_path / f".x.jsonl.ffffffff-1-abcdefgh{TEMP_SUFFIX}"
    legacy = tmp_path / ".tmp-abcdefgh-x.jsonl"
    for path in (foreign, legacy):
        path.write_bytes(b"partial")
    assert remove_stale(str(tmp_path)) == 0  # recent: their writers may still be at work
    handle, held = locked_temp(str(tmp_path), "y.jsonl")
    old = time.time() - STALE_AFTER_S - 60
    for path in (foreign, legacy, Path(held)):
        os.utime(path, (old, old))
    try:
        assert remove_stale(str(tmp_path)) == 2
        assert _temps(tmp_path) == [Path(held).name]  # its writer (this process) holds it
    finally:
        handle.close()


@pytest.mark.parametrize("name", ["a" * 250 + ".jsonl", "é" * 120 + ".jsonl"])
def test_temp_names_stay_short_for_long_target_names(tmp_path: Path, name: str) -> None:
    handle, path = locked_temp(str(tmp_path), name)
    handle.close()
    assert len(Path(path).name.encode()) < 100
