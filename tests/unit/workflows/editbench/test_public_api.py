"""The public surface of patchline.workflows.editbench is pinned."""

from __future__ import annotations

import pytest

import patchline.workflows.editbench as editbench

pytestmark = pytest.mark.unit


def test_editbench_surface() -> None:
    expected = {"build_infbench", "compat_save_path", "EditBenchRun", "BM25Retriever", "effective_config",
                "merge_results", "merge_infbench", "split_index", "split_history", "is_context_overflow",
                "shrink_code_context", "MODEL_CONFIGS", "model_config", "load_sampled_ids"}  # fmt: skip
    assert expected <= set(editbench.__all__)
    assert all(hasattr(editbench, name) for name in editbench.__all__)
