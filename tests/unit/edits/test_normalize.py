"""SPEC §6b normalisation on real code: installed requests and sympy files, SWE-bench gold patches, and git itself.

Each shape of change is made on real files and normalised twice, by ``patchline.edits.normalize`` and by the
reference model (``normalize_reference``: git apply and git diff in scratch repositories); the two must be
byte-identical. Then what the normal form is for: samples that differ only in comments, docstrings,
formatting or where they put a new function share one key.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest
import requests

from patchline.edits import render_patch
from patchline.edits.normalize import Normalization, Normalizer, normalize_patch
from patchline.edits.pysource import (
    FunctionText,
    SourceNormalizer,
    only_new_functions,
    remove_comments_and_docstrings,
    whole_file_source,
)
from tests.unit.edits.normalize_reference import reference_normalize
from tests.unit.workflows.agentless.helpers import GOLD_INSTANCES, patch_paths, read_lite, repo_files

pytestmark = pytest.mark.unit

REQUESTS = Path(requests.__file__).parent
REAL_FILES = ("utils.py", "sessions.py", "models.py", "cookies.py", "api.py")
NEW_FUNCTION = "def _patchline_helper(value):\n    return value * 2\n"

Edit = Callable[[str], str]


def _real(name: str) -> tuple[str, str]:
    return f"requests/{name}", (REQUESTS / name).read_text(encoding="utf-8")


def _top_level_defs(content: str) -> list[int]:
    lines = content.split("\n")
    return [i for i, line in enumerate(lines) if line.startswith("def ")]


def _insert_before_line(content: str, index: int, text: str) -> str:
    lines = content.split("\n")
    return "\n".join([*lines[:index], *text.rstrip("\n").split("\n"), "", "", *lines[index:]])


def add_function_at_end(content: str) -> str:
    return content.rstrip("\n") + "\n\n\n" + NEW_FUNCTION


def add_function_before_second_def(content: str) -> str:
    return _insert_before_line(content, _top_level_defs(content)[1], NEW_FUNCTION)


def add_function_before_third_def(content: str) -> str:
    return _insert_before_line(content, _top_level_defs(content)[2], NEW_FUNCTION)


def change_a_function(content: str) -> str:
    lines = content.split("\n")
    at = next(i for i in _top_level_defs(content) if lines[i].rstrip().endswith(":"))
    return "\n".join([*lines[: at + 1], "    _patchline_marker = None", *lines[at + 1 :]])


def add_a_comment(content: str) -> str:
    lines = content.split("\n")
    at = _top_level_defs(content)[0]
    return "\n".join([*lines[:at], "# a comment a model added", *lines[at:]])


def reformat_an_import(content: str) -> str:
    return re.sub(r"^import (\w+)$", r"import  \1  # same import", content, count=1, flags=re.MULTILINE)


def add_a_method(content: str) -> str:
    lines = content.split("\n")
    at = next(i for i, line in enumerate(lines) if line.startswith("class ") and line.rstrip().endswith(":"))
    method = ["    def _patchline_method(self):", "        return None", ""]
    return "\n".join([*lines[: at + 1], *method, *lines[at + 1 :]])


def add_method_and_function(content: str) -> str:
    return add_function_at_end(add_a_method(content))


def remove_a_function(content: str) -> str:
    lines = content.split("\n")
    first, second = _top_level_defs(content)[:2]
    return "\n".join([*lines[:first], *lines[second:]])


EDITS: tuple[Edit, ...] = (
    add_function_at_end,
    add_function_before_second_def,
    add_function_before_third_def,
    change_a_function,
    add_a_comment,
    reformat_an_import,
    add_a_method,
    add_method_and_function,
    remove_a_function,
)


def _patch(path: str, old: str, new: str) -> str:
    return render_patch({path: (old, new)})


def _applies(edit: Edit, content: str) -> bool:
    """Whether the file has a place for the edit (enough top-level functions, a class, an import)."""
    try:
        return edit(content) != content
    except (IndexError, StopIteration, ValueError):  # no such function, class or pair of functions
        return False


# Each edit on each real file that has a place for it (decided when the tests are collected).
CASES = [
    pytest.param(name, edit, id=f"{edit.__name__}-{name}")
    for name in REAL_FILES
    for edit in EDITS
    if _applies(edit, _real(name)[1])
]


def test_every_edit_is_made_on_some_real_file() -> None:
    made = {edit for _, edit in (case.values for case in CASES)}
    assert made == set(EDITS), [edit.__name__ for edit in EDITS if edit not in made]


@pytest.mark.parametrize(("name", "edit"), CASES)
def test_same_form_as_the_reference_with_git(name: str, edit: Edit, tmp_path: Path) -> None:
    path, content = _real(name)
    patch = _patch(path, content, edit(content))
    files = {path: content}
    assert normalize_patch(patch, files.get).text == reference_normalize(patch, files, tmp_path)


def test_gold_patches_of_real_instances(shared_data: Path, tmp_path: Path) -> None:
    rows = read_lite(shared_data / "swebench_verified" / "swe_bench_verified.jsonl", GOLD_INSTANCES)
    for row in rows.values():
        files = {p: data.decode("utf-8") for p, data in repo_files("sympy/sympy", patch_paths(row["patch"])).items()}
        normalized = normalize_patch(row["patch"], files.get)
        assert normalized.how == Normalization.NORMALIZED and normalized.path == patch_paths(row["patch"])[0]
        assert normalized.text == reference_normalize(row["patch"], files, tmp_path)
        assert normalized.text.startswith(f"diff --git a/{normalized.path} b/{normalized.path}\nindex ")


def test_new_function_anywhere_votes_together() -> None:
    path, content = _real("utils.py")
    here = normalize_patch(_patch(path, content, add_function_before_second_def(content)), {path: content}.get)
    there = normalize_patch(_patch(path, content, add_function_before_third_def(content)), {path: content}.get)
    assert here.how == there.how == Normalization.NEW_FUNCTIONS
    assert here.key == there.key
    assert "@@" not in here.text and here.text.startswith(f"--- a/{path}\n+++ b/{path}\n+def _patchline_helper")
    # At the end of the file the old last line (without newline once normalised) changes too, as in git.
    at_end = normalize_patch(_patch(path, content, add_function_at_end(content)), {path: content}.get)
    assert at_end.how == Normalization.NEW_FUNCTIONS and at_end.key != here.key


def test_class_changes_do_not_prevent_the_new_function_rule() -> None:
    path, content = _real("sessions.py")
    both = normalize_patch(_patch(path, content, add_method_and_function(content)), {path: content}.get)
    method_only = normalize_patch(_patch(path, content, add_a_method(content)), {path: content}.get)
    assert both.how == Normalization.NEW_FUNCTIONS
    assert method_only.how == Normalization.NORMALIZED  # no function outside a class was added


def test_comments_docstrings_and_formatting_do_not_count() -> None:
    path, content = _real("api.py")
    fixed = change_a_function(content)
    plain = normalize_patch(_patch(path, content, fixed), {path: content}.get)
    noisy = normalize_patch(_patch(path, content, add_a_comment(reformat_an_import(fixed))), {path: content}.get)
    assert plain.key and plain.key == noisy.key
    comment_only = normalize_patch(_patch(path, content, add_a_comment(content)), {path: content}.get)
    assert comment_only.how == Normalization.NORMALIZED and comment_only.key == ""


def test_only_the_first_file_counts() -> None:
    (p1, c1), (p2, c2) = _real("api.py"), _real("cookies.py")
    files = {p1: c1, p2: c2}
    one = normalize_patch(render_patch({p1: (c1, change_a_function(c1)), p2: (c2, add_a_comment(c2))}), files.get)
    other = normalize_patch(render_patch({p1: (c1, change_a_function(c1)), p2: (c2, remove_a_function(c2))}), files.get)
    assert one.path == p1 and one.key == other.key


def test_a_patch_that_does_not_apply_is_its_own_form() -> None:
    path, content = _real("api.py")
    patch = _patch(path, content, change_a_function(content))
    stale = patch.replace("\n def ", "\n def _renamed_", 1)
    assert normalize_patch(stale, {path: content}.get).how == Normalization.RAW
    assert normalize_patch(stale, {path: content}.get).text == stale
    assert normalize_patch(patch, {}.get).text == patch  # the file is not in the repository
    corrupt = patch.rsplit("\n", 3)[0] + "\n"  # the last hunk cut short: git calls it corrupt
    assert normalize_patch(corrupt, {path: content}.get).how == Normalization.RAW


def test_empty_patch() -> None:
    assert normalize_patch("", {}.get).text == "" and normalize_patch(" \n", {}.get).how == Normalization.EMPTY


def test_a_docstring_only_body_keeps_comments() -> None:
    old = 'def f():\n    """Only a docstring."""\n\n\nx = 1  # one\n'
    new = 'def f():\n    """Only a docstring."""\n\n\nx = 2  # two\n'
    normalized = normalize_patch(_patch("m.py", old, new), {"m.py": old}.get)
    # Removing the docstring empties f's body, which no longer parses: the unparsed contents are diffed.
    assert normalized.how == Normalization.NORMALIZED and '"""Only a docstring."""' in normalized.text
    assert "-x = 1\n\\ No newline at end of file\n+x = 2\n" in normalized.text


def test_tokenizer_rule() -> None:
    source = '"""Module doc."""\nx = "kept"  # gone\n\n\ndef f():\n    """Doc."""\n    return ("a"\n"b")\n'
    assert remove_comments_and_docstrings(source) == 'x = "kept"  \ndef f():\n    return ("a"\n)'


def test_function_rule() -> None:
    old = "def a():\n    return 1\n\n\nclass C:\n    def m(self):\n        return 1\n"
    assert only_new_functions(old, old + "\n\ndef b():\n    return 2\n")
    assert not only_new_functions(old, old.replace("return 1", "return 3", 1) + "\n\ndef b():\n    pass\n")
    assert only_new_functions(old, old.replace("        return 1", "        return 3") + "\n\ndef b():\n    pass\n")
    assert not only_new_functions(old, old)
    assert not only_new_functions(old, "def (:")


def _real_code_bases() -> list[Path]:
    """Every 40th module under 40 kB of the installed requests, sympy and pytest sources: many styles of code."""
    import _pytest
    import sympy

    roots = (REQUESTS, Path(sympy.__file__).parent, Path(_pytest.__file__).parent)
    files = sorted(p for root in roots for p in root.rglob("*.py") if p.stat().st_size < 40_000)
    return files[::40]


def test_statement_by_statement_equals_the_whole_file_rule() -> None:
    """The cached per-statement computation gives the whole-file definition's texts and functions."""
    checked = 0
    for path in _real_code_bases():
        content = path.read_text(encoding="utf-8")
        normalizer = SourceNormalizer()
        fast, whole = normalizer.source(content), whole_file_source(content, normalizer.tree(content))
        assert (fast.unparsed, fast.clean) == (whole.unparsed, whole.clean), path
        assert _sources(fast.clean_functions) == _sources(whole.clean_functions), path
        assert _sources(fast.unparsed_functions()) == _sources(whole.unparsed_functions()), path
        checked += 1
    assert checked > 30


def test_samples_of_one_instance_share_the_work() -> None:
    path, content = _real("utils.py")
    normalizer = Normalizer()
    first = normalizer.normalize(_patch(path, content, change_a_function(content)), {path: content}.get)
    pieces = len(normalizer.sources._pieces) + len(normalizer.sources._members)
    again = normalizer.normalize(_patch(path, content, add_a_comment(change_a_function(content))), {path: content}.get)
    assert first.key == again.key
    assert len(normalizer.sources._pieces) + len(normalizer.sources._members) <= pieces + 2  # only what changed


SHAPES = {
    "docstring first": 'def f():\n    """Doc."""\n    x = 1\n',
    "string after a block stays": 'def f():\n    if x:\n        pass\n    "kept: a DEDENT before it"\n',
    "string after a statement goes": 'def f():\n    x = 1\n    "dropped: a NEWLINE before it"\n',
    "body only a docstring": 'def f():\n    """Only this."""\n\n\ndef g():\n    return 1\n',
    "module docstring and f-string": '"""Module."""\nx = f"{y}"\n',
    "f-string statement": 'def f():\n    f"{x} alone"\n    return x\n',
    "string starting an expression": 'def f():\n    "a".join(x)\n    return x\n',
    "class members": (
        'class A:\n    """Doc."""\n\n    def m(self):\n        """M."""\n        return 1\n    "after a block"\n'
        '    x = 1\n    "after a statement"\n\n\nclass B:\n    """Only a docstring."""\n'
    ),
    "nested class and functions": (
        "def outer():\n    class Inner:\n        def m(self):\n            pass\n\n    def inner():\n"
        '        """Doc."""\n        return 2\n    return inner\n'
    ),
}


def _sources(functions: dict[str, FunctionText] | None) -> dict[str, str] | None:
    return None if functions is None else {name: f.text for name, f in functions.items()}


@pytest.mark.parametrize("source", SHAPES.values(), ids=SHAPES.keys())
def test_the_fast_reading_of_each_shape_equals_the_tokenizer(source: str) -> None:
    normalizer = SourceNormalizer()
    fast, whole = normalizer.source(source), whole_file_source(source, normalizer.tree(source))
    assert (fast.unparsed, fast.clean) == (whole.unparsed, whole.clean)
    assert _sources(fast.clean_functions) == _sources(whole.clean_functions)
    assert _sources(fast.unparsed_functions()) == _sources(whole.unparsed_functions())
