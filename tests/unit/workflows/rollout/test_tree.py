"""The step-1 "Repository Structure" block: the seed's printer, quirks included, for JSON and git sources."""

from __future__ import annotations

import json
from typing import Any

import pytest

from patchline.core.repos import DirSnapshot, build_structure
from patchline.workflows.rollout.repofiles import LazyStructure, SnapshotFiles
from patchline.workflows.rollout.tree import render_structure_tree, render_tree, structure_python_files

pytestmark = pytest.mark.unit

PY: dict[str, Any] = {"classes": [], "functions": [], "text": []}

STRUCTURE: dict[str, Any] = {
    "flask": {
        "setup.py": PY,
        "LICENSE": {},
        "README.rst": {},
        ".pyinstaller": {"hook.py": PY},
        "checkers": {"data.json": {}},
        "fixtures": {"test_a.py": PY},
        "testing.py": PY,
        "x.pyc": {},
    },
    "src": {"flask": {"__init__.py": PY, "tests": {"test_app.py": PY}}},
    ".github": {"workflows": {"ci.yml": {}}},
}


def test_the_seed_printer_rules_for_the_bugfixer() -> None:
    assert render_structure_tree(STRUCTURE, show_tests=False).split("\n") == [
        "flask/",
        "    setup.py",
        "    LICENSE/",  # a file without a dot is printed like a folder
        "    .pyinstaller",  # contains ".py": printed without a slash, and still expanded
        "        hook.py",
        "    checkers/",  # printed although nothing below it is shown
        "    fixtures/",
        "    x.pyc",
        "src/",
        "    flask/",
        "        __init__.py",
    ]


def test_the_testwriter_shows_test_entries() -> None:
    lines = render_structure_tree(STRUCTURE, show_tests=True).split("\n")
    assert "        test_a.py" in lines and "    testing.py" in lines and "        tests/" in lines


def test_a_folder_holding_an_entry_named_classes_is_not_expanded() -> None:
    assert render_structure_tree({"pkg": {"classes": {"a.py": PY}, "b.py": PY}}, show_tests=False) == "pkg/"


def test_structure_dict_and_lazy_structure_render_the_same(requests_lite) -> None:  # type: ignore[no-untyped-def]
    document = requests_lite.document
    lazy = LazyStructure(json.dumps(document).encode())
    for show in (True, False):
        assert lazy.tree(show_tests=show) == render_structure_tree(document["structure"], show_tests=show)
    assert lazy.python_files == structure_python_files(document["structure"])
    assert "    test_requests.py" in lazy.tree(show_tests=True).split("\n")
    assert "test_requests.py" not in lazy.tree(show_tests=False)


def test_lazy_structure_keeps_the_json_key_order() -> None:
    document = {"structure": {"zeta": {"b.py": PY, "a.py": PY}, "alpha": {"c.py": PY}}}
    assert LazyStructure(json.dumps(document).encode()).tree(show_tests=False).split("\n") == [
        "zeta/",
        "    b.py",
        "    a.py",
        "alpha/",
        "    c.py",
    ]


def test_a_snapshot_renders_as_its_structure_json(tmp_path) -> None:  # type: ignore[no-untyped-def]
    for path, text in {
        "setup.py": "x = 1\n",
        "AUTHORS": "a\n",
        "flask/__init__.py": "",
        "flask/json/tag.py": "y = 2\n",
        "docs/conf.py": "",
        "tests/test_x.py": "",
    }.items():
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_text(text)
    snapshot = DirSnapshot(tmp_path)
    document = build_structure(snapshot, root_folder="flask")
    files = SnapshotFiles(snapshot, root_folder="flask")
    lazy = LazyStructure(json.dumps(document).encode())
    for show in (True, False):
        assert files.tree(show_tests=show) == lazy.tree(show_tests=show)
    assert render_tree(snapshot.list_files(), show_tests=False, root_folder="flask").split("\n") == [
        "flask/",
        "    AUTHORS/",
        "    setup.py",
        "    __init__.py",
        "    json/",
        "        tag.py",
        "docs/",
        "    conf.py",
    ]
    assert files.aliases == {"flask/setup.py": "setup.py"}


@pytest.mark.parametrize("kind", ["bugfixer", "testwriter"])
def test_the_step1_prompt_holds_the_seed_block(requests_lite, kind: str) -> None:  # type: ignore[no-untyped-def]
    from patchline.workflows.rollout.common import PACKAGE
    from patchline.workflows.rollout.step1 import step1_prompt
    from patchline.workflows.templates import load_template

    from .tree_reference import printed

    document = requests_lite.document
    lazy = LazyStructure(json.dumps(document).encode())
    template = load_template(PACKAGE, f"{kind}_step1.txt")
    prompt = step1_prompt(template, "Issue text.", lazy.tree(show_tests=kind == "testwriter"))
    block = printed(document["structure"], test_flag=kind == "testwriter").strip()
    assert f"### Repository Structure ###\n{block}\n\n###" in prompt
