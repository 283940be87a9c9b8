"""Structure JSON and step-1 block against reference models of the originals, on generated repositories.

Trees are generated around the printer's and generator's rules: dotted names (``.pyinstaller``,
``a.py.bak``, ``x.pyc``), ``test``-prefixed names, folders whose files are all hidden or not Python,
dotless files (``LICENSE``), a folder holding an entry named ``classes``, a root folder named like the
repository (merged), and real Python files from installed packages, plus unparsable, CRLF and form-feed
sources for the parser rules.
"""

from __future__ import annotations

import json
import os
import tempfile
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from patchline.core.repos import DirSnapshot, build_structure
from patchline.workflows.rollout.repofiles import LazyStructure, SnapshotFiles
from patchline.workflows.rollout.tree import render_structure_tree

from ...edits.corpus import real_python_files
from .tree_reference import printed, walked

pytestmark = pytest.mark.unit

CASES = settings(
    max_examples=150, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow], database=None
)

REPO = "flask"
FOLDERS = ["pkg", REPO, "tests", "testing", ".pyinstaller", "checkers", "fixtures", "classes", "_ext", "a.b", "src"]
FILES = ["__init__.py", "models.py", "test_models.py", "README.md", "LICENSE", "x.pyc", "conf.py", "setup.py"]
FILES += ["data.json", "Makefile", "tests.py", "a.py.bak", "typed.pyi", "classes", "testdata.txt"]
ODD_SOURCES = [
    "def broken(:\n",
    "class A:\r\n    def m(self):\r\n        return 1\r\n",
    "x = 1\x0cy = 2\ndef f():\n    return x\n",
    "def m():\n    pass\n\nclass A:\n    def m(self):\n        def inner():\n            pass\n\n"
    "    async def a(self):\n        pass\n",
    "class A:\n    class B:\n        def m(self):\n            pass\n\n@decorator\ndef f():\n    pass\n",
    "x = '\x00'\n",
]


@cache
def _sources() -> tuple[str, ...]:
    return tuple(text for _name, text in real_python_files(12, seed=21)) + tuple(ODD_SOURCES)


@st.composite
def repositories(draw: st.DrawFn) -> dict[str, str]:
    files: dict[str, str] = {}
    for _ in range(draw(st.integers(1, 12))):
        folders = draw(st.lists(st.sampled_from(FOLDERS), max_size=3))
        path = "/".join([*folders, draw(st.sampled_from(FILES))])
        if any(existing.startswith(path + "/") or path.startswith(existing + "/") for existing in files):
            continue  # a name cannot be a file and a folder at once
        files[path] = draw(st.sampled_from(_sources())) if path.endswith(".py") else "data\n"
    return files


def _write(root: Path, files: dict[str, str]) -> None:
    for path, text in files.items():
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_bytes(text.encode("utf-8"))


@CASES
@given(repositories())
def test_structure_json_and_block_equal_the_reference_models(files: dict[str, str]) -> None:
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch) / REPO
        _write(root, files)
        expected = walked(os.fspath(root))
        snapshot = DirSnapshot(root)
        try:
            document = build_structure(snapshot, root_folder=REPO)
        except Exception as exc:
            assert "share this name" in str(exc)
            return
        assert json.dumps(document["structure"]) == json.dumps(expected)  # same entries, same order
        lazy = LazyStructure(json.dumps(document).encode())
        tree_files = SnapshotFiles(snapshot, root_folder=REPO)
        for test_flag in (False, True):
            block = printed(expected, test_flag=test_flag).strip()
            assert lazy.tree(show_tests=test_flag) == block
            assert tree_files.tree(show_tests=test_flag) == block


NAMES = st.sampled_from([*FOLDERS, *FILES, "test", "tests.py", ".github", "py.typed", " spaced", "conf.py "])


def _nested() -> st.SearchStrategy[dict[str, Any]]:
    leaf = st.sampled_from([{}, {"classes": [], "functions": [], "text": []}])
    return st.recursive(leaf, lambda children: st.dictionaries(NAMES, children, max_size=4), max_leaves=12)


@CASES
@given(st.dictionaries(NAMES, _nested(), max_size=5), st.booleans())
def test_any_structure_prints_as_the_seed_prints_it(structure: dict[str, Any], test_flag: bool) -> None:
    block = printed(structure, test_flag=test_flag).strip()
    assert render_structure_tree(structure, show_tests=test_flag) == block
    assert LazyStructure(json.dumps({"structure": structure}).encode()).tree(show_tests=test_flag) == block
