"""The public surface of patchline.edits is pinned: other packages build on exactly these names."""

from __future__ import annotations

import pytest

import patchline.edits as edits

pytestmark = pytest.mark.unit

EXPECTED = {
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
    "extract_model_patch",
    "find_diffs",
    "find_fenced_blocks",
    "find_patch_tags",
    "git_blob_id",
    "check_patch",
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
}


def test_all_is_pinned() -> None:
    assert set(edits.__all__) == EXPECTED
    assert len(edits.__all__) == len(EXPECTED)


def test_every_name_resolves_and_is_documented() -> None:
    for name in edits.__all__:
        obj = getattr(edits, name)
        assert obj.__doc__, name


def test_patch_apply_error_is_an_input_error() -> None:
    from patchline.core.errors import InputError

    assert issubclass(edits.PatchApplyError, InputError)
    assert issubclass(edits.DiffRenderError, InputError)
