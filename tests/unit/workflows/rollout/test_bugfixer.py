"""BugFixer stage 3: answers (hostile ones too) become one diff per changed file, never doubled."""

from __future__ import annotations

import json

import pytest

from patchline.edits import apply_unified_diff
from patchline.workflows.rollout.bugfixer import answer_edit_text, fix_from_answer
from patchline.workflows.rollout.repofiles import LazyStructure

pytestmark = pytest.mark.unit


@pytest.fixture
def files(requests_lite) -> LazyStructure:  # type: ignore[no-untyped-def]
    return LazyStructure(json.dumps(requests_lite.document).encode())


def _first_def(files: LazyStructure, path: str) -> str:
    text = files.read_text(path) or ""
    return next(line for line in text.splitlines() if line.startswith("def "))


def test_reasoning_stripped_edit_applied_reindented_one_diff(files: LazyStructure) -> None:
    line = _first_def(files, "requests/utils.py")
    answer = (
        "<think>maybe\n```python\n### requests/api.py\n<<<<<<< SEARCH\nimport\n=======\nboom\n>>>>>>> REPLACE\n```\n"
        "</think>\nHere is the fix:\n```python\n### requests/utils.py\n<<<<<<< SEARCH\n"
        f"        {line}\n=======\n        # fixed\n        {line}\n>>>>>>> REPLACE\n```\n"
    )
    result = fix_from_answer(answer, files)
    assert result.files.paths == ["requests/utils.py"]
    assert result.model_patch.count("diff --git a/requests/utils.py b/requests/utils.py") == 1
    assert f"+# fixed\n {line}\n" in result.model_patch  # re-indented to the file's indentation
    assert "<think>" not in result.search_replace_text and "requests/api.py" not in result.search_replace_text
    original = files.read_text("requests/utils.py") or ""
    after = apply_unified_diff({"requests/utils.py": original}, result.model_patch)
    assert after["requests/utils.py"] == result.files.new_contents[0]


def test_two_files_two_edits_each_file_once(files: LazyStructure) -> None:
    utils, api = _first_def(files, "requests/utils.py"), _first_def(files, "requests/api.py")
    answer = "\n".join(
        f"```python\n### {path}\n<<<<<<< SEARCH\n{line}\n=======\n{line}\n    pass  # {n}\n>>>>>>> REPLACE\n```"
        for n, (path, line) in enumerate(
            [("requests/utils.py", utils), ("requests/api.py", api), ("requests/utils.py", utils)]
        )
    )
    result = fix_from_answer(answer, files)
    assert result.files.paths == ["requests/utils.py", "requests/api.py"]
    assert result.model_patch.count("diff --git") == 2
    assert result.edits_found == 3 and result.edits_applied == 3


@pytest.mark.parametrize(
    "path",
    ["../../etc/passwd", "/etc/passwd", "requests/not_a_module.py", "README.md"],
)
def test_edits_outside_the_known_files_are_dropped(files: LazyStructure, path: str) -> None:
    answer = f"```python\n### {path}\n<<<<<<< SEARCH\nroot\n=======\nowned\n>>>>>>> REPLACE\n```"
    result = fix_from_answer(answer, files)
    assert result.model_patch == "" and result.files.paths == []
    assert result.unknown_paths == 1


@pytest.mark.parametrize(
    "answer",
    [
        "",
        "I could not find the bug.",
        "```python\n### requests/api.py\n<<<<<<< SEARCH\nno such line anywhere\n=======\nx\n>>>>>>> REPLACE\n```",
        "```python\n### requests/api.py\n<<<<<<< SEARCH\nimport\n>>>>>>> REPLACE\n```",
        "```python\n### requests/api.py\n<<<<<<< SEARCH\n",
        '◁think▷```python\n### requests/api.py\n<<<<<<< SEARCH\n"""\n=======\nx\n>>>>>>> REPLACE\n```◁/think▷ nothing',
    ],
)
def test_answers_without_usable_edits_give_empty_patches(files: LazyStructure, answer: str) -> None:
    result = fix_from_answer(answer, files)
    assert result.model_patch == "" and result.files.paths == []


def test_path_without_top_level_folder_is_corrected() -> None:
    document = {
        "structure": {
            "requests": {
                "requests": {
                    "hooks.py": {"classes": [], "functions": [], "text": ["def default_hooks():", "    return {}"]}
                }
            }
        }
    }
    files = LazyStructure(json.dumps(document).encode())
    answer = (
        "```\n### requests/hooks.py\n<<<<<<< SEARCH\n    return {}\n"
        "=======\n    return {'response': []}\n>>>>>>> REPLACE\n```"
    )
    result = fix_from_answer(answer, files)
    assert result.files.paths == ["requests/requests/hooks.py"]
    assert "+    return {'response': []}" in result.model_patch


def test_answer_edit_text_keeps_fences() -> None:
    text = answer_edit_text("intro\n```python\nx = 1\n```\nmiddle\n```\ny\n```\n")
    assert text == "```python\nx = 1\n```\n```\ny\n```"
