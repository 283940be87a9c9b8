"""The Agentless edit strategy: exact SEARCH match inside the line ranges shown in the prompt, last range first."""

from __future__ import annotations

from collections.abc import Sequence

from patchline.edits.agentless_original import apply_original, command_pair
from patchline.edits.outcome import (
    EMPTY_SEARCH,
    NO_RANGES,
    NOT_FOUND,
    NOT_IN_RANGES,
    ApplyResult,
    EditOutcome,
    join_lines,
    split_lines,
)
from patchline.edits.search_replace import SearchReplaceEdit, edit_lines

__all__ = ["ELLIPSIS", "apply_in_ranges", "resolve_ellipsis"]

ELLIPSIS = "..."


def _anchor_line(content: str, ranges: Sequence[tuple[int, int]]) -> str | None:
    """First unindented, non-empty line shown in the ranges that occurs once in the file (original rule)."""
    lines = content.splitlines()
    for start, end in ranges:
        for line in lines[max(start - 1, 0) : end]:
            if line and not line[0].isspace() and content.count(line) == 1:
                return line
    return None


def _leading_ellipsis(lines: list[str]) -> bool:
    """A ``...`` first line followed by real text (a lone ``...`` plus one blank line does not count)."""
    return len(lines) > 1 and lines[0] == ELLIPSIS and lines[1:] != [""]


def resolve_ellipsis(
    search: list[str], replace: list[str], content: str, ranges: Sequence[tuple[int, int]]
) -> tuple[list[str], list[str]]:
    """Undo ``...`` lines a model copied from the prompt rendering (SPEC §3), as the original does.

    A leading ``...`` line is dropped from REPLACE and from SEARCH (the prompt shows ``...`` before a
    range that does not start at the top). A SEARCH that is only ``...`` means "insert here": it
    becomes the first unindented line of the shown ranges that occurs once in the file, and REPLACE
    (if it is not indented) is inserted before that line with a blank line between. Only unindented
    ``...`` lines count: an indented ``...`` is Python's Ellipsis statement.
    """
    search, replace = list(search), list(replace)
    if _leading_ellipsis(replace):
        replace = replace[1:]
    joined = "\n".join(replace)
    if search == [ELLIPSIS] and joined and not joined[0].isspace():
        anchor = _anchor_line(content, ranges)
        if anchor is not None:
            search, replace = [anchor], [*replace, "", anchor]
    if _leading_ellipsis(search):
        search = search[1:]
    return search, replace


def _keys(lines: Sequence[str]) -> list[str]:
    """Lines as compared: a CR before the newline is not part of the match."""
    return [line.removesuffix("\r") for line in lines]


def _find(keys: list[str], search: list[str], begin: int = 0) -> int:
    """First whole-line occurrence of ``search`` in ``keys`` at or after ``begin`` (candidates via ``list.index``)."""
    span = len(search)
    while True:
        try:
            begin = keys.index(search[0], begin, max(len(keys) - span + 1, 0))
        except ValueError:
            return -1
        if keys[begin : begin + span] == search:
            return begin
        begin += 1


def _replace_all(segment: list[str], search: list[str], replace: list[str]) -> tuple[list[str], bool]:
    """Replace the whole-line occurrences of ``search`` in ``segment`` as the original's ``str.replace`` does.

    The original replaces ``"\\n" + search + "\\n"``, which consumes the newline after an occurrence, so
    an occurrence starting right after a replaced one is left alone; that rule is kept.
    """
    keys = _keys(segment)
    out: list[str] = []
    pos, changed = 0, False
    while True:
        hit = _find(keys, search, pos)
        if hit < 0:
            break
        out.extend(segment[pos:hit])
        eol = "\r" if segment[hit].endswith("\r") else ""
        out.extend(line + eol for line in replace)
        out.extend(segment[hit + len(search) : hit + len(search) + 1])
        pos, changed = hit + len(search) + 1, True
    out.extend(segment[pos:])
    return out, changed


def _normalised_ranges(ranges: Sequence[tuple[int, int]]) -> list[tuple[int, int]]:
    return sorted((int(start), int(end)) for start, end in ranges)


def apply_in_ranges(
    content: str,
    edits: Sequence[SearchReplaceEdit],
    ranges: Sequence[tuple[int, int]],
    *,
    compat_newlines: bool = False,
) -> ApplyResult:
    """Apply edits by exact whole-line match inside 1-based inclusive line ``ranges``, last range first (Agentless).

    Per range (from the last to the first), every edit whose SEARCH occurs in the range replaces each
    occurrence there, edits applied from the last to the first as the original does; ``...`` edge
    lines are resolved by :func:`resolve_ellipsis`. An empty REPLACE deletes the lines. Reasons:
    ``empty_search``, ``not_in_ranges`` (the SEARCH is in the file but outside every range),
    ``not_found``, ``no_ranges``.

    ``compat_newlines=True`` reproduces the original string algorithm byte for byte, including its
    artefacts (a blank line added before a range starting at line 1 and after one reaching the end,
    lost final newline, edits with an empty SEARCH or REPLACE ignored as ``unsupported``). In the clean
    mode a CR before a newline is not part of the match and replacement lines in a CRLF region get one.
    """
    ordered = _normalised_ranges(ranges)
    if not ordered:
        return ApplyResult(content, [EditOutcome.failed(NO_RANGES) for _ in edits])
    if compat_newlines:
        return _apply_compat(content, edits, ordered)
    lines, final_newline = split_lines(content)
    resolved = [resolve_ellipsis(_clean(e.search), _clean(e.replace), content, ordered) for e in edits]
    applied = [False] * len(edits)
    for start, end in reversed(ordered):
        lo, hi = max(start - 1, 0), min(end, len(lines))
        if lo >= hi:
            continue
        segment = lines[lo:hi]
        keys = _keys(segment)
        hits = [i for i, (search, _r) in enumerate(resolved) if search and _find(keys, search) >= 0]
        for i in reversed(hits):
            search, replace = resolved[i]
            segment, changed = _replace_all(segment, search, replace)
            applied[i] = applied[i] or changed
        lines[lo:hi] = segment
    original_keys = _keys(split_lines(content)[0])
    outcomes = [
        EditOutcome.ok() if done else EditOutcome.failed(_why_not(search, original_keys))
        for done, (search, _r) in zip(applied, resolved, strict=True)
    ]
    return ApplyResult(join_lines(lines, final_newline), outcomes)


def _clean(text: str) -> list[str]:
    return [line.removesuffix("\r") for line in edit_lines(text)]


def _why_not(search: list[str], keys: list[str]) -> str:
    if not search:
        return EMPTY_SEARCH
    return NOT_IN_RANGES if _find(keys, search) >= 0 else NOT_FOUND


def _apply_compat(content: str, edits: Sequence[SearchReplaceEdit], ordered: list[tuple[int, int]]) -> ApplyResult:
    """The original Agentless string algorithm, artefacts included (:mod:`patchline.edits.agentless_original`)."""
    return apply_original(content, [command_pair(_as_command(edit)) for edit in edits], ordered)


def _as_command(edit: SearchReplaceEdit) -> str:
    """The edit as the original's normalised command text (so its reading rules apply to it)."""
    search = "".join(line + "\n" for line in edit_lines(edit.search))
    replace = "".join(line + "\n" for line in edit_lines(edit.replace))
    return f"<<<<<<< SEARCH\n{search}=======\n{replace}>>>>>>> REPLACE"
