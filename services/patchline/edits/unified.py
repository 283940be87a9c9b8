"""Applying unified diffs to file contents, exactly and with GNU patch's offset search, in pure Python."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass

from unidiff.errors import UnidiffParseError
from unidiff.patch import PatchedFile, PatchSet

from patchline.core.errors import UnsafePathError
from patchline.core.safepath import safe_relpath
from patchline.edits.binary import BinaryPatch, apply_binary_patch, iter_binary_patches
from patchline.edits.diff import file_lines
from patchline.edits.errors import PatchApplyError
from patchline.edits.quoting import quote_path, unquote_path

__all__ = [
    "FileHunk",
    "apply_unified_diff",
    "diff_file_paths",
    "file_paths",
    "iter_file_hunks",
    "normalise_diff",
    "parse_diff",
]

_HUNK_HEADER = re.compile(r"^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@")
_MAX_CHOPPED_BLANKS = 3
_NULL = "/dev/null"


def _is_section_start(line: str) -> bool:
    return line.startswith(("diff --git ", "@@ -"))


def normalise_diff(diff_text: str) -> str:
    """Make a slightly damaged unified diff strict, the way GNU ``patch`` reads it.

    Blank lines after a complete hunk are dropped (EditBench step diffs end with one). A hunk cut short
    by the end of the text or by the next header, with the same number (at most 3) of lines missing on
    both sides, is completed with blank context lines: GNU patch assumes chopped trailing blank lines.
    A bare empty line inside a hunk is an empty context line. A ``diff --git`` line that names other
    files than its ``---``/``+++`` lines is dropped (GNU patch goes by ``---``/``+++``). CRLF becomes LF.
    """
    out: list[str] = []
    source_left = target_left = 0
    git_header: int | None = None
    for line in diff_text.replace("\r\n", "\n").split("\n"):
        if source_left > 0 or target_left > 0:
            if not _is_section_start(line):
                source_left, target_left = _hunk_line(out, line, source_left, target_left)
                continue
            _pad_short_hunk(out, source_left, target_left)
            source_left = target_left = 0
        header = _HUNK_HEADER.match(line)
        if header is not None:
            source_left = int(header.group(2) or 1)
            target_left = int(header.group(4) or 1)
            git_header = None
        elif line.startswith("diff --git "):
            git_header = len(out)
        elif line.startswith("+++ ") and git_header is not None and out and out[-1].startswith("--- "):
            if not _git_header_agrees(out[git_header], out[-1], line):
                del out[git_header : len(out) - 1]
            git_header = None
        if line.strip() or header is not None:
            out.append(line)
    _pad_short_hunk(out, source_left, target_left)
    return "".join(line + "\n" for line in out)


def _hunk_line(out: list[str], line: str, source_left: int, target_left: int) -> tuple[int, int]:
    """Take one hunk body line; return what is left to read on each side (0, 0 at a non-hunk line)."""
    kind = line[:1]
    if kind in ("", " "):
        out.append(line or " ")
        return source_left - 1, target_left - 1
    out.append(line)
    if kind == "-":
        return source_left - 1, target_left
    if kind == "+":
        return source_left, target_left - 1
    if kind == "\\":
        return source_left, target_left
    return 0, 0


def _file_name(line: str) -> str:
    """The name on a ``---``/``+++`` line, without a trailing tab or timestamp."""
    return line[4:].split("\t", 1)[0]


def _git_header_agrees(git_line: str, minus: str, plus: str) -> bool:
    old, new = _file_name(minus), _file_name(plus)
    old = "a/" + _strip_prefix(unquote_path(new), "b/") if old == _NULL else unquote_path(old)
    new = "b/" + _strip_prefix(old, "a/") if new == _NULL else unquote_path(new)
    return git_line == f"diff --git {quote_path(old)} {quote_path(new)}"


def _pad_short_hunk(out: list[str], source_left: int, target_left: int) -> None:
    if source_left > 0 and source_left == target_left and source_left <= _MAX_CHOPPED_BLANKS:
        out.extend([" "] * source_left)


@dataclass(frozen=True, slots=True)
class FileHunk:
    """One hunk as line lists (with newlines): where it starts in the old file, old lines, new lines."""

    index: int
    source_start: int
    source_length: int
    old: list[str]
    new: list[str]
    header: str
    trailing_context: int = 0


def _strip_prefix(name: str, prefix: str) -> str:
    return name[len(prefix) :] if name.startswith(prefix) else name


def file_paths(patched: PatchedFile) -> tuple[str | None, str | None]:
    """(old path, new path) of a file diff, ``None`` for /dev/null, each checked to stay in the repository."""
    source = None if patched.source_file == _NULL or patched.is_added_file else patched.source_file
    # A file is deleted only when the diff says so: unidiff's ``is_removed_file`` also calls a file
    # emptied by its one hunk (``@@ -1,3 +0,0 @@``) removed, which git renders for an emptied file.
    deleted = patched.target_file == _NULL or any(
        str(line).startswith("deleted file mode") for line in patched.patch_info or ()
    )
    target = None if deleted else patched.target_file
    paths: list[str | None] = []
    for name, prefix in ((source, "a/"), (target, "b/")):
        if name is None:
            paths.append(None)
            continue
        try:
            paths.append(safe_relpath(_strip_prefix(unquote_path(name), prefix), what="diff path"))
        except UnsafePathError as exc:
            raise PatchApplyError(name, None, str(exc)) from exc
    return paths[0], paths[1]


def iter_file_hunks(patched: PatchedFile) -> Iterator[FileHunk]:
    """The hunks of one file diff as old/new line lists; ``\\ No newline`` markers drop the newline."""
    for number, hunk in enumerate(patched, start=1):
        old: list[str] = []
        new: list[str] = []
        last: list[list[str]] = []
        trailing = 0
        for line in hunk:
            value = line.value if line.value.endswith("\n") else line.value + "\n"
            if line.line_type == " ":
                old.append(value)
                new.append(value)
                last = [old, new]
                trailing += 1
            elif line.line_type == "-":
                old.append(value)
                last = [old]
                trailing = 0
            elif line.line_type == "+":
                new.append(value)
                last = [new]
                trailing = 0
            elif line.line_type == "\\":
                for side in last:
                    side[-1] = side[-1].removesuffix("\n")
        header = f"@@ -{hunk.source_start},{hunk.source_length} +{hunk.target_start},{hunk.target_length} @@"
        yield FileHunk(number, hunk.source_start, hunk.source_length, old, new, header, trailing)


def _matches(lines: Sequence[str], at: int, pattern: Sequence[str]) -> bool:
    if at < 0 or at + len(pattern) > len(lines):
        return False
    return all(lines[at + k].removesuffix("\n") == p.removesuffix("\n") for k, p in enumerate(pattern))


def _locate(lines: Sequence[str], hunk: FileHunk, guess: int, frozen: int, *, anchored: bool) -> int:
    """GNU patch's search without fuzz: the expected place, then +1, -1, +2, -2, ... (never before ``frozen``).

    ``anchored`` adds git's rule: a hunk starting at line 0 or 1 must match at the top of the file, and
    a hunk without trailing context must match at its end.
    """
    if anchored and (hunk.source_start <= 1 or hunk.trailing_context == 0):
        at_end = len(lines) - len(hunk.old)
        at = 0 if hunk.source_start <= 1 else at_end
        fits = at >= frozen and (hunk.trailing_context > 0 or at == at_end) and _matches(lines, at, hunk.old)
        return at if fits else -1
    max_pos = len(lines) - guess - len(hunk.old)
    max_neg = guess - frozen
    for offset in range(max(max_pos, max_neg, 0) + 1):
        if offset <= max_pos and _matches(lines, guess + offset, hunk.old):
            return guess + offset
        if 0 < offset <= max_neg and _matches(lines, guess - offset, hunk.old):
            return guess - offset
    return -1


def _apply_hunks(path: str, content: str, patched: PatchedFile, *, anchored: bool = False) -> str:
    lines = file_lines(content)
    shift = 0
    frozen = 0
    for hunk in iter_file_hunks(patched):
        guess = (hunk.source_start if hunk.source_length == 0 else hunk.source_start - 1) + shift
        guess = min(max(guess, frozen), len(lines))
        at = _locate(lines, hunk, guess, frozen, anchored=anchored)
        if at < 0:
            raise PatchApplyError(path, hunk.index, f"{hunk.header} does not match the file")
        lines[at : at + len(hunk.old)] = hunk.new
        shift += len(hunk.new) - len(hunk.old) + (at - guess)
        frozen = at + len(hunk.new)
    return "".join(lines)


def diff_file_paths(diff_text: str) -> list[tuple[str | None, str | None]]:
    """(old path, new path) of each text file section of a diff, in order; ``[]`` when it does not parse.

    Paths are checked to stay in the repository (a section naming an unsafe path raises PatchApplyError).
    """
    try:
        sections = parse_diff(diff_text)
    except PatchApplyError:
        return []
    return [file_paths(section) for section in sections if not section.is_binary_file]


def parse_diff(diff_text: str) -> PatchSet:
    """Parse a (normalised) unified diff; raises :class:`PatchApplyError` when it is not one."""
    try:
        return PatchSet(normalise_diff(diff_text))
    except UnidiffParseError as exc:
        raise PatchApplyError("<diff>", None, f"not a unified diff: {exc}") from exc


def _apply_binary(state: dict[str, str | None], patch: BinaryPatch | None) -> None:
    if patch is None:
        raise PatchApplyError("<diff>", None, "a binary file section could not be read")
    for path in (patch.old_path, patch.new_path):
        if path is not None:
            try:
                safe_relpath(path, what="diff path")
            except UnsafePathError as exc:
                raise PatchApplyError(path, None, str(exc)) from exc
    current = state.get(patch.old_path) if patch.old_path is not None else state.get(patch.new_path or "")
    if patch.old_path is None and current:
        raise PatchApplyError(patch.name, None, "the diff creates a file that already exists")
    new_content = apply_binary_patch(patch, current)
    if patch.old_path is not None and patch.old_path != patch.new_path:
        state[patch.old_path] = None
    if patch.new_path is not None:
        state[patch.new_path] = new_content


def apply_unified_diff(files: Mapping[str, str], diff_text: str, *, anchored: bool = False) -> dict[str, str | None]:
    """Apply a unified diff to ``files`` (path -> content) and return the new state of every file.

    The result holds every input file plus the files the diff creates; a deleted file maps to
    ``None``. Hunks match exactly (no fuzz; a missing final newline is not a difference), at the
    expected line or shifted like GNU patch's offset search. Trailing blank lines after hunks and
    chopped trailing blank context (see :func:`normalise_diff`) are tolerated. New files, deleted
    files and renames are handled; paths that leave the repository are refused. git binary patches
    follow git's rules (:mod:`patchline.edits.binary`): without a full ``index`` line they are refused,
    as ``git apply`` refuses them. ``anchored=True`` adds git's placement rules (see :func:`_locate`).
    Raises :class:`PatchApplyError` naming the file and hunk that does not apply.
    """
    state: dict[str, str | None] = dict(files)
    binaries = iter_binary_patches(diff_text)
    for patched in parse_diff(diff_text):
        if patched.is_binary_file:
            _apply_binary(state, next(binaries, None))
            continue
        source, target = file_paths(patched)
        name = target or source or "<diff>"
        if source is None:
            if state.get(name):
                raise PatchApplyError(name, None, "the diff creates a file that already exists")
            old_content = ""
        else:
            current = state.get(source)
            if current is None:
                raise PatchApplyError(source, None, "the diff changes a file that does not exist")
            old_content = current
        new_content = _apply_hunks(name, old_content, patched, anchored=anchored)
        if source is not None and source != target:
            state[source] = None
        if target is not None:
            state[target] = new_content
        elif new_content.strip():
            raise PatchApplyError(name, None, "the file is deleted but content remains")
    return state
