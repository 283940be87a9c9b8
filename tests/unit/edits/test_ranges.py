"""apply_in_ranges: the Agentless strategy, clean by default and byte-compatible with the original on request."""

from __future__ import annotations

import random

import pytest

from patchline.edits import SearchReplaceEdit, apply_in_ranges
from patchline.edits.search_replace import edit_lines
from tests.unit.edits.corpus import real_python_files

pytestmark = pytest.mark.unit

FILE = "".join(f"line {n}\n" for n in range(1, 21))


def _e(search: str, replace: str) -> SearchReplaceEdit:
    return SearchReplaceEdit("a.py", search, replace)


def test_edit_inside_a_range_applies_cleanly() -> None:
    result = apply_in_ranges(FILE, [_e("line 5\nline 6\n", "five\n")], [(3, 8)])
    assert result.all_applied
    assert result.new_content == FILE.replace("line 5\nline 6\n", "five\n")


def test_edit_outside_every_range_is_reported() -> None:
    result = apply_in_ranges(FILE, [_e("line 15\n", "x\n"), _e("nowhere\n", "x\n"), _e("", "x\n")], [(1, 5)])
    assert [o.reason for o in result.outcomes] == ["not_in_ranges", "not_found", "empty_search"]
    assert result.new_content == FILE


def test_whole_file_range_adds_no_blank_lines() -> None:
    result = apply_in_ranges(FILE, [_e("line 1\n", "first\n"), _e("line 20\n", "last\n")], [(1, 20)])
    assert result.new_content == FILE.replace("line 1\n", "first\n", 1).replace("line 20\n", "last\n")


def test_last_range_first_keeps_earlier_ranges_valid() -> None:
    edits = [_e("line 2\n", "two\n"), _e("line 15\n", "a\nb\nc\nd\n")]
    result = apply_in_ranges(FILE, edits, [(14, 16), (1, 3)])
    assert result.all_applied
    assert result.new_content == FILE.replace("line 2\n", "two\n").replace("line 15\n", "a\nb\nc\nd\n")


def test_search_twice_in_a_range_replaces_both_like_the_original() -> None:
    content = "x = 1\ny\nx = 1\nz\n"
    assert apply_in_ranges(content, [_e("x = 1\n", "x = 2\n")], [(1, 4)]).new_content == "x = 2\ny\nx = 2\nz\n"
    assert apply_in_ranges(content, [_e("x = 1\n", "x = 2\n")], [(2, 4)]).new_content == "x = 1\ny\nx = 2\nz\n"


def test_empty_replace_deletes_and_no_ranges_is_reported() -> None:
    assert apply_in_ranges(FILE, [_e("line 3\n", "")], [(1, 5)]).new_content == FILE.replace("line 3\n", "")
    assert apply_in_ranges(FILE, [_e("line 3\n", "")], []).outcomes[0].reason == "no_ranges"


def test_ellipsis_edges_from_the_prompt_rendering() -> None:
    leading = apply_in_ranges(FILE, [_e("...\nline 7\n", "...\nseven\n")], [(6, 9)])
    assert leading.new_content == FILE.replace("line 7\n", "seven\n")
    indented = "def f():\n    ...\n"  # an indented ... is Python's Ellipsis and stays
    assert apply_in_ranges(indented, [_e("    ...\n", "    return 1\n")], [(1, 2)]).new_content == (
        "def f():\n    return 1\n"
    )


def test_search_that_is_only_an_ellipsis_inserts_before_an_anchor_line() -> None:
    content = "import os\n\n\ndef f():\n    return 1\n"
    result = apply_in_ranges(content, [_e("...\n", "def g():\n    return 2\n")], [(4, 5)])
    assert result.all_applied
    assert result.new_content == "import os\n\n\ndef g():\n    return 2\n\ndef f():\n    return 1\n"


def test_crlf_lines_match_and_keep_crlf() -> None:
    content = "a\r\nb\r\nc\r\n"
    assert apply_in_ranges(content, [_e("b\n", "B\n")], [(1, 3)]).new_content == "a\r\nB\r\nc\r\n"


# --- compatibility with the original string algorithm --------------------------------------------


def _original(commands: list[tuple[str, str]], content: str, intervals: list[tuple[int, int]]) -> str:
    """A transcription of the original Agentless algorithm (string based, with its artefacts), as reference."""

    def threedots(original: str, replace: str, content: str) -> tuple[str, str]:
        if replace.startswith("...\n") and len(replace) > 4:
            replace = replace[4:]
        if original == "..." and replace and not replace[0].isspace():
            for start, end in intervals:
                for line in "\n".join(content.splitlines()[max(start - 1, 0) : end]).splitlines():
                    if len(line) > 0 and not line[0].isspace() and content.count(line) == 1:
                        original, replace = line, replace + "\n\n" + line
                        break
                if original != "...":
                    break
        if original.startswith("...\n") and len(original) > 4:
            original = original[4:]
        return original, replace

    intervals = sorted(intervals)
    for start, end in intervals[::-1]:
        start = max(start - 1, 0)
        segment = "\n" + "\n".join(content.splitlines()[start:end]) + "\n"
        can_apply = []
        for original, replace in commands:
            o, _r = threedots(original, replace, content)
            if "\n" + o + "\n" in segment:
                can_apply.append((original, replace))
        for original, replace in can_apply[::-1]:
            o, r = threedots(original, replace, content)
            if "\n" + o + "\n" in segment:
                segment = segment.replace("\n" + o + "\n", "\n" + r + "\n")
        content = "\n".join(content.splitlines()[:start]) + segment + "\n".join(content.splitlines()[end:])
    return content


def test_compat_reproduces_the_leading_and_trailing_blank_line_artefacts() -> None:
    no_final_newline = FILE.rstrip("\n")
    result = apply_in_ranges(no_final_newline, [_e("line 2\n", "two\n")], [(1, 20)], compat_newlines=True)
    assert result.new_content == "\n" + no_final_newline.replace("line 2\n", "two\n") + "\n"
    unsupported = apply_in_ranges(FILE, [_e("line 2\n", "")], [(1, 3)], compat_newlines=True)
    assert unsupported.outcomes[0].reason == "unsupported"


def _random_case(content: str, rng: random.Random) -> tuple[list[SearchReplaceEdit], list[tuple[int, int]]]:
    lines = content.splitlines()
    ranges = []
    for _ in range(rng.randint(1, 3)):
        start = rng.randint(1, max(1, len(lines)))
        ranges.append((start, min(len(lines), start + rng.randint(0, 40))))
    edits = []
    for _ in range(rng.randint(1, 3)):
        start = rng.randint(0, max(0, len(lines) - 1))
        chunk = lines[start : start + rng.randint(1, 4)] or ["x"]
        if rng.random() < 0.2:
            chunk = ["...", *chunk]
        replace = [*chunk[:-1], chunk[-1] + "  # edited", *(["added()"] if rng.random() < 0.5 else [])]
        edits.append(SearchReplaceEdit("f.py", "\n".join(chunk) + "\n", "\n".join(replace) + "\n"))
    return edits, ranges


def test_compat_matches_the_original_on_real_files() -> None:
    rng = random.Random(7)
    checked = 0
    for _name, content in real_python_files(60, seed=3):
        if not content.strip():
            continue
        for _ in range(5):
            edits, ranges = _random_case(content, rng)
            commands = [("\n".join(edit_lines(e.search)), "\n".join(edit_lines(e.replace))) for e in edits]
            expected = _original(commands, content, ranges)
            assert apply_in_ranges(content, edits, ranges, compat_newlines=True).new_content == expected
            checked += 1
    assert checked >= 200


def test_clean_mode_equals_compat_mode_without_its_artefacts_on_real_files() -> None:
    rng = random.Random(11)
    compared = 0
    for _name, content in real_python_files(40, seed=5):
        lines = content.split("\n")
        # A file ending in blank lines loses all of them in compat mode, not only the final newline.
        if len(lines) < 30 or not content.endswith("\n") or content.endswith("\n\n") or "\r" in content:
            continue
        edits, ranges = _random_case(content, rng)
        inner = [(max(2, s), min(e, len(lines) - 3)) for s, e in ranges if max(2, s) <= min(e, len(lines) - 3)]
        if not inner:
            continue
        clean = apply_in_ranges(content, edits, inner)
        compat = apply_in_ranges(content, edits, inner, compat_newlines=True)
        # ranges away from both ends: the original's only artefact is the lost final newline
        assert clean.new_content == compat.new_content + "\n"
        compared += 1
        assert [o.applied for o in clean.outcomes] == [o.applied for o in compat.outcomes]
    assert compared >= 15
