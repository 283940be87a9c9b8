"""Recovery of messy model diffs: the repairs a model's unified diff needs before ``git apply`` takes it.

Strict handling stays the default (a seed that stores a model's diff stores it as extracted). With
recovery, :func:`recover_model_patch` reads the answer's diff leniently and writes it anew against the
files it is meant for, naming each repair it made:

- ``unwrapped``: the diff was inside wrappers the strict extraction does not remove (``<DIFF>`` tags,
  ``<<<``/``>>>`` lines, an untagged fence after prose, text around it);
- ``path_prefix_stripped``: a path carried a repository folder or an absolute prefix
  (``/django__django/django/db/x.py`` -> ``django/db/x.py``); only a suffix that names a known file
  is taken;
- ``hunk_counts_recounted``: a hunk header counted other line numbers than its body has;
- ``hunk_relocated``: a hunk's start line was wrong; it is moved to where its old lines (context and
  removed lines, exactly) occur: the nearest such place within ``MAX_RELOCATION`` lines of the stated
  line (refused on a tie), else the only such place in the file (refused when there are several);
- ``context_marker_restored``: a context line lost its leading space marker (``def f():`` or
  ``    x = 1`` for ``     x = 1``); taken only when the hunk then matches exactly and nowhere else
  matches without it;
- ``final_newline_kept``: a ``\\ No newline at end of file`` marker that disagrees with the file was
  dropped, so the file's final newline survives;
- ``context_completed``: a hunk without trailing context that does not end the file got the file's
  next lines (up to 3, never into the next hunk) as context: git applies such a hunk only at the end
  of a file.

Nothing is matched fuzzily: a hunk whose old lines are not found exactly is left as it is and named in
``unresolved``; the caller sees the verdict of ``git apply --check`` on the result in ``applies``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from patchline.edits.blocks import extract_model_patch, find_fenced_blocks
from patchline.edits.diff import file_lines
from patchline.edits.quoting import quote_path, unquote_path
from patchline.edits.reasoning import strip_reasoning
from patchline.edits.verdict import check_patch

__all__ = ["MAX_RELOCATION", "REPAIRS", "RecoveredDiff", "recover_model_patch"]

MAX_RELOCATION = 400
"""How far (in lines) a hunk may be moved from the line its header states."""

UNWRAPPED = "unwrapped"
PATH_PREFIX_STRIPPED = "path_prefix_stripped"
HUNK_COUNTS_RECOUNTED = "hunk_counts_recounted"
HUNK_RELOCATED = "hunk_relocated"
CONTEXT_MARKER_RESTORED = "context_marker_restored"
FINAL_NEWLINE_KEPT = "final_newline_kept"
CONTEXT_COMPLETED = "context_completed"
REPAIRS = (
    UNWRAPPED,
    PATH_PREFIX_STRIPPED,
    HUNK_COUNTS_RECOUNTED,
    HUNK_RELOCATED,
    CONTEXT_MARKER_RESTORED,
    FINAL_NEWLINE_KEPT,
    CONTEXT_COMPLETED,
)
_CONTEXT = 3

_HUNK = re.compile(r"^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@(.*)$")
_BARE_HUNK = re.compile(r"^@@(?: .*)?$")  # a hunk header without (readable) line numbers
_NULL = "/dev/null"
_NO_NEWLINE = "\\ No newline at end of file"


@dataclass(slots=True)
class RecoveredDiff:
    """The repaired diff, the repairs it needed, what stayed unresolved and the git verdict on the files."""

    diff: str
    repairs: list[str] = field(default_factory=list)
    unresolved: list[str] = field(default_factory=list)
    applies: bool = False
    reason: str = ""

    def note(self, repair: str) -> None:
        """Record one repair (each kind once, in the order of :data:`REPAIRS`)."""
        if repair not in self.repairs:
            self.repairs.append(repair)
            self.repairs.sort(key=REPAIRS.index)


@dataclass(slots=True)
class _Hunk:
    start: int  # the old start line its header states
    lines: list[tuple[str, str]]  # (kind, text): kind " ", "-", "+", "\\", or "?" for a line without marker
    heading: str
    stated: tuple[int, int]
    at: int = 0  # where its old lines begin in the file (0-based), once placed


@dataclass(slots=True)
class _FileDiff:
    headers: list[str]
    old: str | None
    new: str | None
    hunks: list[_Hunk] = field(default_factory=list)


# --- finding the diff ----------------------------------------------------------------------------


def _is_start(lines: Sequence[str], index: int) -> bool:
    line = lines[index]
    if line.startswith("diff --git "):
        return True
    return line.startswith("--- ") and index + 1 < len(lines) and lines[index + 1].startswith("+++ ")


def _diff_region(text: str) -> str:
    """The lines from the first file header to the end of the last hunk; wrappers around them dropped."""
    lines = text.replace("\r\n", "\n").split("\n")
    start = next((i for i in range(len(lines)) if _is_start(lines, i)), None)
    if start is None:
        return ""
    end = start
    for index in range(start, len(lines)):
        line = lines[index]
        if line[:1] in (" ", "+", "-", "\\", "@") or line.startswith(("diff --git", "index ", "new file", "deleted")):
            end = index + 1
        elif line.startswith(("old mode", "new mode", "similarity", "rename ", "copy ")) or line == "":
            continue
        elif not line.strip("`<>~ ") or line.strip().lower() in ("</diff>", "</patch>", "<diff>"):
            break  # a closing wrapper (```, ~~~, >>>, </DIFF>)
        elif index + 1 < len(lines) and lines[index + 1][:1] in (" ", "+", "-", "@"):
            end = index + 1  # a context line that lost its marker, inside a hunk
        else:
            break
    return "\n".join(lines[start:end]) + "\n"


def _extract(text: str | None) -> tuple[str, str]:
    """(strict extraction, lenient diff region) of an answer."""
    strict = extract_model_patch(text)
    region = _diff_region(strict)
    if region:
        return strict, region
    answer = strip_reasoning(text)
    for block in find_fenced_blocks(answer):
        region = _diff_region(block.content)
        if region:
            return strict, region
    return strict, _diff_region(answer)


# --- reading it ----------------------------------------------------------------------------------


def _name(line: str, prefix: str) -> str | None:
    raw = unquote_path(line[4:].split("\t", 1)[0].strip())
    if raw == _NULL:
        return None
    return raw[len(prefix) :] if raw.startswith(prefix) else raw


def _header(line: str) -> _Hunk | None:
    """An empty hunk for a header line; one without numbers starts at line 1 and states no counts."""
    match = _HUNK.match(line)
    if match is not None:
        counts = (int(match.group(2) or 1), int(match.group(4) or 1))
        return _Hunk(int(match.group(1)), [], match.group(5), counts)
    return _Hunk(1, [], "", (-1, -1)) if _BARE_HUNK.match(line) else None


def _read_hunk(lines: list[str], index: int, hunk: _Hunk) -> tuple[_Hunk, int]:
    while index < len(lines):
        line = lines[index]
        if line.startswith(("@@ ", "diff --git ")) or (line.startswith("--- ") and _is_start(lines, index)):
            break
        if line[:1] in (" ", "-", "+", "\\"):
            hunk.lines.append((line[:1], line[1:]))
        else:  # an empty line is an empty context line; any other line lost its marker
            hunk.lines.append((" ", "") if line == "" else ("?", line))
        index += 1
    while hunk.lines and hunk.lines[-1] == (" ", "") and _counts(hunk.lines) != hunk.stated:
        hunk.lines.pop()  # blank lines after a hunk, unless its header counts them
    return hunk, index


def _counts(lines: Sequence[tuple[str, str]]) -> tuple[int, int]:
    old = sum(1 for kind, _ in lines if kind in (" ", "-", "?"))
    new = sum(1 for kind, _ in lines if kind in (" ", "+", "?"))
    return old, new


def _parse(region: str) -> list[_FileDiff]:
    lines = region.split("\n")
    files: list[_FileDiff] = []
    index = 0
    while index < len(lines):
        line = lines[index]
        if line.startswith("diff --git ") or (line.startswith("--- ") and _is_start(lines, index)):
            if line.startswith("diff --git ") or not files or files[-1].hunks or files[-1].new is not None:
                files.append(_FileDiff([], None, None))
            current = files[-1]
            if line.startswith("--- "):
                current.old, current.new = _name(line, "a/"), _name(lines[index + 1], "b/")
                index += 2
                continue
            current.headers.append(line)
        elif files and (header := _header(line)) is not None:
            hunk, index = _read_hunk(lines, index + 1, header)
            files[-1].hunks.append(hunk)
            continue
        elif files and not files[-1].hunks and line:
            files[-1].headers.append(line)
        index += 1
    return files


# --- repairing it --------------------------------------------------------------------------------


def _known_suffix(path: str, files: Mapping[str, str]) -> str | None:
    parts = [part for part in path.split("/") if part]
    for begin in range(1, len(parts)):
        candidate = "/".join(parts[begin:])
        if candidate in files:
            return candidate
    return None


def _fix_path(path: str | None, files: Mapping[str, str], result: RecoveredDiff) -> str | None:
    if path is None or path in files:
        return path
    fixed = _known_suffix(path, files)
    if fixed is None:
        return path.lstrip("/")
    result.note(PATH_PREFIX_STRIPPED)
    return fixed


def _old_lines(hunk: _Hunk, *, raw: bool) -> list[str]:
    """The hunk's old side; ``raw``: a ``" "`` line may also be read as a whole line (its marker lost)."""
    return [(" " + text if raw and kind == " " else text) for kind, text in hunk.lines if kind in (" ", "-", "?")]


def _matches_at(lines: Sequence[str], at: int, old: Sequence[str], alt: Sequence[str] | None) -> bool:
    if at < 0 or at + len(old) > len(lines):
        return False
    for k, expected in enumerate(old):
        actual = lines[at + k].removesuffix("\n")
        if actual != expected and (alt is None or actual != alt[k]):
            return False
    return True


def _nearest(lines: Sequence[str], old: Sequence[str], alt: Sequence[str] | None, guess: int, floor: int) -> int | None:
    """Where the old lines match exactly: the nearest place within :data:`MAX_RELOCATION` lines of ``guess``
    (None on a tie), else the only place in the rest of the file (None when there are several)."""
    for distance in range(MAX_RELOCATION + 1):
        found = [at for at in {guess - distance, guess + distance} if at >= floor and _matches_at(lines, at, old, alt)]
        if len(found) == 1:
            return found[0]
        if len(found) > 1:
            return None
    far = [
        at
        for at in range(floor, len(lines) - len(old) + 1)
        if abs(at - guess) > MAX_RELOCATION and _matches_at(lines, at, old, alt)
    ]
    return far[0] if len(far) == 1 else None


def _place(lines: Sequence[str], hunk: _Hunk, guess: int, floor: int, result: RecoveredDiff) -> int | None:
    old = _old_lines(hunk, raw=False)
    if not old:
        return max(guess, floor)
    at = _nearest(lines, old, None, guess, floor)
    if at is None:
        at = _nearest(lines, old, _old_lines(hunk, raw=True), guess, floor)
        if at is None:
            return None
        _restore_markers(hunk, lines, at)
        result.note(CONTEXT_MARKER_RESTORED)
    if at != guess:
        result.note(HUNK_RELOCATED)
    return at


def _restore_markers(hunk: _Hunk, lines: Sequence[str], at: int) -> None:
    offset = 0
    for index, (kind, text) in enumerate(hunk.lines):
        if kind not in (" ", "-", "?"):
            continue
        actual = lines[at + offset].removesuffix("\n")
        if kind == " " and actual != text:
            hunk.lines[index] = (" ", actual)
        offset += 1


def _fix_newline_markers(hunk: _Hunk, at: int, lines: Sequence[str], result: RecoveredDiff) -> None:
    """Keep a ``\\ No newline`` marker only where the file's last line really has no newline."""
    at_end_without_newline = at + _counts(hunk.lines)[0] == len(lines) and bool(lines) and not lines[-1].endswith("\n")
    kept: list[tuple[str, str]] = []
    for kind, text in hunk.lines:
        if kind == "\\" and not at_end_without_newline:
            result.note(FINAL_NEWLINE_KEPT)
            continue
        kept.append((" " if kind == "?" else kind, text))
    hunk.lines = kept


def _repair_file(diff: _FileDiff, files: Mapping[str, str], result: RecoveredDiff) -> None:
    diff.old = _fix_path(diff.old, files, result)
    diff.new = _fix_path(diff.new, files, result)
    content = files.get(diff.old or "") if diff.old is not None else ""
    if content is None:
        result.unresolved.append(f"{diff.old}: not a known file")
        return
    lines = file_lines(content)
    shift, floor = 0, 0
    for number, hunk in enumerate(diff.hunks, start=1):
        old_count = _counts(hunk.lines)[0]
        guess = (hunk.start - 1 if old_count else hunk.start) + shift
        at = _place(lines, hunk, max(guess, 0), floor, result)
        if at is None:
            result.unresolved.append(f"{diff.old or diff.new}: hunk #{number}: its old lines are not in the file")
            at = max(guess, floor)
        if any(kind == "?" for kind, _ in hunk.lines):
            result.note(CONTEXT_MARKER_RESTORED)
        _fix_newline_markers(hunk, at, lines, result)
        hunk.at = at
        if _counts(hunk.lines) != hunk.stated:
            result.note(HUNK_COUNTS_RECOUNTED)
        old, new = _counts(hunk.lines)
        shift += new - old + (at - guess)
        floor = at + old
    if not result.unresolved:
        _complete_context(diff.hunks, lines, result)


def _complete_context(hunks: list[_Hunk], lines: Sequence[str], result: RecoveredDiff) -> None:
    """Give hunks without trailing context the file's next lines, so git does not pin them to the file's end."""
    for index, hunk in enumerate(hunks):
        body = [kind for kind, _ in hunk.lines if kind != "\\"]
        if body and body[-1] == " ":
            continue
        end = hunk.at + _counts(hunk.lines)[0]
        limit = hunks[index + 1].at if index + 1 < len(hunks) else len(lines)
        extra = lines[end : min(end + _CONTEXT, limit)]
        if not extra:
            continue
        if hunk.lines and hunk.lines[-1][0] == "\\":
            continue  # the hunk ends the file's last line without newline: nothing follows it
        hunk.lines += [(" ", line.removesuffix("\n")) for line in extra]
        if not extra[-1].endswith("\n"):
            hunk.lines.append(("\\", _NO_NEWLINE[1:]))
        result.note(CONTEXT_COMPLETED)


def _render_file(diff: _FileDiff) -> str:
    old_name = f"a/{diff.old}" if diff.old is not None else _NULL
    new_name = f"b/{diff.new}" if diff.new is not None else _NULL
    git_old, git_new = f"a/{diff.old or diff.new}", f"b/{diff.new or diff.old}"
    out = [f"diff --git {quote_path(git_old)} {quote_path(git_new)}"]
    out += [h for h in diff.headers if not h.startswith(("diff --git ", "--- ", "+++ "))]
    out.append(f"--- {quote_path(old_name) if diff.old is not None else old_name}")
    out.append(f"+++ {quote_path(new_name) if diff.new is not None else new_name}")
    delta = 0
    for hunk in diff.hunks:
        old, new = _counts(hunk.lines)
        old_start = hunk.at + 1 if old else hunk.at
        new_start = hunk.at + delta + 1 if new else hunk.at + delta
        out.append(f"@@ -{old_start},{old} +{new_start},{new} @@{hunk.heading}")
        out += [kind + text for kind, text in hunk.lines]
        delta += new - old
    return "\n".join(out) + "\n"


def recover_model_patch(text: str | None, files: Mapping[str, str]) -> RecoveredDiff:
    """The model answer's diff, repaired against ``files`` (path -> content the diff is meant for)."""
    strict, region = _extract(text)
    if not region:
        verdict = check_patch(files, strict)
        return RecoveredDiff(strict, [], ["no unified diff found"], verdict.applies, verdict.reason)
    result = RecoveredDiff("")
    if region.strip("\n") != strict.strip("\n"):
        result.note(UNWRAPPED)
    parsed = _parse(region)
    if not parsed or any(diff.old is None and diff.new is None for diff in parsed):
        verdict = check_patch(files, strict)
        return RecoveredDiff(strict, [], ["a file section without ---/+++ lines"], verdict.applies, verdict.reason)
    for diff in parsed:
        _repair_file(diff, files, result)
    result.diff = "".join(_render_file(diff) for diff in parsed if diff.hunks or diff.headers)
    if not result.repairs and not result.unresolved and check_patch(files, strict).applies:
        result.diff = strict  # nothing needed repairing: the model's own diff, byte for byte
    verdict = check_patch(files, result.diff)
    result.applies, result.reason = verdict.applies, verdict.reason
    return result
