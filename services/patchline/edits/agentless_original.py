"""How the original Agentless reads and applies SEARCH/REPLACE answers (SPEC §6), reproduced string for string.

Reading (``extract_python_blocks``, ``split_edit_multifile_commands``):

- only the bodies of python fences are read: every non-overlapping match of ```` ```python\\n(.*?)\\n``` ````
  (DOTALL, non-greedy), in order; an answer without one has no edits;
- each body is split on ``>>>>>>> REPLACE`` (the text after the last marker is dropped) and each chunk is
  ``.strip()``-ped, so blank lines and trailing spaces at the end of a REPLACE are lost;
- the file is the chunk's text before ``<<<<<<< SEARCH`` with leading ``#`` and blanks stripped, carried
  over to later chunks of the same body; a chunk without exactly one SEARCH marker is skipped;
- each chunk becomes ``"<<<<<<< SEARCH" + text after the marker + "\\n>>>>>>> REPLACE"``, and identical
  commands for one file are kept once;
- a command is read as ``"\\n".join(command.splitlines()[1:-1])`` split on ``"\\n=======\\n"``: anything
  but exactly two parts is skipped (so an empty SEARCH or REPLACE, or a divider with blanks, never
  applies);
- the original turns the file key back into a name with ``eval``; here a name it could not evaluate to
  itself (a quote, backslash, line break or NUL in it) is unreadable, without evaluating anything.

Applying (``parse_diff_edit_commands``): intervals sorted, processed from the last to the first; each is
the segment ``"\\n" + lines[start-1:end] + "\\n"``; a command applies when ``"\\n" + SEARCH + "\\n"`` occurs
in it and then replaces every occurrence (commands applied from the last to the first); a leading
``...\\n`` is dropped from SEARCH and REPLACE, and a SEARCH of exactly ``...`` becomes the first
unindented line of the intervals that occurs once in the file (REPLACE then ends with a blank line and
that line). The segment is joined back without care for the file's ends, which is where the original's
blank lines at the start and end of a file come from.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from patchline.edits.outcome import APPLIED, NOT_FOUND, UNSUPPORTED, ApplyResult, EditOutcome

__all__ = [
    "CommandPair",
    "OriginalCommands",
    "apply_original",
    "command_pair",
    "python_fence_bodies",
    "read_original",
    "readable_file_name",
    "split_commands",
]

SEARCH_MARKER = "<<<<<<< SEARCH"
REPLACE_MARKER = ">>>>>>> REPLACE"
DIVIDER = "\n=======\n"
ELLIPSIS = "..."

_PYTHON_FENCE = re.compile(r"```python\n(.*?)\n```", re.DOTALL)
_UNEVALUABLE = ("'", "\\", "\n", "\r", "\x00")

CommandPair = tuple[str, str]
"""``(SEARCH, REPLACE)`` of one command, as the original reads it (no final newline)."""


def python_fence_bodies(text: str | None) -> list[str]:
    """The bodies of the python fences of ``text``, as the original's regular expression finds them."""
    return _PYTHON_FENCE.findall(text or "")


def split_commands(bodies: Iterable[str]) -> dict[str | None, list[str]]:
    """Normalised commands per file key (the text before SEARCH; None before any), duplicates kept once."""
    per_file: dict[str | None, list[str]] = {}
    for body in bodies:
        file_key: str | None = None
        for chunk in body.split(REPLACE_MARKER)[:-1]:
            chunk = chunk.strip()
            parts = chunk.split(SEARCH_MARKER)
            if len(parts) > 1:
                name = parts[0].lstrip("#").strip()
                file_key = name or file_key
            if len(parts) != 2:
                continue
            command = SEARCH_MARKER + parts[1] + "\n" + REPLACE_MARKER
            commands = per_file.setdefault(file_key, [])
            if command not in commands:
                commands.append(command)
    return per_file


def command_pair(command: str) -> CommandPair | None:
    """The SEARCH and REPLACE of a normalised command, or None where the original skips it."""
    body = "\n".join(command.splitlines()[1:-1])
    parts = body.split(DIVIDER)
    if len(parts) != 2:
        return None
    return parts[0], parts[1]


def readable_file_name(file_key: str | None) -> str | None:
    """The path the original's ``eval("'" + key + "'")`` gives, when that is the key itself; else None."""
    if not file_key or any(char in file_key for char in _UNEVALUABLE):
        return None
    return file_key


@dataclass(slots=True)
class OriginalCommands:
    """The commands of one answer as the original reads them: per file key, in first-seen order."""

    per_file: dict[str | None, list[str]] = field(default_factory=dict)

    @property
    def first_file(self) -> str | None:
        """The file the original edits (the first key; None when it is missing or unreadable)."""
        return readable_file_name(next(iter(self.per_file), None))

    def pairs(self, file_key: str | None) -> list[CommandPair | None]:
        """The commands of one file key read as pairs (None: skipped by the original)."""
        return [command_pair(command) for command in self.per_file.get(file_key, [])]

    def readable_pairs(self) -> set[tuple[str, str, str]]:
        """``(path, SEARCH, REPLACE)`` of every command the original can read, whatever its file."""
        found: set[tuple[str, str, str]] = set()
        for file_key in self.per_file:
            path = readable_file_name(file_key)
            if path is None:
                continue
            found.update((path, *pair) for pair in self.pairs(file_key) if pair is not None)
        return found


def read_original(text: str | None) -> OriginalCommands:
    """Read an answer as the original does (python fences only, stripped chunks, duplicates once)."""
    return OriginalCommands(split_commands(python_fence_bodies(text)))


class _OriginalFailure(Exception):
    """Where the original raises (and so leaves the file unedited)."""


def _anchor(replace: str, intervals: Sequence[tuple[int, int]], content: str) -> tuple[str, str]:
    """A SEARCH of ``...``: the first unindented line of the intervals that occurs once in the file."""
    if not replace:
        raise _OriginalFailure("replace[0] of an empty REPLACE")
    if replace[0].isspace():
        return ELLIPSIS, replace
    lines = content.splitlines()
    for start, end in intervals:
        for line in lines[max(start - 1, 0) : end]:
            if line and not line[0].isspace() and content.count(line) == 1:
                return line, replace + "\n\n" + line
    return ELLIPSIS, replace


def _resolve_dots(pair: CommandPair, intervals: Sequence[tuple[int, int]], content: str) -> CommandPair:
    search, replace = pair
    if replace.startswith(ELLIPSIS + "\n") and len(replace) > 4:
        replace = replace[4:]
    if search == ELLIPSIS:
        search, replace = _anchor(replace, intervals, content)
    if search.startswith(ELLIPSIS + "\n") and len(search) > 4:
        search = search[4:]
    return search, replace


def _apply_interval(
    content: str, start: int, end: int, pairs: Sequence[CommandPair | None], intervals: list[tuple[int, int]]
) -> tuple[str, list[int]]:
    lines = content.splitlines()
    lo = max(start - 1, 0)
    segment = "\n" + "\n".join(lines[lo:end]) + "\n"
    resolved = [None if pair is None else _resolve_dots(pair, intervals, content) for pair in pairs]
    hits = [i for i, pair in enumerate(resolved) if pair is not None and f"\n{pair[0]}\n" in segment]
    done: list[int] = []
    for i in reversed(hits):
        search, replace = resolved[i] or ("", "")
        if f"\n{search}\n" in segment:
            segment = segment.replace(f"\n{search}\n", f"\n{replace}\n")
            done.append(i)
    return "\n".join(lines[:lo]) + segment + "\n".join(lines[end:]), done


def apply_original(
    content: str, pairs: Sequence[CommandPair | None], intervals: Sequence[tuple[int, int]]
) -> ApplyResult:
    """Apply commands to ``content`` inside ``intervals`` (1-based, inclusive) exactly as the original does.

    Outcomes: ``applied``, ``not_found``, or ``unsupported`` for a command the original skips (None).
    Where the original raises, the content comes back unchanged and no command counts as applied.
    """
    ordered = sorted((int(start), int(end)) for start, end in intervals)
    applied = [False] * len(pairs)
    new_content = content
    try:
        for start, end in reversed(ordered):
            new_content, done = _apply_interval(new_content, start, end, pairs, ordered)
            for i in done:
                applied[i] = True
    except _OriginalFailure:
        return ApplyResult(content, [EditOutcome.failed(UNSUPPORTED) for _ in pairs])
    outcomes = [
        EditOutcome(True, APPLIED) if done else EditOutcome.failed(NOT_FOUND if pair is not None else UNSUPPORTED)
        for done, pair in zip(applied, pairs, strict=True)
    ]
    return ApplyResult(new_content, outcomes)
