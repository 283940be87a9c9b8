"""Stage 3 of the BugFixer: a model answer with SEARCH/REPLACE edits becomes one git diff per changed file.

Reasoning is stripped (text up to the last ``</think>`` or ``◁/think▷``), edits are read from the fenced
blocks, their paths corrected like step-1 paths, and each SEARCH is matched line by line ignoring
surrounding whitespace (:func:`patchline.edits.apply_whitespace_tolerant`). Unlike the original, each
file's diff is written once, so ``git apply`` accepts the patch.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from patchline.edits import find_fenced_blocks, parse_search_replace, render_file_diff, strip_reasoning
from patchline.edits.apply import apply_whitespace_tolerant
from patchline.edits.search_replace import SearchReplaceEdit
from patchline.workflows.changed_files import ChangedFiles
from patchline.workflows.rollout.repofiles import RepoFiles, known_paths, resolve_file

__all__ = ["FixResult", "answer_edit_text", "fix_from_answer", "group_edits"]


@dataclass
class FixResult:
    """The patch made from one answer, with the files it changed and how many edits applied."""

    model_patch: str
    search_replace_text: str
    files: ChangedFiles = field(default_factory=ChangedFiles)
    edits_found: int = 0
    edits_applied: int = 0
    unknown_paths: int = 0


def answer_edit_text(raw_answer: str) -> str:
    """The part of an answer that holds edits: its fenced blocks (with fences), else the text after reasoning."""
    text = strip_reasoning(raw_answer)
    blocks = find_fenced_blocks(text)
    if not blocks:
        return text
    return "\n".join(f"```{block.language}\n{block.content}```" for block in blocks)


def group_edits(edits: list[SearchReplaceEdit], files: RepoFiles) -> tuple[dict[str, list[SearchReplaceEdit]], int]:
    """Edits by corrected path, in first-seen order, and the number of edits for unknown files."""
    known = known_paths(files)
    grouped: dict[str, list[SearchReplaceEdit]] = {}
    unknown = 0
    for edit in edits:
        path = resolve_file(edit.path, known, files)
        if path is None:
            unknown += 1
            continue
        grouped.setdefault(path, []).append(edit)
    return grouped, unknown


def fix_from_answer(raw_answer: str, files: RepoFiles) -> FixResult:
    """Apply an answer's edits to the instance's files and render the patch."""
    edit_text = answer_edit_text(raw_answer)
    parsed = parse_search_replace(edit_text, fenced_only=False)
    grouped, unknown = group_edits(parsed.edits, files)
    result = FixResult(model_patch="", search_replace_text=edit_text, edits_found=len(parsed.edits))
    result.unknown_paths = unknown + parsed.unknown_paths + parsed.rejected_paths
    diffs: list[str] = []
    for path, edits in grouped.items():
        original = files.read_text(path)
        if original is None:
            result.unknown_paths += len(edits)
            continue
        applied = apply_whitespace_tolerant(original, edits)
        result.edits_applied += applied.applied
        if applied.new_content == original:
            continue
        diffs.append(render_file_diff(path, original, applied.new_content))
        result.files.add(path, original, applied.new_content)
    result.model_patch = "".join(diffs)
    return result
