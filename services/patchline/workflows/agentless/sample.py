"""One sample's answer turned into a patch: find the edits, apply them in the shown ranges, render and check the diff.

Per SPEC §3: reasoning is stripped; SEARCH/REPLACE edits are read from fenced blocks; edits for files
that were not in the prompt are dropped and counted; each edited file is changed only inside its shown
ranges (last range first); the diff is git-style without ``\\ No newline`` lines; ``model_patch`` stays
empty unless every edited file parses and the change is more than blank lines, while
``raw_model_patch`` keeps the diff anyway. Edits to every file of the answer are applied.

``compat=True`` (``--compat-agentless-newlines``) reproduces the original instead: files are the
structure's lines joined without a final newline, edits apply with the original string algorithm
(blank line added at a range touching the start or end of the file), only the first file named in
the answer is edited, and the diff is what ``git diff`` printed in the original's scratch repository
(``index`` line with abbreviated ids, section headings), ``\\ No newline`` lines removed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from patchline.edits import (
    apply_in_ranges,
    is_meaningful_change,
    parse_search_replace,
    parses_ok,
    render_file_diff,
    render_patch,
    strip_reasoning,
)
from patchline.edits.search_replace import SearchReplaceEdit
from patchline.workflows.agentless.context import FileSegment, InstanceContext
from patchline.workflows.agentless.records import SampleStatus
from patchline.workflows.agentless.responses import SampleAnswer

__all__ = ["SamplePatch", "patch_sample"]

_FULL_INDEX = re.compile(r"^index ([0-9a-f]{40})\.\.([0-9a-f]{40})", re.MULTILINE)


@dataclass(slots=True)
class SamplePatch:
    """The outcome of one sample: patches, the files it edited (old and new content) and what happened."""

    status: str
    model_patch: str = ""
    raw_model_patch: str = ""
    edited_files: list[str] = field(default_factory=list)
    original_contents: list[str] = field(default_factory=list)
    new_contents: list[str] = field(default_factory=list)
    edits_found: int = 0
    edits_applied: int = 0
    dropped_edits: int = 0
    notes: list[str] = field(default_factory=list)


def _grouped(edits: list[SearchReplaceEdit]) -> dict[str, list[SearchReplaceEdit]]:
    groups: dict[str, list[SearchReplaceEdit]] = {}
    for edit in edits:
        groups.setdefault(edit.path, []).append(edit)
    return groups


def _file_content(segment: FileSegment, compat: bool) -> str:
    """The text edits apply to; compat: the original's ``"\\n".join(lines)`` (no final newline)."""
    return segment.content.removesuffix("\n") if compat else segment.content


def _compat_diff(path: str, old: str, new: str) -> str:
    rendered = render_file_diff(path, old, new, with_index=True, section_headings=True)
    return _FULL_INDEX.sub(lambda m: f"index {m.group(1)[:7]}..{m.group(2)[:7]}", rendered)


def _apply_edits(answer_text: str, context: InstanceContext, compat: bool, result: SamplePatch) -> dict[str, str]:
    """New content per edited file (only files whose content changed)."""
    shown = [segment.path for segment in context.files]
    parsed = parse_search_replace(answer_text, known_paths=None if compat else shown)
    result.dropped_edits = parsed.unknown_paths + parsed.rejected_paths + parsed.missing_paths
    groups = _grouped(parsed.edits)
    if compat and groups:
        first = next(iter(groups))  # the original edits only the first file named in the answer
        groups = {first: groups[first]} if first in shown else {}
        result.dropped_edits += sum(len(edits) for path, edits in _grouped(parsed.edits).items() if path != first)
    result.edits_found = sum(len(edits) for edits in groups.values())
    changed: dict[str, str] = {}
    for path, edits in groups.items():
        segment = context.segment(path)
        if segment is None:
            continue
        old = _file_content(segment, compat)
        applied = apply_in_ranges(old, edits, segment.ranges, compat_newlines=compat)
        result.edits_applied += applied.applied
        for edit, outcome in zip(edits, applied.outcomes, strict=True):
            if not outcome.applied:
                first_line = edit.search.split("\n", 1)[0][:80]
                result.notes.append(f"{path}: edit not applied ({outcome.reason}): {first_line!r}")
        if applied.new_content != old:
            changed[path] = applied.new_content
    return changed


def patch_sample(answer: SampleAnswer, context: InstanceContext, *, compat: bool = False) -> SamplePatch:
    """Turn one answer into patches for the files shown in ``context`` (never raises on bad model text)."""
    if answer.too_large:
        return SamplePatch(SampleStatus.ANSWER_TOO_LARGE, notes=[answer.failure])
    if answer.failure:
        return SamplePatch(SampleStatus.REQUEST_FAILED, notes=[answer.failure])
    if answer.reasoning_only:
        return SamplePatch(SampleStatus.REASONING_ONLY, notes=["the answer is empty; the reasoning used the tokens"])
    result = SamplePatch(SampleStatus.NO_EDITS)
    changed = _apply_edits(strip_reasoning(answer.content), context, compat, result)
    if result.edits_found == 0:
        return result
    if not changed:
        result.status = SampleStatus.NOT_APPLIED
        return result
    originals = {path: _file_content(context.segment(path) or FileSegment(path, "", ()), compat) for path in changed}
    result.edited_files = list(changed)
    result.original_contents = [originals[path] for path in changed]
    result.new_contents = [changed[path] for path in changed]
    if compat:
        raw = "\n" + "".join(_compat_diff(path, originals[path], changed[path]) for path in changed)
        result.raw_model_patch = raw.lstrip()
    else:
        result.raw_model_patch = render_patch({path: (originals[path], changed[path]) for path in changed})
    if not all(parses_ok(path, changed[path]) for path in changed):
        result.status = SampleStatus.SYNTAX_ERROR
    elif not any(is_meaningful_change(originals[path], changed[path]) for path in changed):
        result.status = SampleStatus.BLANK_LINES_ONLY
    else:
        result.status = SampleStatus.OK
        result.model_patch = result.raw_model_patch
    return result
