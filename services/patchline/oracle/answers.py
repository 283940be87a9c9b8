"""The oracle's answers: the gold data of an instance, written in the format the prompt asks for.

The format is read from the prompt markers every workflow template keeps (see the team's interface notes):

====================================  ==========================================================================
prompt contains                       answer
====================================  ==========================================================================
``<<<<<<< SEARCH`` + ``Issue          SEARCH/REPLACE edits to the test file the prompt shows (TestWriter step 2):
reproduced``                          the gold ``test_patch`` hunks of that file when the test patch edits it;
                                      otherwise one edit that inserts the test patch's added top-level test
                                      functions (and its added imports) after the shown file's first one-line
                                      import; when it adds only test methods to existing classes, those are
                                      put into a new ``unittest.TestCase`` class instead. The shown file is the
                                      first prompt line (issue left out) that is a ``.py`` path containing
                                      ``test``; its block ends at the next fence line. Only tests the patch
                                      adds whole (they parse on their own) are inserted; a test patch that
                                      only changes existing tests gives nothing to insert: unplaceable (404).
``<<<<<<< SEARCH``                    SEARCH/REPLACE edits equivalent to the gold ``patch``.
``most relevant files``               the changed files, one per line in a fenced block. A TestWriter prompt
                                      (its instructions, issue and tree left out, mention a test file or
                                      reproducing) gets the ``test_patch`` files first (those whose file name
                                      says test before the others; with ``--repo-root`` only files that exist
                                      at the base commit, else an existing test file next to a new one), then
                                      the ``patch`` files; a BugFixer prompt gets the ``patch`` files only.
                                      At most 5.
``<patch>``                           the gold ``patch`` inside ``<patch>`` tags.
(EditBench instance)                  the infbench ``ground_truth`` in a ```` ```diff ```` fence.
====================================  ==========================================================================

A prompt that needs an answer the gold data cannot give raises :class:`UnplaceablePromptError`.
"""

from __future__ import annotations

import ast
import posixpath
import re
import textwrap
from collections.abc import Iterator

from patchline.core.errors import InputError
from patchline.edits import search_replace_from_diff
from patchline.oracle.gold import GoldInstance, normalise_text

__all__ = [
    "MAX_LOCALISED_FILES",
    "UnplaceablePromptError",
    "compose_answer",
    "diff_files",
    "split_diff",
]

MAX_LOCALISED_FILES = 5
SEARCH_MARKER = "<<<<<<< SEARCH"
REPRODUCED_MARKER = "Issue reproduced"
LOCALISE_MARKER = "most relevant files"
PATCH_MARKER = "<patch>"

_TESTWRITER_WORDING = re.compile(r"reproduc|\btest files?\b", re.IGNORECASE)
_TREE_ENTRY = re.compile(r"^\s*[\w.-]+(\.py|/)$")
_SHOWN_TEST_PATH = re.compile(r"^([\w.-]+/)*[\w.-]*test[\w.-]*\.py$", re.MULTILINE)
_ONE_LINE_IMPORT = re.compile(r"^(import [\w., ]+|from [\w.]+ import [\w., *]+)$")
_TEST_START = re.compile(r"^(def test|async def test|class Test|@)")


class UnplaceablePromptError(InputError):
    """The prompt cannot be answered from the gold data (no instance, or no gold answer in its format)."""


def split_diff(diff: str) -> dict[str, str]:
    """The per-file parts of a ``diff --git`` patch, keyed by the file's new path (old path if deleted)."""
    parts: dict[str, str] = {}
    chunks = re.split(r"^(?=diff --git )", normalise_text(diff), flags=re.MULTILINE)
    for chunk in chunks:
        if not chunk.startswith("diff --git "):
            continue
        new = re.search(r"^\+\+\+ b/(.+)$", chunk, re.MULTILINE)
        old = re.search(r"^--- a/(.+)$", chunk, re.MULTILINE)
        header = re.match(r"diff --git a/(\S+) b/(\S+)", chunk)
        path = new.group(1) if new else old.group(1) if old else header.group(2) if header else ""
        if path:
            parts[path.strip()] = chunk
    return parts


def diff_files(diff: str) -> list[str]:
    """The files a patch changes, in patch order."""
    return list(split_diff(diff))


def _without_issue(prompt: str, instance: GoldInstance) -> str:
    return prompt.replace(instance.problem_statement, "") if instance.problem_statement else prompt


def _is_testwriter_localisation(prompt: str, instance: GoldInstance) -> bool:
    lines = [line for line in _without_issue(prompt, instance).split("\n") if not _TREE_ENTRY.match(line)]
    return bool(_TESTWRITER_WORDING.search("\n".join(lines)))


def _test_files_first(paths: list[str]) -> list[str]:
    """Paths whose file name says test (test_x.py, tests.py) before other test-patch files (models, data)."""
    return sorted(paths, key=lambda path: "test" not in posixpath.basename(path))


def _neighbour_test(paths: list[str], base_files: frozenset[str]) -> list[str]:
    """An existing test file in the folder (or the parent folder) of a test file the test patch creates."""
    for path in paths:
        folder = posixpath.dirname(path)
        for where in (folder, posixpath.dirname(folder)):
            near = sorted(
                f
                for f in base_files
                if posixpath.dirname(f) == where and f.endswith(".py") and "test" in posixpath.basename(f)
            )
            if near:
                return near[:1]
    return []


def _localisation(prompt: str, instance: GoldInstance, base_files: frozenset[str] | None) -> str:
    files = diff_files(instance.patch)
    if _is_testwriter_localisation(prompt, instance):
        tests = _test_files_first(diff_files(instance.test_patch))
        if base_files is not None:
            tests = [path for path in tests if path in base_files] or _neighbour_test(tests, base_files)
        files = tests + files
    unique = list(dict.fromkeys(files))[:MAX_LOCALISED_FILES]
    return "```\n" + "\n".join(unique) + "\n```\n"


def _shown_test_file(text: str) -> tuple[str, int] | None:
    match = _SHOWN_TEST_PATH.search(text)
    return (match.group(0), match.end()) if match else None


def _parses(source: str) -> bool:
    """True for complete Python source: a test the patch only changes in part is not complete on its own."""
    try:
        ast.parse(source)
    except SyntaxError:
        return False
    return True


def _keeps(block: list[str]) -> bool:
    head = [line for line in block if line.startswith(("def ", "async def ", "class "))]
    return any(_TEST_START.match(line) for line in head) or any("fixture" in line for line in block[:1])


def _added_tests(test_patch: str) -> tuple[list[str], list[str]]:
    """Top-level test functions/classes (and fixtures) and one-line imports the test patch adds, as source."""
    imports: list[str] = []
    blocks: list[list[str]] = []
    current: list[str] | None = None
    for raw in normalise_text(test_patch).split("\n"):
        added = raw.startswith("+") and not raw.startswith("+++")
        line = raw[1:] if added else ""
        if added and _ONE_LINE_IMPORT.match(line):
            imports.append(line)
        if current is not None and added:
            decorators_only = not any(x.startswith(("def ", "async def ", "class ")) for x in current)
            if decorators_only or not line.strip() or line[:1].isspace():
                current.append(line)
                continue
        current = None
        if added and _TEST_START.match(line):
            current = [line]
            blocks.append(current)
    tests = ["\n".join(block).rstrip() for block in blocks if _keeps(block)]
    return list(dict.fromkeys(imports)), [test for test in tests if _parses(test)]


def _added_test_methods(test_patch: str) -> list[str]:
    """Test methods the test patch adds inside existing classes, dedented to module level."""
    methods: list[list[str]] = []
    current: list[str] | None = None
    indent = 0
    for raw in normalise_text(test_patch).split("\n"):
        added = raw.startswith("+") and not raw.startswith("+++")
        line = raw[1:] if added else ""
        depth = len(line) - len(line.lstrip())
        if current is not None and added and (not line.strip() or depth > indent):
            current.append(line)
            continue
        current = None
        if added and depth > 0 and line.lstrip().startswith(("def test", "async def test")):
            indent = depth
            current = [line]
            methods.append(current)
    dedented = (textwrap.dedent("\n".join(method)).rstrip() for method in methods)
    return [method for method in dedented if _parses(method)]


def _reproduction_code(instance: GoldInstance) -> tuple[list[str], str]:
    """Imports and source of a reproduction test built from the test patch's added tests."""
    imports, tests = _added_tests(instance.test_patch)
    if tests:
        return imports, "\n\n\n".join(textwrap.dedent(test) for test in tests)
    methods = _added_test_methods(instance.test_patch)
    if not methods:
        raise UnplaceablePromptError(f"{instance.instance_id}: the gold test patch adds no test function")
    body = "\n\n".join(textwrap.indent(method, "    ") for method in methods)
    return [*imports, "import unittest"], f"class TestReproduction(unittest.TestCase):\n{body}"


def _shown_lines(prompt: str, end: int) -> Iterator[str]:
    """The lines after the shown file's path, up to the fence that closes the file block."""
    for line in prompt[end:].split("\n"):
        if line.startswith("```"):
            return
        yield line


def _reproduction_insert(prompt: str, instance: GoldInstance, shown: tuple[str, int]) -> str:
    path, end = shown
    anchor = next((ln for ln in _shown_lines(prompt, end) if _ONE_LINE_IMPORT.match(ln)), None)
    if anchor is None:
        raise UnplaceablePromptError(
            f"{instance.instance_id}: the shown test file {path} has no one-line import to anchor an edit"
        )
    imports, code = _reproduction_code(instance)
    new_imports = list(dict.fromkeys(line for line in imports if line != anchor and line not in prompt))
    replace = "\n".join([anchor, *new_imports]) + "\n\n\n" + code + "\n"
    return f"```python\n### {path}\n{SEARCH_MARKER}\n{anchor}\n=======\n{replace}>>>>>>> REPLACE\n```\n"


def _test_edits(prompt: str, instance: GoldInstance) -> str:
    text = _without_issue(prompt, instance)
    parts = split_diff(instance.test_patch)
    lines = (re.search(rf"^{re.escape(path)}$", text, re.MULTILINE) for path in parts)
    shown_in_patch = sorted((match.start(), match.group(0), match.end()) for match in lines if match)
    shown = (shown_in_patch[0][1], shown_in_patch[0][2]) if shown_in_patch else _shown_test_file(text)
    if shown_in_patch:
        answer = search_replace_from_diff(parts[shown_in_patch[0][1]])
        if answer.strip():  # an empty new file (a package's __init__.py) gives no edit: insert instead
            return answer
    if shown is None:
        raise UnplaceablePromptError(f"{instance.instance_id}: the prompt shows no test file to edit")
    return _reproduction_insert(text, instance, shown)


def compose_answer(prompt: str, instance: GoldInstance, *, base_files: frozenset[str] | None = None) -> str:
    """The gold answer to ``prompt`` about ``instance``, in the format the prompt asks for.

    ``base_files`` (the repository's files at the base commit, when known) lets a TestWriter localisation
    name only test files the repository has (see :mod:`patchline.oracle.repos`).
    """
    text = normalise_text(prompt)
    if instance.kind == "editbench":
        return f"```diff\n{instance.ground_truth.rstrip()}\n```\n"
    if SEARCH_MARKER in text:
        if REPRODUCED_MARKER in text:
            return _test_edits(text, instance)
        return search_replace_from_diff(instance.patch)
    if LOCALISE_MARKER in text:
        return _localisation(text, instance, base_files)
    if PATCH_MARKER in text:
        return f"<patch>\n{instance.patch.rstrip(chr(10))}\n</patch>\n"
    raise UnplaceablePromptError(
        f"{instance.instance_id}: the prompt asks for no known answer format "
        f"({SEARCH_MARKER!r}, {LOCALISE_MARKER!r} or {PATCH_MARKER!r})"
    )
