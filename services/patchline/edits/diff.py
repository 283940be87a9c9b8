"""git-style unified diffs rendered in pure Python, byte-identical to ``git diff`` for the same change."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator, Mapping, Sequence

from unidiff.errors import UnidiffParseError
from unidiff.patch import PatchSet

from patchline.core.safepath import safe_relpath
from patchline.edits.errors import DiffRenderError
from patchline.edits.quoting import quote_path
from patchline.edits.xdiff import Change, diff_lines

__all__ = [
    "CONTEXT_LINES",
    "FILE_MODE",
    "NULL_BLOB",
    "check_parses",
    "file_lines",
    "git_blob_id",
    "render_file_diff",
    "render_patch",
]

CONTEXT_LINES = 3
FILE_MODE = "100644"
NULL_BLOB = "0" * 40
_INTER_HUNK = 2 * CONTEXT_LINES
_FUNC_LINE_BYTES = 80


def git_blob_id(data: bytes) -> str:
    """The git object id of a blob with this content: sha1 of ``b"blob <size>\\0" + data``."""
    return hashlib.sha1(b"blob %d\x00" % len(data) + data, usedforsecurity=False).hexdigest()


def file_lines(content: str) -> list[str]:
    """Split content into lines that keep their ``\\n`` (the last may lack it), as git's records do."""
    parts = content.split("\n")
    lines = [part + "\n" for part in parts[:-1]]
    if parts[-1]:
        lines.append(parts[-1])
    return lines


def _count(start: int, count: int) -> str:
    """One side of a hunk header as git writes it: ``start`` alone when one line, ``start-1,0`` when none."""
    if count == 1:
        return str(start + 1)
    return f"{start + 1 if count else start},{count}"


def _hunk_groups(changes: Sequence[Change]) -> Iterator[list[Change]]:
    """Changes closer than twice the context share one hunk (xdl_get_hunk)."""
    group: list[Change] = []
    for change in changes:
        if group and change.old - (group[-1].old + group[-1].del_count) > _INTER_HUNK:
            yield group
            group = []
        group.append(change)
    if group:
        yield group


def _func_heading(old: Sequence[str], before: int) -> str | None:
    """git's default hunk heading: the nearest line at or above ``before`` starting with a letter, ``_`` or ``$``."""
    for index in range(before, -1, -1):
        line = old[index]
        if line and (line[0].isascii() and (line[0].isalpha() or line[0] in "_$")):
            raw = line.encode("utf-8", "surrogateescape")[:_FUNC_LINE_BYTES].rstrip(b" \t\n\v\f\r")
            return raw.decode("utf-8", "replace")
    return None


_NO_NEWLINE_MARKER = "\\ No newline at end of file\n"
_ABBREV = 7  # git's abbreviation of object ids in a repository as small as a one-file scratch repo


def _body(markers: bool) -> Callable[[str], str]:
    """How a diff body line is written: always ending with a newline, and with git's marker after a last line
    that has none when ``markers`` (else no ``\\ No newline at end of file`` lines)."""

    def text(line: str) -> str:
        if line.endswith("\n"):
            return line
        return line + "\n" + (_NO_NEWLINE_MARKER if markers else "")

    return text


def _render_hunks(
    old: Sequence[str], new: Sequence[str], *, section_headings: bool, newline_markers: bool
) -> Iterator[str]:
    _text = _body(newline_markers)
    heading: str | None = None
    for group in _hunk_groups(diff_lines(old, new)):
        first, last = group[0], group[-1]
        s1 = max(first.old - CONTEXT_LINES, 0)
        s2 = max(first.new - CONTEXT_LINES, 0)
        tail = min(CONTEXT_LINES, len(old) - (last.old + last.del_count), len(new) - (last.new + last.add_count))
        e1 = last.old + last.del_count + tail
        e2 = last.new + last.add_count + tail
        header = f"@@ -{_count(s1, e1 - s1)} +{_count(s2, e2 - s2)} @@"
        if section_headings:
            heading = _func_heading(old, s1 - 1) or heading
            if heading:
                header += " " + heading
        yield header + "\n"
        yield from (" " + _text(line) for line in new[s2 : first.new])
        pos_new = first.new
        for change in group:
            yield from (" " + _text(line) for line in new[pos_new : change.new])
            yield from ("-" + _text(line) for line in old[change.old : change.old + change.del_count])
            yield from ("+" + _text(line) for line in new[change.new : change.new + change.add_count])
            pos_new = change.new + change.add_count
        yield from (" " + _text(line) for line in new[pos_new:e2])


def _encoded(content: str) -> bytes:
    return content.encode("utf-8", "surrogateescape")


def _header(path: str, old: str | None, new: str | None, *, with_index: bool, abbreviated: bool) -> list[str]:
    lines = [f"diff --git {quote_path('a/' + path)} {quote_path('b/' + path)}\n"]
    old_id = NULL_BLOB if old is None else git_blob_id(_encoded(old))
    new_id = NULL_BLOB if new is None else git_blob_id(_encoded(new))
    if old is None:
        lines.append(f"new file mode {FILE_MODE}\n")
    elif new is None:
        lines.append(f"deleted file mode {FILE_MODE}\n")
    if abbreviated:
        old_id, new_id = old_id[:_ABBREV], new_id[:_ABBREV]
    if with_index:
        mode = f" {FILE_MODE}" if old is not None and new is not None else ""
        lines.append(f"index {old_id}..{new_id}{mode}\n")
    return lines


def render_file_diff(
    path: str,
    old: str | None,
    new: str | None,
    *,
    with_index: bool = False,
    section_headings: bool = False,
    abbreviated_index: bool = False,
    newline_markers: bool = False,
) -> str:
    """Render the git diff of one file from ``old`` to ``new`` content (``None`` = the file does not exist).

    Output matches ``git diff --full-index`` (index line only with ``with_index``; paths quoted as git
    quotes them, see :func:`~patchline.edits.quoting.quote_path`): ``diff --git``,
    ``new file mode`` / ``deleted file mode``, ``--- a/p`` or ``--- /dev/null``, ``+++ b/p`` or
    ``+++ /dev/null``, hunks with 3 lines of context chosen as git chooses them, hunk headers without
    the section heading unless ``section_headings`` (git's default funcname rule). No
    ``\\ No newline at end of file`` lines are written unless ``newline_markers``: a last line without
    newline is shown with one, so applying the diff gives a file that ends with a newline (the original
    Agentless strips these lines the same way). ``abbreviated_index`` writes the index line's ids as
    ``git diff`` does without ``--full-index`` in a small repository (7 hex digits); with it,
    ``section_headings`` and ``newline_markers`` the output is what ``git diff`` prints. The path must
    stay inside the repository (``UnsafePathError`` otherwise: no ``..``, absolute paths or control
    characters). Unchanged content gives ``''``; a file created or deleted empty gives the header lines
    only, as git does. The result is parsed back with unidiff; failure raises :class:`DiffRenderError`.
    """
    path = safe_relpath(path, what="diff path")
    if old == new:
        return ""
    old_lines = file_lines(old or "")
    new_lines = file_lines(new or "")
    out = _header(path, old, new, with_index=with_index or abbreviated_index, abbreviated=abbreviated_index)
    if old_lines != new_lines:
        tab = "\t" if " " in path else ""  # git ends a name with a space by a tab
        out.append("--- /dev/null\n" if old is None else f"--- {quote_path('a/' + path)}{tab}\n")
        out.append("+++ /dev/null\n" if new is None else f"+++ {quote_path('b/' + path)}{tab}\n")
        out.extend(
            _render_hunks(old_lines, new_lines, section_headings=section_headings, newline_markers=newline_markers)
        )
    rendered = "".join(out)
    check_parses(rendered, path)
    return rendered


def check_parses(rendered: str, path: str) -> None:
    """Raise :class:`DiffRenderError` unless ``rendered`` parses as a unified diff (unidiff)."""
    try:
        PatchSet(rendered)
    except UnidiffParseError as exc:
        raise DiffRenderError(f"rendered diff of {path!r} does not parse: {exc}") from exc


def render_patch(
    changes: Mapping[str, tuple[str | None, str | None]], *, with_index: bool = False, section_headings: bool = False
) -> str:
    """Concatenate the diffs of several files (``path -> (old, new)``) in sorted path order, as ``git diff`` does."""
    return "".join(
        render_file_diff(path, old, new, with_index=with_index, section_headings=section_headings)
        for path, (old, new) in sorted(changes.items())
    )
