"""Does a diff apply? The verdict ``git apply --check`` gives, decided in pure Python.

:func:`apply_unified_diff` is forgiving where GNU patch is (a hunk cut short, a diff without its final
newline, blank lines between hunks). git is stricter, and EditBench and SWE-bench evaluate with git,
so a verdict adds git's rules on top: each hunk has exactly the lines its header counts, each ending
with a newline (an empty line is an empty context line, as git reads it), so a miscounted or cut-off
hunk is a corrupt patch; a hunk starting at line 0 or 1 must match at the top of the file and one
without trailing context at its end; binary patches follow :mod:`patchline.edits.binary` (refused
without a full ``index`` line); a text without any file section is "no valid patches".
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from patchline.edits.diff import file_lines
from patchline.edits.errors import PatchApplyError
from patchline.edits.unified import apply_unified_diff

__all__ = ["PatchVerdict", "apply_checked", "check_patch", "git_corruption"]

_HUNK = re.compile(r"^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@")
_FILE_START = ("diff --git ", "--- ", "+++ ")
_BINARY_START = ("GIT binary patch", "Binary files ")


@dataclass(frozen=True, slots=True)
class PatchVerdict:
    """Whether a diff applies to a set of files, and git's reason when it does not."""

    applies: bool
    reason: str = ""


def _hunk_end(lines: list[str], start: int, old: int, new: int) -> int | None:
    """Index after a hunk body of ``old``/``new`` lines starting at ``start``; None when it is corrupt.

    ``lines`` keep their newline: a body line without one (the text ends inside the hunk) is corrupt.
    """
    index = start
    while old > 0 or new > 0:
        if index >= len(lines) or not lines[index].endswith("\n"):
            return None
        kind = lines[index][:1] if lines[index] != "\n" else ""
        if kind in ("", " "):
            old, new = old - 1, new - 1
        elif kind == "-":
            old -= 1
        elif kind == "+":
            new -= 1
        elif kind != "\\":
            return None
        if old < 0 or new < 0:
            return None
        index += 1
    return index


def git_corruption(diff_text: str) -> str | None:
    """Why git would call ``diff_text`` corrupt (or hold no patch), or None when git can read it."""
    if not diff_text.strip():
        return "no valid patches in input"
    lines = file_lines(diff_text)  # split at \n only, as git reads a patch
    sections = 0
    index = 0
    while index < len(lines):
        line = lines[index]
        header = _HUNK.match(line)
        if header is None:
            sections += line.startswith(_FILE_START) or line.startswith(_BINARY_START)
            index += 1
            continue
        old = int(header.group(2) or 1)
        new = int(header.group(4) or 1)
        end = _hunk_end(lines, index + 1, old, new)
        if end is None:
            return f"corrupt patch at line {index + 1}: the hunk does not have the lines its header counts"
        index = end
    return None if sections else "no valid patches in input"


def apply_checked(files: Mapping[str, str], diff_text: str) -> tuple[PatchVerdict, dict[str, str | None]]:
    """The verdict of ``git apply --check`` and, when it applies, the files after applying (else ``{}``)."""
    corrupt = git_corruption(diff_text)
    if corrupt is not None:
        return PatchVerdict(False, corrupt), {}
    try:
        state = apply_unified_diff(files, diff_text, anchored=True)
    except PatchApplyError as exc:
        return PatchVerdict(False, str(exc)), {}
    return PatchVerdict(True), state


def check_patch(files: Mapping[str, str], diff_text: str) -> PatchVerdict:
    """The verdict of ``git apply --check`` for ``diff_text`` on ``files`` (path -> content)."""
    return apply_checked(files, diff_text)[0]
