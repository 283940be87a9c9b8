"""The edits engine: find edits in untrusted model text, apply them, and render git diffs in pure Python."""

from __future__ import annotations

from patchline.edits.agentless_original import OriginalCommands, apply_original, read_original
from patchline.edits.apply import apply_exact_then_stripped, apply_whitespace_tolerant
from patchline.edits.blocks import FencedBlock, extract_model_patch, find_diffs, find_fenced_blocks, find_patch_tags
from patchline.edits.checks import is_meaningful_change, parses_ok
from patchline.edits.conversion import search_replace_from_diff
from patchline.edits.diff import git_blob_id, render_file_diff, render_patch
from patchline.edits.errors import DiffRenderError, PatchApplyError
from patchline.edits.normalize import Normalization, NormalizedPatch, normalize_patch
from patchline.edits.outcome import ApplyResult, EditOutcome
from patchline.edits.ranges import apply_in_ranges
from patchline.edits.reasoning import strip_reasoning
from patchline.edits.search_replace import ParsedEdits, SearchReplaceEdit, parse_search_replace
from patchline.edits.unified import apply_unified_diff, normalise_diff
from patchline.edits.verdict import PatchVerdict, check_patch

__all__ = [
    "ApplyResult",
    "DiffRenderError",
    "EditOutcome",
    "FencedBlock",
    "Normalization",
    "NormalizedPatch",
    "OriginalCommands",
    "ParsedEdits",
    "PatchApplyError",
    "PatchVerdict",
    "SearchReplaceEdit",
    "apply_exact_then_stripped",
    "apply_in_ranges",
    "apply_original",
    "apply_unified_diff",
    "apply_whitespace_tolerant",
    "check_patch",
    "extract_model_patch",
    "find_diffs",
    "find_fenced_blocks",
    "find_patch_tags",
    "git_blob_id",
    "is_meaningful_change",
    "normalise_diff",
    "normalize_patch",
    "parse_search_replace",
    "parses_ok",
    "read_original",
    "render_file_diff",
    "render_patch",
    "search_replace_from_diff",
    "strip_reasoning",
]
