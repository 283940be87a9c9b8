"""The settings digest a stage record keeps: what decides a stage's outputs, and nothing of how it runs."""

from __future__ import annotations

from typing import Any

import pytest

from patchline.core.spec import AgentlessStage, InferenceStage, RolloutStage
from patchline.core.spec.identity import settings_digest

pytestmark = pytest.mark.unit

AGENTLESS: dict[str, Any] = {"workflow": {"locFile": "l.jsonl"}, "repositories": {"structureDir": "s"}}


def _agentless(**changes: Any) -> str:
    data = {**AGENTLESS, **changes}
    return settings_digest(AgentlessStage.model_validate(data))


def test_how_a_stage_runs_leaves_its_digest_alone() -> None:
    same = _agentless()
    assert _agentless(workflow={"locFile": "l.jsonl", "numThreads": 8}) == same
    assert _agentless(onMismatch="accept") == same
    assert _agentless(workflow={"locFile": "l.jsonl", "topN": 1}) == same  # the default, written out
    inference = settings_digest(InferenceStage(input="i", output="o"))
    faster = InferenceStage.model_validate(
        {"input": "i", "output": "o", "executor": {"concurrency": 99, "maxAttempts": 9, "promptGrouping": False}}
    )
    assert settings_digest(faster) == inference


@pytest.mark.parametrize(
    "changes",
    [
        {"sampling": {"maxTokens": 17}},
        {"sampling": {"samples": 3}},
        {"dataset": {"source": "other.jsonl"}},
        {"dataset": {"source": "princeton-nlp/SWE-bench_Lite", "limit": 2}},
        {"workflow": {"locFile": "l.jsonl", "topN": 3}},
        {"workflow": {"locFile": "l.jsonl", "selection": {"strategy": "first-nonempty"}}},
        {"model": "another"},
    ],
)
def test_what_decides_the_outputs_changes_the_digest(changes: dict[str, Any]) -> None:
    assert _agentless(**changes) != _agentless()


def test_two_kinds_with_the_same_fields_differ() -> None:
    rollout = RolloutStage.model_validate({"workflow": {"type": "bugfixer"}, "repositories": {"structureDir": "s"}})
    assert settings_digest(rollout) != settings_digest(
        rollout.model_copy(update={"workflow": rollout.workflow.model_copy(update={"type": "testwriter"})})
    )
    assert settings_digest(
        rollout.model_copy(update={"workflow": rollout.workflow.model_copy(update={"num_workers": 9})})
    ) == settings_digest(rollout)
