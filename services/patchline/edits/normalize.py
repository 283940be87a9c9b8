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

:class:`Normalizer` keeps what the samples of one instance share (parses, unchanged statements, repeated
patches): see :mod:`patchline.edits.pysource`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from unidiff.patch import PatchedFile

from patchline.edits.diff import render_file_diff
from patchline.edits.errors import DiffRenderError, PatchApplyError
from patchline.edits.pysource import NormalSource, SourceNormalizer, only_new
from patchline.edits.unified import apply_unified_diff, diff_file_paths, file_paths, parse_diff
from patchline.edits.verdict import git_corruption

__all__ = [
    "FileReader",
    "Normalization",
    "NormalizedPatch",
    "Normalizer",
    "first_file_section",
    "normalize_patch",
]

FileReader = Callable[[str], str | None]
"""The content of a repository file at the base commit (None: the repository has no such file)."""


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


def _form(patch: str, path: str, old: NormalSource, new: NormalSource) -> NormalizedPatch:
    old_text, new_text = _texts(old, new)
    if old.clean is not None and new.clean is not None:
        before, after = old.clean_functions, new.clean_functions
    else:  # a body that was only a docstring is empty once it is removed: both sides stay unparsed
        before, after = old.unparsed_functions(), new.unparsed_functions()
    try:
        diff = render_file_diff(
            path, old_text, new_text, abbreviated_index=True, section_headings=True, newline_markers=True
        )
    except DiffRenderError as exc:
        return NormalizedPatch(patch, Normalization.RAW, path, reason=str(exc))
    if before is not None and after is not None and only_new(before, after):
        kept = [line for line in diff.splitlines() if line.startswith(("-", "+"))]
        return NormalizedPatch("\n".join(kept), Normalization.NEW_FUNCTIONS, path)
    return NormalizedPatch(diff, Normalization.NORMALIZED, path)


@dataclass
class Normalizer:
    """Normal forms of the samples of one instance, sharing the work they have in common.

    Use one per instance (or per worker item): the caches grow with the distinct contents seen and are
    dropped with the object. :meth:`parses` is the syntax check of edited files, answered from the same
    parses.
    """

    sources: SourceNormalizer = field(default_factory=SourceNormalizer)
    _forms: dict[tuple[str, str, str], NormalizedPatch] = field(default_factory=dict)  # by the texts diffed

    def parses(self, path: str, content: str) -> bool:
        """True when ``content`` is valid Python for a ``.py`` path (other files always pass); see ``parses_ok``."""
        return not path.endswith(".py") or self.sources.tree(content) is not None

    def normalize(
        self, patch: str, read: FileReader, *, applied: Mapping[str, str | None] | None = None
    ) -> NormalizedPatch:
        """The normal form of ``patch`` (the module docstring); ``read`` gives files at the base commit.

        ``applied``: the files after applying the whole patch the way git does, when the caller checked it
        already (then the first file's new content is taken from there when no other section edits it).
        """
        if not patch.strip():
            return NormalizedPatch("", Normalization.EMPTY)
        first: tuple[str, str, str] | str | None = _first_file_applied(patch, read, applied) if applied else None
        if first is None:
            corrupt = git_corruption(patch)  # git refuses a patch corrupt anywhere, before applying any of it
            if corrupt is not None:
                return NormalizedPatch(patch, Normalization.RAW, reason=corrupt)
            section = first_file_section(patch)
            if section is None:
                return NormalizedPatch(patch, Normalization.RAW, reason="no file section could be read")
            first = _apply_first_file(section, read)
        if isinstance(first, str):
            return NormalizedPatch(patch, Normalization.RAW, reason=first)
        path, old, new = first
        old_source, new_source = self.sources.source(old), self.sources.source(new)
        texts = _texts(old_source, new_source)
        form = self._forms.get((path, *texts))
        if form is None:
            form = self._forms[(path, *texts)] = _form(patch, path, old_source, new_source)
        return form


def _texts(old: NormalSource, new: NormalSource) -> tuple[str, str]:
    """The two texts the form diffs: without comments when both still parse, else unparsed."""
    if old.clean is not None and new.clean is not None:
        return old.clean, new.clean
    return old.unparsed, new.unparsed


def _first_file_applied(patch: str, read: FileReader, applied: Mapping[str, str | None]) -> tuple[str, str, str] | None:
    """(path, old, new) of the first file from a whole patch applied, when no other section edits that file."""
    try:
        paths = diff_file_paths(patch)
    except PatchApplyError:
        return None
    if not paths or len({target or source for source, target in paths}) != len(paths):
        return None
    source, target = paths[0]
    path = source or target
    old = read(source) if source is not None else ""
    if path is None or old is None:
        return None
    return path, old, (applied.get(target) if target is not None else "") or ""


def normalize_patch(patch: str, read: FileReader) -> NormalizedPatch:
    """The normal form of one patch (SPEC §6b); a :class:`Normalizer` shares work between an instance's samples."""
    return Normalizer().normalize(patch, read)
