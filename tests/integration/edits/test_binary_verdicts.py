"""Verdicts on git binary patches agree with ``git apply --check`` at the base state (real binaries from PyPI).

Diffs are made by git itself in one repository (``--binary`` literal and delta patches, plain
``Binary files ... differ``, ``--full-index`` without data, abbreviated index lines on binary data,
creations and deletions, mixed with a text file); each is then checked in a fresh work tree holding
only the base files, as an evaluation at ``base_commit`` checks a prediction.
"""

from __future__ import annotations

import re
import subprocess
import sysconfig
from pathlib import Path

import pytest

from patchline.edits import check_patch

pytestmark = pytest.mark.integration

_GIT = ["git", "-c", "user.email=t@example.com", "-c", "user.name=t", "-c", "core.autocrlf=false"]


def _git(repo: Path, *args: str) -> str:
    return subprocess.run([*_GIT, *args], cwd=repo, check=True, capture_output=True).stdout.decode("utf-8", "replace")


def _real_binaries(count: int) -> list[bytes]:
    root = Path(sysconfig.get_paths()["purelib"])
    found = sorted(p for p in root.glob("*/__pycache__/*.pyc") if 2_000 < p.stat().st_size < 40_000)
    assert len(found) >= count
    return [path.read_bytes() for path in found[:count]]


def _as_text(data: bytes) -> str:
    return data.decode("utf-8", "surrogateescape")


def _abbreviate(diff: str) -> str:
    return re.sub(r"^index ([0-9a-f]{7})[0-9a-f]*\.\.([0-9a-f]{7})[0-9a-f]*", r"index \1..\2", diff, flags=re.M)


def _variants(tmp_path: Path) -> tuple[dict[str, bytes], list[tuple[str, str]]]:
    one, two, three = _real_binaries(3)
    base = {"img/a.bin": one, "img/gone.bin": two, "notes.py": b"x = 1\n"}
    repo = tmp_path / "make"
    repo.mkdir()
    _git(repo, "init", "-q")
    for name, data in base.items():
        (repo / name).parent.mkdir(parents=True, exist_ok=True)
        (repo / name).write_bytes(data)
    _git(repo, "add", ".")
    _git(repo, "commit", "-qm", "base")
    (repo / "img/a.bin").write_bytes(one[:500] + b"\x00patched\x00" + one[500:])  # small change: a delta
    (repo / "img/gone.bin").unlink()
    (repo / "img/new.bin").write_bytes(three)
    (repo / "notes.py").write_bytes(b"x = 2\n")
    _git(repo, "add", "-A")
    binary = _git(repo, "diff", "--cached", "--binary")
    plain = _git(repo, "diff", "--cached")
    full_index = _git(repo, "diff", "--cached", "--full-index")
    assert "GIT binary patch" in binary and "delta " in binary and "literal " in binary
    variants = [
        ("binary", binary),
        ("plain binary files differ", plain),
        ("full index without data", full_index),
        ("abbreviated index with data", _abbreviate(binary)),
        ("binary, one file", binary.split("diff --git a/img/gone.bin")[0]),
        ("text only", "diff --git" + binary.split("diff --git")[-1]),
    ]
    return base, variants


def test_binary_patch_verdicts_match_git_apply_check(tmp_path: Path) -> None:
    base, variants = _variants(tmp_path)
    checked = 0
    for number, (name, diff) in enumerate(variants):
        tree = tmp_path / f"check{number}"
        tree.mkdir()
        _git(tree, "init", "-q")
        for path, data in base.items():
            (tree / path).parent.mkdir(parents=True, exist_ok=True)
            (tree / path).write_bytes(data)
        (tree / "p.diff").write_text(diff, encoding="utf-8")
        git_ok = subprocess.run([*_GIT, "apply", "--check", "p.diff"], cwd=tree, capture_output=True).returncode == 0
        verdict = check_patch({path: _as_text(data) for path, data in base.items()}, diff)
        assert verdict.applies == git_ok, (name, verdict.reason)
        checked += 1
    assert checked == len(variants)


def test_a_binary_patch_without_full_index_is_refused_like_git(tmp_path: Path) -> None:
    base, variants = _variants(tmp_path)
    files = {path: _as_text(data) for path, data in base.items()}
    refused = check_patch(files, dict(variants)["abbreviated index with data"])
    assert not refused.applies and "without full index line" in refused.reason
    applied = check_patch(files, dict(variants)["binary"])
    assert applied.applies
