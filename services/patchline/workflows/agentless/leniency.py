"""What a default-mode sample read that the original Agentless could not have read (the ``leniency`` field).

patchline's reader is more forgiving than the original's (SPEC §6, :mod:`patchline.edits.agentless_original`).
Each applied edit is checked against the original's reading of the same answer; the labels name the
leniencies the sample's patch depends on, so a user can count the answers only patchline could read:

- ``outside_python_fence``: the edit is not inside a ```` ```python ```` fence the original's regular
  expression finds (bare text, another or no language tag, ``~~~``, an unclosed or indented fence);
- ``trailing_whitespace_kept``: the original reads the edit but strips the end of its REPLACE (blank
  lines, trailing spaces), which patchline keeps;
- ``empty_replace``: the REPLACE is empty (a deletion), which the original skips;
- ``lenient_markers``: the edit is in a python fence but the original does not read it there (markers
  with other lengths, blanks or indentation, a decorated path such as ```` `x.py` ````, a path after
  prose lines, a path the original cannot turn back into a name);
- ``other_files``: the edit is to a file other than the one the original edits (the first it finds,
  when that is a file of the prompt).

An empty list means the original's reading gives the same edits.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from types import MappingProxyType

from patchline.edits import parse_search_replace, read_original
from patchline.edits.agentless_original import python_fence_bodies
from patchline.edits.search_replace import SearchReplaceEdit, edit_lines

__all__ = [
    "EMPTY_REPLACE",
    "LENIENCIES",
    "LENIENT_MARKERS",
    "OTHER_FILES",
    "OUTSIDE_PYTHON_FENCE",
    "TRAILING_WHITESPACE_KEPT",
    "leniencies_used",
]

OUTSIDE_PYTHON_FENCE = "outside_python_fence"
TRAILING_WHITESPACE_KEPT = "trailing_whitespace_kept"
EMPTY_REPLACE = "empty_replace"
LENIENT_MARKERS = "lenient_markers"
OTHER_FILES = "other_files"

LENIENCIES: Mapping[str, str] = MappingProxyType(
    {
        OUTSIDE_PYTHON_FENCE: "edit outside a ```python fence",
        TRAILING_WHITESPACE_KEPT: "trailing blank lines or spaces of a REPLACE kept",
        EMPTY_REPLACE: "empty REPLACE (deletion)",
        LENIENT_MARKERS: "markers or path the original does not read",
        OTHER_FILES: "edits beyond the first file",
    }
)

_Key = tuple[str, str, str]


def _key(edit: SearchReplaceEdit) -> _Key:
    """An edit as the original's ``(path, SEARCH, REPLACE)`` strings (no final newline)."""
    return edit.path, "\n".join(edit_lines(edit.search)), "\n".join(edit_lines(edit.replace))


def _in_python_fences(answer_text: str) -> set[_Key]:
    found: set[_Key] = set()
    for body in python_fence_bodies(answer_text):
        found.update(_key(edit) for edit in parse_search_replace(body, fenced_only=False).edits)
    return found


def leniencies_used(answer_text: str, applied: Iterable[SearchReplaceEdit], shown: Collection[str]) -> list[str]:
    """The labels (sorted) of the leniencies the ``applied`` edits of one answer depend on.

    ``shown`` are the files of the prompt: the original edits its first file only when it is one of them.
    """
    edits = list(applied)
    if not edits:
        return []
    original = read_original(answer_text)
    first_file = original.first_file if original.first_file in shown else None
    readable = original.readable_pairs()
    fenced = _in_python_fences(answer_text)
    labels: set[str] = set()
    for edit in edits:
        path, search, replace = key = _key(edit)
        if path != first_file and (first_file is not None or key in readable):
            # The original edits its first file only; when that one is unreadable it edits none, so even an
            # edit it reads elsewhere in the answer depends on patchline reading on.
            labels.add(OTHER_FILES)
        if key in readable:
            continue
        if key not in fenced:
            labels.add(OUTSIDE_PYTHON_FENCE)
        elif not replace.strip():
            labels.add(EMPTY_REPLACE)
        elif (path, search, replace.rstrip()) in readable:
            labels.add(TRAILING_WHITESPACE_KEPT)
        else:
            labels.add(LENIENT_MARKERS)
    return sorted(labels)
