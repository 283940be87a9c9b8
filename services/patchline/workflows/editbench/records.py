"""EditBench result records (SPEC.md §5) and the result file as the state of a run.

Success: ``instance_id, model_name, temperature, top_p, n, prompt, full_output, model_patch, cost,
response_time``; failure: the same keys plus ``status: "failed"`` and ``error``. Reading a result file
gives one record per instance: its last success, else its last failure (which a rerun retries).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from patchline.core.jsonl import dumps_line, iter_jsonl
from patchline.core.store import ArtifactStore
from patchline.edits import extract_model_patch
from patchline.edits.recovery import recover_model_patch
from patchline.workflows.editbench.models import ModelConfig
from patchline.workflows.editbench.prompt import code_context_files

__all__ = [
    "answer_choices",
    "choice_patch",
    "failure_record",
    "is_success",
    "read_results",
    "success_record",
    "write_results",
]

FAILED = "failed"


def _base(instance_id: str, model: str, config: ModelConfig, prompt: str) -> dict[str, Any]:
    return {
        "instance_id": instance_id,
        "model_name": model,
        "temperature": config.temperature,
        "top_p": config.top_p,
        "n": config.n,
        "prompt": prompt,
    }


def success_record(
    instance_id: str,
    model: str,
    config: ModelConfig,
    *,
    prompt: str,
    full_output: str,
    cost: float,
    response_time: float,
    recover_diffs: bool = False,
) -> dict[str, Any]:
    """The record of an answered instance; ``model_patch`` is extracted with reasoning stripped first.

    ``recover_diffs`` repairs the extracted diff against the code the prompt showed and records how.
    """
    record = _base(instance_id, model, config, prompt)
    record.update(
        full_output=full_output,
        model_patch=extract_model_patch(full_output),
        cost=cost,
        response_time=response_time,
    )
    if recover_diffs:
        recovered = recover_model_patch(full_output, code_context_files(prompt))
        record.update(
            extracted_patch=record["model_patch"],
            model_patch=recovered.diff,
            patch_repairs=recovered.repairs,
            patch_unresolved=recovered.unresolved,
            patch_applies=recovered.applies,
        )
    return record


def choice_patch(full_output: str, prompt: str, *, recover_diffs: bool) -> str:
    """The ``model_patch`` of one answer text, as :func:`success_record` makes it (repaired with ``recover_diffs``)."""
    if recover_diffs:
        return recover_model_patch(full_output, code_context_files(prompt)).diff
    return extract_model_patch(full_output)


def answer_choices(body: dict[str, Any]) -> list[str]:
    """The content of every choice of a chat completion (``n`` > 1 answers several), in choice order."""
    choices = body.get("choices")
    if not isinstance(choices, list):
        return []
    texts: list[str] = []
    for choice in choices:
        message = choice.get("message") if isinstance(choice, dict) else None
        content = message.get("content") if isinstance(message, dict) else None
        texts.append(content if isinstance(content, str) else "")
    return texts


def failure_record(
    instance_id: str, model: str, config: ModelConfig, *, prompt: str, error: str, response_time: float = 0.0
) -> dict[str, Any]:
    """The record of an instance that got no usable answer (retried by the next run)."""
    record = _base(instance_id, model, config, prompt)
    record.update(full_output="", model_patch="", cost=0.0, response_time=response_time, status=FAILED, error=error)
    return record


def is_success(record: dict[str, Any]) -> bool:
    """True for a success record."""
    return record.get("status") != FAILED


def read_results(store: ArtifactStore, name: str) -> dict[str, dict[str, Any]]:
    """One record per instance id, in order of first appearance: the last success, else the last failure."""
    results: dict[str, dict[str, Any]] = {}
    for numbered in iter_jsonl(store.iter_lines(name, missing_ok=True), source=store.uri(name)):
        record = numbered.record
        instance_id = record.get("instance_id")
        if not isinstance(instance_id, str):
            continue
        previous = results.get(instance_id)
        if previous is None or is_success(record) or not is_success(previous):
            results[instance_id] = record
    return results


def write_results(store: ArtifactStore, name: str, records: Iterable[dict[str, Any]]) -> int:
    """Replace the result file atomically with ``records``; return how many were written."""
    count = 0
    with store.atomic_writer(name) as out:
        for record in records:
            out.write(dumps_line(record))
            count += 1
    return count
