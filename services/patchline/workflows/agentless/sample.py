"""One sample's answer turned into a patch: find the edits, apply them in the shown ranges, render and check the diff.

Per SPEC §3: reasoning is stripped; SEARCH/REPLACE edits are read from fenced blocks of any language
(an answer without a fence is read whole; markers as patchline's parser tolerates them); an edit
restated for one file is kept once; edits for files that were not in the prompt are dropped and
counted; each edited file is changed only inside its shown ranges (last range first); the diff is
git-style without ``\\ No newline`` lines; ``model_patch`` stays empty unless every edited file parses
and the change is more than blank lines, while ``raw_model_patch`` keeps the diff anyway. Edits to
every file of the answer are applied. Whatever the original could not have read is named in
``leniency`` (:mod:`.leniency`).

``compat=True`` (``--compat-agentless-newlines``) reproduces the original instead: the answer is read
by its rules (:mod:`patchline.edits.agentless_original`: python fences only, stripped chunks,
duplicates once, reasoning not removed), files are the structure's lines joined without a final
newline, edits apply with the original string algorithm (blank line added at a range touching the
start or end of the file), only the first file named in the answer is edited, and the diff is what
``git diff`` printed in the original's scratch repository (``index`` line with abbreviated ids,
section headings), ``\\ No newline`` lines removed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from patchline.edits import (
    apply_in_ranges,
    apply_original,
    is_meaningful_change,
    parse_search_replace,
    parses_ok,
    read_original,
    render_file_diff,
    render_patch,
    strip_reasoning,
)
from patchline.edits.search_replace import SearchReplaceEdit
from patchline.workflows.agentless.context import FileSegment, InstanceContext
from patchline.workflows.agentless.leniency import leniencies_used
from patchline.workflows.agentless.records import SampleStatus
from patchline.workflows.agentless.responses import SampleAnswer
from patchline.workflows.changed_files import ChangedFiles

__all__ = ["SamplePatch", "patch_sample"]


@dataclass(slots=True)
class SamplePatch:
    """The outcome of one sample: patches, the files it edited (old and new content) and what happened."""

    status: str
    model_patch: str = ""
    raw_model_patch: str = ""
    files: ChangedFiles = field(default_factory=ChangedFiles)
    edits_found: int = 0
    edits_applied: int = 0
    dropped_edits: int = 0
    notes: list[str] = field(default_factory=list)
    leniency: list[str] = field(default_factory=list)


def _grouped(edits: list[SearchReplaceEdit]) -> dict[str, list[SearchReplaceEdit]]:
    """Edits per file in first-seen order; an edit restated for the same file is kept once, as the original does."""
    groups: dict[str, list[SearchReplaceEdit]] = {}
    for edit in edits:
        group = groups.setdefault(edit.path, [])
        if edit not in group:
            group.append(edit)
    return groups


def _file_content(segment: FileSegment, compat: bool) -> str:
    """The text edits apply to; compat: the original's ``"\\n".join(lines)`` (no final newline)."""
    return segment.content.removesuffix("\n") if compat else segment.content


def _compat_diff(path: str, old: str, new: str) -> str:
    return render_file_diff(path, old, new, abbreviated_index=True, section_headings=True)


def _note_unapplied(result: SamplePatch, path: str, search: str, reason: str) -> None:
    result.notes.append(f"{path}: edit not applied ({reason}): {search.split(chr(10), 1)[0][:80]!r}")


def _apply_compat(answer_text: str, context: InstanceContext, result: SamplePatch) -> dict[str, str]:
    """The original's reading and string algorithm: python fences, first file only (SPEC §6)."""
    commands = read_original(answer_text)
    first_key = next(iter(commands.per_file), None)
    path = commands.first_file
    segment = context.segment(path) if path is not None else None
    total = sum(len(found) for found in commands.per_file.values())
    if segment is None:
        result.dropped_edits = total
        return {}
    pairs = commands.pairs(first_key)
    result.edits_found = len(pairs)
    result.dropped_edits = total - len(pairs)
    old = _file_content(segment, compat=True)
    applied = apply_original(old, pairs, segment.ranges)
    result.edits_applied = applied.applied
    for pair, outcome in zip(pairs, applied.outcomes, strict=True):
        if not outcome.applied:
            _note_unapplied(result, segment.path, pair[0] if pair else "", outcome.reason)
    return {segment.path: applied.new_content} if applied.new_content != old else {}


def _apply_default(answer_text: str, context: InstanceContext, result: SamplePatch) -> dict[str, str]:
    """patchline's reading: any fence (a fenceless answer read whole), every file shown; what the original
    could not read is named."""
    shown = [segment.path for segment in context.files]
    parsed = parse_search_replace(answer_text, known_paths=shown, fenced_only=False)
    result.dropped_edits = parsed.unknown_paths + parsed.rejected_paths + parsed.missing_paths
    groups = _grouped(parsed.edits)
    result.edits_found = sum(len(edits) for edits in groups.values())
    changed: dict[str, str] = {}
    used: list[SearchReplaceEdit] = []
    for path, edits in groups.items():
        segment = context.segment(path)
        if segment is None:
            continue
        applied = apply_in_ranges(segment.content, edits, segment.ranges)
        result.edits_applied += applied.applied
        for edit, outcome in zip(edits, applied.outcomes, strict=True):
            if outcome.applied:
                used.append(edit)
            else:
                _note_unapplied(result, path, edit.search, outcome.reason)
        if applied.new_content != segment.content:
            changed[path] = applied.new_content
    result.leniency = leniencies_used(answer_text, used, shown)
    return changed


def _apply_edits(answer_text: str, context: InstanceContext, compat: bool, result: SamplePatch) -> dict[str, str]:
    """New content per edited file (only files whose content changed)."""
    if compat:
        return _apply_compat(answer_text, context, result)
    return _apply_default(answer_text, context, result)


def patch_sample(
    answer: SampleAnswer,
    context: InstanceContext,
    *,
    compat: bool = False,
    parses: Callable[[str, str], bool] = parses_ok,
) -> SamplePatch:
    """Turn one answer into patches for the files shown in ``context`` (never raises on bad model text).

    ``parses`` is the syntax check of edited files (a Normalizer's, so the sample table reuses its parses).
    """
    if answer.too_large:
        return SamplePatch(SampleStatus.ANSWER_TOO_LARGE, notes=[answer.failure])
    if answer.failure:
        return SamplePatch(SampleStatus.REQUEST_FAILED, notes=[answer.failure])
    if answer.reasoning_only:
        return SamplePatch(SampleStatus.REASONING_ONLY, notes=["the answer is empty; the reasoning used the tokens"])
    result = SamplePatch(SampleStatus.NO_EDITS)
    # compat reads the content as the original does (reasoning included); patchline never reads reasoning
    text = answer.content if compat else strip_reasoning(answer.content)
    changed = _apply_edits(text, context, compat, result)
    if result.edits_found == 0:
        return result
    if not changed:
        result.status = SampleStatus.NOT_APPLIED
        return result
    originals = {path: _file_content(context.segment(path) or FileSegment(path, "", ()), compat) for path in changed}
    for path, new in changed.items():
        result.files.add(path, originals[path], new)
    if compat:
        raw = "\n" + "".join(_compat_diff(path, originals[path], changed[path]) for path in changed)
        result.raw_model_patch = raw.lstrip()
    else:
        result.raw_model_patch = render_patch({path: (originals[path], changed[path]) for path in changed})
    if not all(parses(path, changed[path]) for path in changed):
        result.status = SampleStatus.SYNTAX_ERROR
    elif not any(is_meaningful_change(originals[path], changed[path]) for path in changed):
        result.status = SampleStatus.BLANK_LINES_ONLY
    else:
        result.status = SampleStatus.OK
        result.model_patch = result.raw_model_patch
    return result
