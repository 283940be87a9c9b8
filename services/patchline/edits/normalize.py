"""A sample's patch in the normal form the original Agentless votes on (SPEC.md §6b, its ``normalized_patch``).

The rule, as SPEC §6b states it:

- an empty patch (blank after ``.strip()``) normalises to ``""``;
- otherwise only the first file the patch edits is considered: the patch's section for that file is applied
  to the file's content at the base commit (git's rules, :func:`patchline.edits.apply_unified_diff` anchored);
  a section that does not apply, or a file the repository does not have, leaves the raw patch as the form;
- old and new content are each parsed and unparsed with :mod:`ast` (left as they are when they do not
  parse); comments and docstrings are removed with :mod:`tokenize` (a STRING token whose previous token
  is INDENT or NEWLINE, or that starts at column 0, is dropped) and blank lines dropped; when either result
  no longer parses, the unparsed contents are used instead;
- the form is the ``git diff`` of old against new under the file's path, byte for byte what git prints in
  a scratch repository (abbreviated ``index`` line, section headings, ``\\ No newline`` markers);
- when no function defined outside a class (sync or async, by name, compared as unparsed source) is
  removed or changed and at least one is added, only the diff's ``+``/``-`` lines are kept (file headers
  included, no context), so the same new function written at different places votes together.

Samples vote by :attr:`NormalizedPatch.key` (the form stripped, as the original reads it back). Nothing
here runs model text: it is parsed (``ast.parse``) and tokenized, never compiled or executed.
"""

from __future__ import annotations

import ast
import io
import tokenize
import warnings
from collections.abc import Callable
from dataclasses import dataclass

from unidiff.patch import PatchedFile

from patchline.edits.diff import render_file_diff
from patchline.edits.errors import DiffRenderError, PatchApplyError
from patchline.edits.unified import apply_unified_diff, file_paths, parse_diff
from patchline.edits.verdict import git_corruption

__all__ = [
    "FileReader",
    "Normalization",
    "NormalizedPatch",
    "first_file_section",
    "normalize_code",
    "normalize_patch",
    "only_new_functions",
    "remove_comments_and_docstrings",
]

FileReader = Callable[[str], str | None]
"""The content of a repository file at the base commit (None: the repository has no such file)."""

# What parsing or tokenizing untrusted text may raise; anything else is a bug and propagates.
_UNREADABLE = (SyntaxError, ValueError, RecursionError, MemoryError, tokenize.TokenError)


class Normalization:
    """How a sample's normal form was made (the ``normalization`` column of the sample table)."""

    EMPTY = "empty"  # the patch is empty: the form is ""
    NORMALIZED = "normalized"  # the first file's git diff after ast/tokenize normalisation
    NEW_FUNCTIONS = "new_functions"  # the same, only new functions added: context lines dropped
    RAW = "raw"  # the first file's section did not apply (or the file is unknown): the raw patch


@dataclass(frozen=True, slots=True)
class NormalizedPatch:
    """A patch's normal form, which file it was made from and how (``reason``: why the raw patch was kept)."""

    text: str
    how: str
    path: str | None = None
    reason: str = ""

    @property
    def key(self) -> str:
        """What votes: the form with surrounding whitespace stripped, as the original reads it back."""
        return self.text.strip()


def _quiet_parse(source: str) -> ast.Module:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # invalid escape sequences in old code are not our concern
        return ast.parse(source)


def normalize_code(code: str) -> str:
    """``ast.unparse(ast.parse(code))``, or ``code`` itself when it does not parse."""
    try:
        return ast.unparse(_quiet_parse(code))
    except _UNREADABLE:
        return code


def remove_comments_and_docstrings(source: str) -> str:
    """``source`` without comments, statement-starting strings (docstrings) and blank lines (SPEC §6b).

    Token for token as the original: the text between tokens is rebuilt from their columns, a COMMENT
    is dropped, and a STRING is kept only when the previous token is neither INDENT nor NEWLINE and it
    does not start at column 0. Raises :class:`tokenize.TokenError` (or a SyntaxError) on text that
    does not tokenize.
    """
    out: list[str] = []
    previous = tokenize.INDENT
    last_line, last_col = -1, 0
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        kind, text, (start_line, start_col), (end_line, end_col) = token[0], token[1], token[2], token[3]
        if start_line > last_line:
            last_col = 0
        if start_col > last_col:
            out.append(" " * (start_col - last_col))
        if kind == tokenize.COMMENT:
            pass
        elif kind == tokenize.STRING:
            if previous not in (tokenize.INDENT, tokenize.NEWLINE) and start_col > 0:
                out.append(text)
        else:
            out.append(text)
        previous = kind
        last_line, last_col = end_line, end_col
    return "\n".join(line for line in "".join(out).splitlines() if line.strip())


def _without_comments(old: str, new: str) -> tuple[str, str]:
    """Both contents without comments and docstrings, or both as given when either result stops parsing."""
    try:
        old_clean = remove_comments_and_docstrings(old)
        _quiet_parse(old_clean)
        new_clean = remove_comments_and_docstrings(new)
        _quiet_parse(new_clean)
    except _UNREADABLE:
        # A body that was only a docstring is empty once it is removed: valid before, not after.
        return old, new
    return old_clean, new_clean


class _FunctionCollector(ast.NodeVisitor):
    """Functions not defined inside a class (at any depth), by name, as unparsed source; a later one wins."""

    def __init__(self) -> None:
        self.functions: dict[str, str] = {}
        self._class_depth = 0

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        self._class_depth += 1
        self.generic_visit(node)
        self._class_depth -= 1

    def _function(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        if not self._class_depth:
            self.functions[node.name] = ast.unparse(node)
        self.generic_visit(node)

    visit_FunctionDef = _function
    visit_AsyncFunctionDef = _function


def _functions(source: str) -> dict[str, str]:
    collector = _FunctionCollector()
    collector.visit(_quiet_parse(source))
    return collector.functions


def only_new_functions(old: str, new: str) -> bool:
    """True when no function outside a class is removed or changed from ``old`` to ``new`` and one is added.

    Classes and module statements may change too (SPEC §6b). Contents that do not parse answer False.
    """
    try:
        before, after = _functions(old), _functions(new)
    except _UNREADABLE:
        return False
    if any(name not in after or after[name] != source for name, source in before.items()):
        return False
    return bool(after.keys() - before.keys())


def first_file_section(patch: str) -> PatchedFile | None:
    """The first file section of a unified diff (None when the text holds none or does not parse)."""
    try:
        sections = parse_diff(patch)
    except PatchApplyError:
        return None
    return sections[0] if len(sections) else None


def _apply_first_file(section: PatchedFile, read: FileReader) -> tuple[str, str, str] | str:
    """(path, old content, new content) of the first file with its section applied, or why it did not apply."""
    try:
        source, target = file_paths(section)
    except PatchApplyError as exc:
        return str(exc)
    path = source or target
    if path is None:
        return "the first file section names no file"
    old = read(source) if source is not None else ""
    if old is None:
        return f"{source}: not in the repository at the base commit"
    try:
        state = apply_unified_diff({source: old} if source is not None else {}, str(section), anchored=True)
    except PatchApplyError as exc:
        return str(exc)
    new = state.get(target) if target is not None else ""
    return path, old, new or ""


def normalize_patch(patch: str, read: FileReader) -> NormalizedPatch:
    """The normal form of ``patch`` (SPEC §6b, module docstring); ``read`` gives files at the base commit."""
    if not patch.strip():
        return NormalizedPatch("", Normalization.EMPTY)
    corrupt = git_corruption(patch)  # git refuses a patch that is corrupt anywhere, before applying any of it
    section = first_file_section(patch) if corrupt is None else None
    if corrupt is not None:
        return NormalizedPatch(patch, Normalization.RAW, reason=corrupt)
    if section is None:
        return NormalizedPatch(patch, Normalization.RAW, reason="no file section could be read")
    applied = _apply_first_file(section, read)
    if isinstance(applied, str):
        return NormalizedPatch(patch, Normalization.RAW, reason=applied)
    path, old, new = applied
    old_clean, new_clean = _without_comments(normalize_code(old), normalize_code(new))
    try:
        diff = render_file_diff(
            path, old_clean, new_clean, abbreviated_index=True, section_headings=True, newline_markers=True
        )
    except DiffRenderError as exc:
        return NormalizedPatch(patch, Normalization.RAW, path, reason=str(exc))
    if only_new_functions(old_clean, new_clean):
        kept = [line for line in diff.splitlines() if line.startswith(("-", "+"))]
        return NormalizedPatch("\n".join(kept), Normalization.NEW_FUNCTIONS, path)
    return NormalizedPatch(diff, Normalization.NORMALIZED, path)
