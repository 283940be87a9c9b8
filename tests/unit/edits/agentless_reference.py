"""A small reference model of how the original Agentless reads and applies SEARCH/REPLACE (SPEC.md §6).

Written from the rules as SPEC.md states them, independently of ``patchline.edits.agentless_original``,
so the differential tests compare two readings of one specification.
"""

from __future__ import annotations

import re

__all__ = ["reference_commands", "reference_edit", "reference_pair"]

FENCE = r"```python\n(.*?)\n```"


def _chunks(block: str) -> list[str]:
    # "split on >>>>>>> REPLACE (the text after the last marker is dropped), each chunk .strip()ped"
    pieces = block.split(">>>>>>> REPLACE")
    return [piece.strip() for piece in pieces[: len(pieces) - 1]]


def _commands(text: str) -> list[tuple[str | None, str]]:
    """(file key, normalised command) in order; identical commands for one file kept once."""
    out: list[tuple[str | None, str]] = []
    for block in re.findall(FENCE, text, flags=re.DOTALL):
        path: str | None = None
        for chunk in _chunks(block):
            if "<<<<<<< SEARCH" in chunk:
                before = chunk[: chunk.index("<<<<<<< SEARCH")].lstrip("#").strip()
                if before:
                    path = before
            if chunk.count("<<<<<<< SEARCH") != 1:
                continue
            after = chunk[chunk.index("<<<<<<< SEARCH") + len("<<<<<<< SEARCH") :]
            command = "<<<<<<< SEARCH" + after + "\n>>>>>>> REPLACE"
            if (path, command) not in out:
                out.append((path, command))
    return out


def reference_commands(text: str) -> list[tuple[str | None, str]]:
    """(file key, normalised command) of an answer, as the original reads it."""
    return _commands(text)


def reference_pair(command: str) -> tuple[str, str] | None:
    """(SEARCH, REPLACE) of a command, or None where the original skips it."""
    return _read(command)


def _read(command: str) -> tuple[str, str] | None:
    inner = "\n".join(command.splitlines()[1:-1])
    halves = inner.split("\n=======\n")
    return (halves[0], halves[1]) if len(halves) == 2 else None


def _dots(search: str, replace: str, content: str, intervals: list[tuple[int, int]]) -> tuple[str, str]:
    if replace.startswith("...\n") and len(replace) > len("...\n"):
        replace = replace[len("...\n") :]
    if search == "..." and not replace[0].isspace():
        lines = content.splitlines()
        candidates = [
            line
            for start, end in intervals
            for line in lines[max(start - 1, 0) : end]
            if line != "" and not line[0].isspace() and content.count(line) == 1
        ]
        if candidates:
            search, replace = candidates[0], replace + "\n\n" + candidates[0]
    if search.startswith("...\n") and len(search) > len("...\n"):
        search = search[len("...\n") :]
    return search, replace


def reference_edit(text: str, files: dict[str, str], intervals: dict[str, list[tuple[int, int]]]) -> dict[str, str]:
    """The new content of the file the original edits (the first one named), or {} when it edits nothing.

    ``files`` are the contents as the original holds them (lines joined without a final newline).
    """
    commands = _commands(text)
    if not commands:
        return {}
    first = commands[0][0]
    # the file key is eval'd as a quoted string: anything that is not a plain name fails
    if first is None or any(c in first for c in "'\\\n\r\x00") or first not in files or first not in intervals:
        return {}
    content = files[first]
    pairs = [_read(command) for key, command in commands if key == first]
    spans = sorted(intervals[first])
    for start, end in reversed(spans):
        begin = max(start - 1, 0)
        lines = content.splitlines()
        segment = "\n" + "\n".join(lines[begin:end]) + "\n"
        fits = []
        for pair in pairs:
            if pair is None:
                continue
            try:
                search, _ = _dots(*pair, content, spans)
            except IndexError:  # the original raises on replace[0]: the file is left unedited
                return {first: files[first]}
            if f"\n{search}\n" in segment:
                fits.append(pair)
        for pair in fits[::-1]:
            search, replace = _dots(*pair, content, spans)
            if f"\n{search}\n" in segment:
                segment = segment.replace(f"\n{search}\n", f"\n{replace}\n")
        content = "\n".join(lines[:begin]) + segment + "\n".join(lines[end:])
    return {first: content}
