"""git's change compaction: slide each group of changed lines to the position git would show (xdl_change_compact).

Groups are slid up and down over equal lines, merged when they touch, aligned with a change in the other
file where possible, and otherwise placed by git's indent heuristic.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ["compact"]

_MAX_INDENT = 200
_MAX_BLANKS = 20
_START_OF_FILE_PENALTY = 1
_END_OF_FILE_PENALTY = 21
_TOTAL_BLANK_WEIGHT = -30
_POST_BLANK_WEIGHT = 6
_RELATIVE_INDENT_PENALTY = -4
_RELATIVE_INDENT_WITH_BLANK_PENALTY = 10
_RELATIVE_OUTDENT_PENALTY = 24
_RELATIVE_OUTDENT_WITH_BLANK_PENALTY = 17
_RELATIVE_DEDENT_PENALTY = 23
_RELATIVE_DEDENT_WITH_BLANK_PENALTY = 17
_INDENT_WEIGHT = 60
_INDENT_HEURISTIC_MAX_SLIDING = 100
_SPACE = frozenset(" \t\n\v\f\r")


class _Side:
    """One file seen by the compaction: class ids, lines, changed flags (``rchg[i + 1]`` is line ``i``)."""

    def __init__(self, ids: Sequence[int], lines: Sequence[str], rchg: bytearray) -> None:
        self.ids, self.lines, self.rchg, self.nrec = ids, lines, rchg, len(ids)
        self.start = self.end = 0

    def chg(self, i: int) -> int:
        return self.rchg[i + 1]

    def init_group(self) -> None:
        self.start = self.end = 0
        while self.chg(self.end):
            self.end += 1

    def next_group(self) -> bool:
        if self.end == self.nrec:
            return False
        self.start = self.end + 1
        self.end = self.start
        while self.chg(self.end):
            self.end += 1
        return True

    def previous_group(self) -> bool:
        if self.start == 0:
            return False
        self.end = self.start - 1
        self.start = self.end
        while self.chg(self.start - 1):
            self.start -= 1
        return True

    def slide_down(self) -> bool:
        if self.end < self.nrec and self.ids[self.start] == self.ids[self.end]:
            self.rchg[self.start + 1] = 0
            self.rchg[self.end + 1] = 1
            self.start += 1
            self.end += 1
            while self.chg(self.end):
                self.end += 1
            return True
        return False

    def slide_up(self) -> bool:
        if self.start > 0 and self.ids[self.start - 1] == self.ids[self.end - 1]:
            self.start -= 1
            self.end -= 1
            self.rchg[self.start + 1] = 1
            self.rchg[self.end + 1] = 0
            while self.chg(self.start - 1):
                self.start -= 1
            return True
        return False


def _indent(line: str) -> int:
    ret = 0
    for char in line:
        if char not in _SPACE:
            return ret
        if char == " ":
            ret += 1
        elif char == "\t":
            ret += 8 - ret % 8
        if ret >= _MAX_INDENT:
            return _MAX_INDENT
    return -1


@dataclass(slots=True)
class _Score:
    effective_indent: int = 0
    penalty: int = 0


def _blanks_then_indent(side: _Side, lines: range) -> tuple[int, int]:
    """Blank lines met walking ``lines``, and the indent of the first other line (-1: none; after
    ``_MAX_BLANKS`` blanks the walk stops with indent 0), as xdiff's measure_split counts them."""
    blanks = 0
    for i in lines:
        indent = _indent(side.lines[i])
        if indent != -1:
            return blanks, indent
        blanks += 1
        if blanks == _MAX_BLANKS:
            return blanks, 0
    return blanks, -1


def _add_split_score(side: _Side, split: int, score: _Score) -> None:
    """measure_split + score_add_split of xdiff."""
    end_of_file = split >= side.nrec
    indent = -1 if end_of_file else _indent(side.lines[split])
    pre_blank, pre_indent = _blanks_then_indent(side, range(split - 1, -1, -1))
    post_blank_run, post_indent = _blanks_then_indent(side, range(split + 1, side.nrec))
    if pre_indent == -1 and pre_blank == 0:
        score.penalty += _START_OF_FILE_PENALTY
    if end_of_file:
        score.penalty += _END_OF_FILE_PENALTY
    post_blank = 1 + post_blank_run if indent == -1 else 0
    total_blank = pre_blank + post_blank
    score.penalty += _TOTAL_BLANK_WEIGHT * total_blank + _POST_BLANK_WEIGHT * post_blank
    effective = indent if indent != -1 else post_indent
    any_blanks = total_blank != 0
    score.effective_indent += effective
    if effective == -1 or pre_indent == -1 or effective == pre_indent:
        return
    if effective > pre_indent:
        score.penalty += _RELATIVE_INDENT_WITH_BLANK_PENALTY if any_blanks else _RELATIVE_INDENT_PENALTY
    elif post_indent != -1 and post_indent > effective:
        score.penalty += _RELATIVE_OUTDENT_WITH_BLANK_PENALTY if any_blanks else _RELATIVE_OUTDENT_PENALTY
    else:
        score.penalty += _RELATIVE_DEDENT_WITH_BLANK_PENALTY if any_blanks else _RELATIVE_DEDENT_PENALTY


def _score_cmp(a: _Score, b: _Score) -> int:
    cmp_indents = (a.effective_indent > b.effective_indent) - (a.effective_indent < b.effective_indent)
    return _INDENT_WEIGHT * cmp_indents + (a.penalty - b.penalty)


def _best_shift(side: _Side, earliest_end: int, groupsize: int) -> int:
    shift = max(earliest_end, side.end - groupsize - 1, side.end - _INDENT_HEURISTIC_MAX_SLIDING)
    best_shift, best = -1, _Score()
    while shift <= side.end:
        score = _Score()
        _add_split_score(side, shift, score)
        _add_split_score(side, shift - groupsize, score)
        if best_shift == -1 or _score_cmp(score, best) <= 0:
            best, best_shift = score, shift
        shift += 1
    return best_shift


def _slide_group(g: _Side, go: _Side) -> None:
    """Slide the current group of ``g`` (kept in step with ``go``) to where git puts it."""
    while True:
        groupsize = g.end - g.start
        end_matching_other = -1
        while g.slide_up():
            go.previous_group()
        earliest_end = g.end
        if go.end > go.start:
            end_matching_other = g.end
        while g.slide_down():
            go.next_group()
            if go.end > go.start:
                end_matching_other = g.end
        if groupsize == g.end - g.start:
            break
    if g.end == earliest_end:
        return
    if end_matching_other != -1:
        while go.end == go.start:
            g.slide_up()
            go.previous_group()
        return
    best_shift = _best_shift(g, earliest_end, groupsize)
    while g.end > best_shift:
        g.slide_up()
        go.previous_group()


def compact(
    ids: Sequence[int], lines: Sequence[str], rchg: bytearray, other_ids: Sequence[int], other_rchg: bytearray
) -> None:
    """Compact the change groups of one file in place (``rchg``), keeping the other file's groups in step."""
    g = _Side(ids, lines, rchg)
    go = _Side(other_ids, (), other_rchg)
    g.init_group()
    go.init_group()
    while True:
        if g.end != g.start:
            _slide_group(g, go)
        if not g.next_group():
            break
        go.next_group()
