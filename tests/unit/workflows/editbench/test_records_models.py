"""Sampling table with explicit defaults, result records, and reading a result file as state."""

from __future__ import annotations

from pathlib import Path

import pytest

from patchline.core.store import ArtifactStore
from patchline.workflows.editbench.models import DEFAULT_CONFIG, MODEL_CONFIGS, model_config
from patchline.workflows.editbench.records import failure_record, read_results, success_record, write_results

pytestmark = pytest.mark.unit

SUCCESS_KEYS = {
    "instance_id",
    "model_name",
    "temperature",
    "top_p",
    "n",
    "prompt",
    "full_output",
    "model_patch",
    "cost",
    "response_time",
}


def test_table_and_defaults() -> None:
    assert model_config("gpt-5-codex").temperature == 1.0
    assert model_config("deepseek-v3.2").temperature == 0.0 and model_config("deepseek-v3.2").top_p == 0.95
    assert model_config("claude-sonnet-4-5-20250929").top_p is None
    assert model_config("swe-ce-agent/gpt-4.1") == MODEL_CONFIGS["gpt-4.1"]
    unknown = model_config("my-local-qwen")
    assert unknown is DEFAULT_CONFIG and not unknown.known and unknown.temperature == 0.0 and unknown.n == 1
    with pytest.raises(TypeError):
        MODEL_CONFIGS["x"] = DEFAULT_CONFIG  # type: ignore[index]
    assert model_config("gpt-4.1").cost(1_000_000, 1_000_000) == pytest.approx(10.0)


def test_records_and_state(tmp_path: Path) -> None:
    config = model_config("gpt-4.1")
    answer = "<think>maybe ```python\nx\n```</think>\n```diff\n--- a/x\n+++ b/x\n@@ -1 +1 @@\n-a\n+b\n```"
    ok = success_record("a__b-pull-1", "gpt-4.1", config, prompt="P", full_output=answer, cost=0.5, response_time=1.0)
    assert set(ok) == SUCCESS_KEYS and ok["model_patch"].startswith("--- a/x") and "python" not in ok["model_patch"]
    bad = failure_record("a__b-pull-2", "gpt-4.1", config, prompt="P", error="input context exceeded")
    assert set(bad) == SUCCESS_KEYS | {"status", "error"} and bad["status"] == "failed"
    store = ArtifactStore(str(tmp_path))
    later_bad = failure_record("a__b-pull-1", "gpt-4.1", config, prompt="P", error="x")
    retried = {**bad, "full_output": "done", "status": None}
    retried.pop("status")
    write_results(store, "r.jsonl", [ok, bad, later_bad, retried])
    state = read_results(store, "r.jsonl")
    assert list(state) == ["a__b-pull-1", "a__b-pull-2"]
    assert state["a__b-pull-1"] == ok and "status" not in state["a__b-pull-2"]
    assert read_results(store, "missing.jsonl") == {}


def test_recovery_repairs_against_the_prompt_code_and_says_what_it_did(shared_data: Path) -> None:
    from patchline.core.spec import EditBenchWorkflow
    from patchline.workflows.editbench.prompt import code_context_files, render_code_context

    from ...edits.messy_diffs import messy_cases

    config = model_config("gpt-4.1")
    case = next(c for c in messy_cases(shared_data) if c.name.startswith("wrapped_prefixed_miscounted"))
    prompt = f"system\n<code>\n{render_code_context(case.files)}\n</code>\nPlease edit."
    assert code_context_files(prompt) == {p: t if t.endswith("\n") else t + "\n" for p, t in case.files.items()}
    strict = success_record("i", "gpt-4.1", config, prompt=prompt, full_output=case.answer, cost=0, response_time=0)
    assert set(strict) == SUCCESS_KEYS  # strict by default: the record is the seed's
    repaired = success_record(
        "i", "gpt-4.1", config, prompt=prompt, full_output=case.answer, cost=0, response_time=0, recover_diffs=True
    )
    assert set(repaired) == SUCCESS_KEYS | {"extracted_patch", "patch_repairs", "patch_unresolved", "patch_applies"}
    assert repaired["extracted_patch"] == strict["model_patch"] and repaired["patch_applies"] is True
    assert {"unwrapped", "path_prefix_stripped", "hunk_counts_recounted"} <= set(repaired["patch_repairs"])
    assert EditBenchWorkflow.model_validate({"type": "editbench", "recoverDiffs": True}).recover_diffs
