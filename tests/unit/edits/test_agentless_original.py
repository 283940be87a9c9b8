"""The original Agentless reading (SPEC §6), checked against a reference model on generated answers.

Answers are generated around each rule: fence kinds (```python, other tags, bare text, unclosed), path
lines, blank lines and spaces at the end of a REPLACE, restated edits, ``...`` anchors, intervals at the
file's edges, marker variants. The compat pipeline (read, first file only, string algorithm) must give
what the reference model of the rules gives; default mode must name a leniency for every applied edit
the original could not have read.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from patchline.edits import SearchReplaceEdit, apply_in_ranges, apply_original, read_original
from patchline.workflows.agentless.context import FileSegment, InstanceContext
from patchline.workflows.agentless.responses import SampleAnswer
from patchline.workflows.agentless.sample import patch_sample

from .agentless_reference import reference_commands, reference_edit, reference_pair
from .corpus import real_python_files

pytestmark = pytest.mark.unit

CASES = settings(
    max_examples=300, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow], database=None
)

FENCES = ["```python\n{body}\n```", "```py\n{body}\n```", "```\n{body}\n```", "~~~python\n{body}\n~~~", "{body}"]
FENCES += ["```python \n{body}\n```", "```Python\n{body}\n```", "```python\n{body}", "````python\n{body}\n````"]
PATH_LINES = ["### {p}", "# {p}", "{p}", "", "### `{p}`", "Here is the fix:\n### {p}", "###  {p}  "]
SEARCH_MARKERS = ["<<<<<<< SEARCH", "<<<<<<< SEARCH", "<<<<<<< SEARCH", "<<<<<<<< SEARCH", "    <<<<<<< SEARCH"]
DIVIDERS = ["=======", "=======", "=======", "======= ", "    ======="]
ENDINGS = ["", "", "\n", "\n\n", "  ", "\n   \n"]


@cache
def _pool() -> tuple[tuple[str, str], ...]:
    picked = []
    for name, text in real_python_files(40, seed=15):
        lines = text.splitlines()
        if 30 <= len(lines) <= 400 and "\r" not in text and "'" not in name:
            picked.append((f"pkg/{name.rsplit('/', 1)[-1]}", "\n".join(lines)))
    return tuple(picked[:8])


@dataclass(frozen=True)
class Case:
    """One generated answer with the files and intervals it is read against (contents as compat holds them)."""

    answer: str
    files: dict[str, str]
    intervals: dict[str, list[tuple[int, int]]]


def _pick(draw: st.DrawFn, options: list[str], clean: bool) -> str:
    """The standard option (the first) for a clean answer, else any."""
    return options[0] if clean else draw(st.sampled_from(options))


@st.composite
def _edit(draw: st.DrawFn, path: str, content: str, clean: bool) -> str:
    lines = content.split("\n")
    start = draw(st.integers(0, len(lines) - 1))
    chunk = lines[start : start + draw(st.integers(1, 4))]
    kind = draw(st.sampled_from(["plain", "plain", "dots_first", "dots_only", "blank_search"]))
    search = {"dots_first": ["...", *chunk], "dots_only": ["..."], "blank_search": [""]}.get(kind, chunk)
    replace = [*chunk[:-1], chunk[-1] + "  # changed", *draw(st.sampled_from([[], ["added = 1"]]))]
    if kind == "dots_only":
        replace = draw(st.sampled_from([["def added():", "    return 1"], ["    indented = 1"]]))
    if draw(st.integers(0, 4)) == 0:
        replace = ["...", *replace]
    path_line = _pick(draw, PATH_LINES, clean).format(p=path)
    marker, divider = _pick(draw, SEARCH_MARKERS, clean), _pick(draw, DIVIDERS, clean)
    ending = _pick(draw, ENDINGS, clean)
    empty_replace = not clean and draw(st.integers(0, 9)) == 0
    replace_text = "" if empty_replace else "\n".join(replace) + ending + "\n"
    head = f"{path_line}\n" if path_line else ""
    return f"{head}{marker}\n" + "\n".join(search) + f"\n{divider}\n{replace_text}>>>>>>> REPLACE\n"


@st.composite
def cases(draw: st.DrawFn) -> Case:
    pool = _pool()
    clean = draw(st.integers(0, 2)) == 0  # a third of the answers use only what the original reads
    chosen = draw(st.lists(st.sampled_from(range(len(pool))), min_size=1, max_size=1 if clean else 2, unique=True))
    files = {pool[i][0]: pool[i][1] for i in chosen}
    intervals: dict[str, list[tuple[int, int]]] = {}
    for path, content in files.items():
        count = len(content.split("\n"))
        spans = []
        for _ in range(draw(st.integers(1, 3))):
            start = draw(st.sampled_from([1, draw(st.integers(1, count))]))
            end = draw(st.sampled_from([count, min(count, start + draw(st.integers(0, 60)))]))
            spans.append((start, end))
        intervals[path] = spans
    blocks = []
    for _ in range(draw(st.integers(1, 3))):
        paths = draw(st.lists(st.sampled_from(sorted(files)), min_size=1, max_size=4))
        edits = [draw(_edit(path, files[path], clean)) for path in paths]
        if draw(st.integers(0, 5)) == 0:
            edits.append(edits[0])  # an edit restated in the same block
        fence = _pick(draw, FENCES, clean)
        blocks.append(fence.format(body="\n".join(edits).rstrip("\n")))
    if draw(st.integers(0, 5)) == 0:
        blocks.append(blocks[0])  # the whole answer restated
    prose = draw(st.sampled_from(["", "Let me fix it.\n\n", "The bug is in the loop.\n"]))
    return Case(prose + "\n\n".join(blocks) + "\n", files, intervals)


def _context(case: Case, *, compat: bool) -> InstanceContext:
    segments = []
    for path, content in case.files.items():
        text = content if compat else content + "\n"
        segments.append(FileSegment(path, text, tuple(case.intervals[path])))
    return InstanceContext(files=segments)


def _answer(text: str) -> SampleAnswer:
    return SampleAnswer(sample=1, content=text, reasoning="", usage={}, failure="")


@CASES
@given(cases())
def test_compat_mode_gives_what_the_original_rules_give(case: Case) -> None:
    expected = reference_edit(case.answer, case.files, case.intervals)
    patch = patch_sample(_answer(case.answer), _context(case, compat=True), compat=True)
    got = dict(zip(patch.files.paths, patch.files.new_contents, strict=True))
    changed = {path: text for path, text in expected.items() if text != case.files[path]}
    assert got == changed


@CASES
@given(cases())
def test_reading_matches_the_reference(case: Case) -> None:
    commands = read_original(case.answer)
    reference = reference_commands(case.answer)
    assert [(key, command) for key, found in commands.per_file.items() for command in found] == sorted(
        reference, key=lambda item: [k for k, _ in reference].index(item[0])
    )
    for key, command in reference:
        assert commands.pairs(key)[commands.per_file[key].index(command)] == reference_pair(command)


@CASES
@given(cases())
def test_default_mode_names_a_leniency_for_what_the_original_cannot_read(case: Case) -> None:
    patch = patch_sample(_answer(case.answer), _context(case, compat=False), compat=False)
    if patch.leniency or not patch.files.paths:
        return
    # no leniency named: the original reads the edits of this patch, in the one file it edits
    commands = reference_commands(case.answer)
    path = commands[0][0]
    assert patch.files.paths == [path]
    pairs = [pair for key, command in commands if key == path and (pair := reference_pair(command)) is not None]
    edits = [SearchReplaceEdit(str(path), search + "\n", replace + "\n") for search, replace in pairs]
    clean = apply_in_ranges(case.files[str(path)] + "\n", edits, case.intervals[str(path)])
    assert clean.new_content == patch.files.new_contents[0]


# --- named rules, one example each --------------------------------------------------------------

FILE = "import os\n\n\ndef f():\n    return 1\n\n\ndef g():\n    return 2"
EDIT = "### m.py\n<<<<<<< SEARCH\ndef f():\n    return 1\n=======\ndef f():\n    return 10\n>>>>>>> REPLACE"


def _compat(answer: str) -> str | None:
    commands = read_original(answer)
    if commands.first_file != "m.py":
        return None
    return apply_original(FILE, commands.pairs("m.py"), [(2, 9)]).new_content


def test_only_python_fences_are_read() -> None:
    assert _compat(f"```python\n{EDIT}\n```") is not None
    for answer in (EDIT, f"```\n{EDIT}\n```", f"```diff\n{EDIT}\n```", f"~~~python\n{EDIT}\n~~~"):
        assert _compat(answer) is None


def test_trailing_blank_lines_of_a_replace_are_lost() -> None:
    answer = f"```python\n{EDIT.replace('return 10', 'return 10' + chr(10) * 3 + '   ')}\n```"
    assert "return 10\n\n\ndef g" in (_compat(answer) or "")


def test_a_restated_edit_lands_once() -> None:
    insert = "### m.py\n<<<<<<< SEARCH\nimport os\n=======\nimport os\nimport re\n>>>>>>> REPLACE"
    commands = read_original(f"```python\n{insert}\n{insert}\n```\n```python\n{insert}\n```")
    assert len(commands.pairs("m.py")) == 1
    assert apply_original(FILE, commands.pairs("m.py"), [(1, 9)]).new_content.count("import re") == 1


def test_a_path_with_a_quote_or_after_prose_is_unreadable() -> None:
    assert (
        read_original("```python\n### it's.py\n<<<<<<< SEARCH\na\n=======\nb\n>>>>>>> REPLACE\n```").first_file is None
    )
    prose = "Fix:\n### m.py\n<<<<<<< SEARCH\na\n=======\nb\n>>>>>>> REPLACE"
    assert read_original(f"```python\n{prose}\n```").first_file is None
