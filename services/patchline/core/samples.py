"""The sample table and the selection record: one format for every workflow's samples (``samples.jsonl``).

Every workflow draws several samples per instance (Agentless ``max_samples``, rollout ``passk``, EditBench
``n``). Each processing stage writes one :class:`SampleRecord` per sample beside its outputs, with the
patch, its normal form (SPEC §6b) and hash, the validity verdicts, the tokens, the latency and the endpoint
that answered; and one :class:`SelectionRecord` per instance in ``selection.jsonl``: which sample became the
prediction, the votes per normalised patch, and what was excluded for which verdict. Verdicts are columns,
never silent filters. The documented schema (``docs/samples.md``) is rendered from these models.
"""

from __future__ import annotations

import types
from collections.abc import Iterable, Iterator
from typing import Any, Union, get_args, get_origin

from pydantic import BaseModel, ConfigDict, Field

from patchline.core.batch import ResponseLine
from patchline.core.fingerprint import line_fingerprints
from patchline.core.jsonl import ErrorPolicy, LineReport, dumps_line, iter_jsonl, iter_models
from patchline.core.store import ArtifactStore

__all__ = [
    "AnswerFacts",
    "Exclusion",
    "PatchVotes",
    "SampleRecord",
    "SelectionRecord",
    "answer_facts",
    "iter_sample_records",
    "iter_selection_records",
    "sample_lines",
    "schema_table",
]


class AnswerFacts(BaseModel):
    """What a response line says about how a sample was answered (the table's token and endpoint columns)."""

    model_config = ConfigDict(frozen=True)

    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    latency_s: float | None = None
    endpoint_index: int | None = None
    model: str | None = None
    request_fingerprint: str | None = None


def _number(value: Any, kind: type[int] | type[float]) -> Any:
    return kind(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def answer_facts(line: ResponseLine) -> AnswerFacts:
    """The facts of one response line: usage, and the executor's ``patchline`` stats when it wrote the line."""
    stats = (line.model_extra or {}).get("patchline")
    stats = stats if isinstance(stats, dict) else {}
    usage = line.usage
    model = line.response.body.get("model")
    return AnswerFacts(
        prompt_tokens=usage.get("prompt_tokens"),
        completion_tokens=usage.get("completion_tokens"),
        latency_s=_number(stats.get("latency_s"), float),
        endpoint_index=_number(stats.get("endpoint_index"), int),
        model=model if isinstance(model, str) else None,
        request_fingerprint=line_fingerprints(line.model_extra or {})[0],
    )


class SampleRecord(BaseModel):
    """One sample of one instance: what the model answered, the patch made of it and how it was judged."""

    model_config = ConfigDict(extra="ignore")

    instance_id: str = Field(description="The task instance.")
    sample: int = Field(ge=0, description="Sample index: Agentless i (0 greedy), rollout pass k, EditBench choice.")
    custom_id: str = Field(description="The request's custom_id (EditBench: the choices of one request share it).")
    round: int = Field(default=0, ge=0, description="0 for the planned samples; r for resampling round r.")
    status: str = Field(description="The workflow's status of the sample (ok, no_edits, request_failed, ...).")
    model_patch: str = Field(default="", description="The patch the workflow made of the answer ('' for none).")
    edited_files: list[str] = Field(default_factory=list, description="Files the patch changes, in patch order.")
    normalized_patch: str = Field(default="", description="The patch's normal form (SPEC §6b), as the vote sees it.")
    normalized_hash: str = Field(
        default="", description="16 hex digits identifying the stripped normal form; '' when it is empty."
    )
    normalization: str = Field(
        default="empty", description="empty, normalized, new_functions (context dropped) or raw (did not apply)."
    )
    applies: bool | None = Field(
        default=None, description="`git apply --check` at the base commit; null when there is no patch."
    )
    apply_error: str = Field(default="", description="git's reason when the patch does not apply.")
    syntax_ok: bool | None = Field(
        default=None, description="Every edited Python file parses; null without a patch that applies."
    )
    syntax_errors: list[str] = Field(default_factory=list, description="Edited Python files that do not parse.")
    valid: bool = Field(default=False, description="A non-empty patch that applies and whose Python files parse.")
    prompt_tokens: int | None = Field(default=None, description="Prompt tokens the server reported.")
    completion_tokens: int | None = Field(default=None, description="Completion tokens the server reported.")
    latency_s: float | None = Field(default=None, description="Seconds from sending the request to its answer.")
    endpoint_index: int | None = Field(
        default=None, description="Which of the stage's endpoints answered (an index: URLs may hold credentials)."
    )
    model: str | None = Field(default=None, description="The model that answered (the response's model).")
    request_fingerprint: str | None = Field(
        default=None, description="Fingerprint of the request the answer was made for (patchline.core.fingerprint)."
    )

    @property
    def tokens(self) -> int:
        """Prompt and completion tokens together (0 when the server reported none)."""
        return (self.prompt_tokens or 0) + (self.completion_tokens or 0)

    @property
    def vote_key(self) -> str:
        """What votes for this sample (its stripped normal form)."""
        return self.normalized_patch.strip()


class PatchVotes(BaseModel):
    """The samples that share one normalised patch, in the order they were counted."""

    normalized_hash: str = Field(description="The normal form's hash (see the sample table).")
    votes: int = Field(ge=0, description="How many counted samples have this normal form.")
    samples: list[int] = Field(description="Their sample indices, in index order.")


class Exclusion(BaseModel):
    """A sample the strategy did not count, and the verdict it was left out for."""

    sample: int = Field(ge=0, description="Sample index.")
    reason: str = Field(description="empty_patch, empty_normal_form, invalid (with plausible), or the status.")


class SelectionRecord(BaseModel):
    """Why an instance's prediction is the sample it is: the strategy, the votes, what was left out."""

    model_config = ConfigDict(extra="ignore")

    instance_id: str = Field(description="The task instance.")
    strategy: str = Field(description="The strategy that chose (agentless-majority, first-valid, ...).")
    chosen_sample: int | None = Field(description="The sample whose patch is the prediction; null: none (empty).")
    normalized_hash: str = Field(default="", description="The chosen sample's normal form hash.")
    reason: str = Field(description="In words: majority of N votes, tie to the earliest, fallback, all empty, ...")
    samples: int = Field(ge=0, description="Samples of the instance in the table (every round).")
    valid_samples: int = Field(ge=0, description="How many of them are valid.")
    votes: list[PatchVotes] = Field(default_factory=list, description="Votes per normalised patch, most first.")
    excluded: list[Exclusion] = Field(default_factory=list, description="Samples not counted, with the reason.")
    fallback: bool = Field(default=False, description="No sample was left after the filters: voted over all.")


def sample_lines(records: Iterable[SampleRecord]) -> list[bytes]:
    """The JSON lines of some records (for one atomic write)."""
    return [dumps_line(record) for record in records]


def iter_sample_records(store: ArtifactStore, name: str, *, report: LineReport | None = None) -> Iterator[SampleRecord]:
    """Stream a sample table; unreadable lines are reported (``report``) and skipped."""
    yield from _iter(store, name, SampleRecord, report)


def iter_selection_records(
    store: ArtifactStore, name: str, *, report: LineReport | None = None
) -> Iterator[SelectionRecord]:
    """Stream a selection file; unreadable lines are reported and skipped."""
    yield from _iter(store, name, SelectionRecord, report)


def _iter(store: ArtifactStore, name: str, model: type[Any], report: LineReport | None) -> Iterator[Any]:
    source = store.uri(name)
    records = iter_jsonl(store.iter_lines(name), source=source, policy=ErrorPolicy.SKIP, on_error=report)
    for _, record in iter_models(records, model, source=source, policy=ErrorPolicy.SKIP, on_error=report):
        yield record


def schema_table(model: type[BaseModel]) -> str:
    """A Markdown table of a record's fields (name, type, meaning): the documented schema, from the model."""
    rows = ["| field | type | meaning |", "| --- | --- | --- |"]
    for name, info in model.model_fields.items():
        kind = _type_name(info.annotation)
        rows.append(f"| `{name}` | {kind} | {info.description or ''} |")
    return "\n".join(rows) + "\n"


_JSON_NAMES: dict[Any, str] = {str: "string", int: "integer", float: "number", bool: "boolean"}


def _type_name(annotation: Any) -> str:
    """A field's type in JSON words: ``string``, ``integer or null``, ``list of strings``, ``list of PatchVotes``."""
    if get_origin(annotation) in (Union, types.UnionType):
        args = [arg for arg in get_args(annotation) if arg is not type(None)]
        return " or ".join(_type_name(arg) for arg in args) + (
            " or null" if len(args) < len(get_args(annotation)) else ""
        )
    if get_origin(annotation) is list:
        (item,) = get_args(annotation)
        name = _type_name(item)
        return f"list of {name}s" if item in _JSON_NAMES else f"list of {name}"
    return _JSON_NAMES.get(annotation, getattr(annotation, "__name__", str(annotation)))
