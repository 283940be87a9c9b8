"""EditBench inference (seed ``run_api``): infbench lines → gateway executor → result records.

One run of (dataset, model, run_id) works in rounds below ``.patchline/<result path>/`` of the root:
round 0 sends every instance without a success; an answer saying the context is too long sends the
instance again in the next round with less code (:func:`shrink_code_context`), until nothing is left to
take away (then a failed record ``input context exceeded``). Records are appended to the result file as
rounds finish; at the end the file is rewritten atomically with one record per instance, so a failed
record from an earlier run is replaced by this run's answer. Responses of a run that died mid-round are
harvested by the next run before it sends anything.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from patchline.core.batch import ResponseLine
from patchline.core.datasets import iter_infbench
from patchline.core.errors import ArtifactNotFoundError, InputError
from patchline.core.jsonl import dumps_line, iter_jsonl, load_json
from patchline.core.layout import editbench_infbench, editbench_result
from patchline.core.progress import NullProgress, Progress
from patchline.core.settings import ApiKeys
from patchline.core.store import Appender, ArtifactStore, open_artifact
from patchline.gateway import ExecutorSettings, run_file
from patchline.workflows.editbench.models import MODEL_CONFIGS, ModelConfig, model_config
from patchline.workflows.editbench.overflow import is_context_overflow
from patchline.workflows.editbench.prompt import shrink_code_context, split_system
from patchline.workflows.editbench.records import (
    failure_record,
    is_success,
    read_results,
    success_record,
    write_results,
)

__all__ = ["RunOptions", "RunSummary", "load_sampled_ids", "resolve_input", "run_editbench", "run_matrix"]

log = logging.getLogger(__name__)

CONTEXT_EXCEEDED = "input context exceeded"


@dataclass(frozen=True)
class RunOptions:
    """Everything a run needs besides (dataset, model, run_id)."""

    endpoints: Sequence[str]
    root: str = "."
    keys: ApiKeys | None = None
    executor: ExecutorSettings = field(default_factory=ExecutorSettings)
    sampled_ids: frozenset[str] | None = None
    max_rounds: int = 50
    configs: Mapping[str, ModelConfig] = field(default_factory=lambda: MODEL_CONFIGS)


@dataclass
class RunSummary:
    """What one (dataset, model, run_id) run did."""

    input_uri: str
    output_uri: str
    model: str
    config_known: bool
    already_done: int = 0
    sent: int = 0
    succeeded: int = 0
    failed: int = 0
    shrunk: int = 0
    harvested: int = 0
    cost: float = 0.0


def resolve_input(root: str, dataset_name: str, run_id: str) -> tuple[ArtifactStore, str, str]:
    """``(store, name, dataset_stem)``: a ``.jsonl`` path as given, else the infbench layout below ``root``."""
    if dataset_name.endswith(".jsonl"):
        store, name = open_artifact(dataset_name)
    else:
        store, name = ArtifactStore(root), editbench_infbench(dataset_name, run_id)
    stem = name.rsplit("/", 1)[-1].removesuffix(".jsonl")
    return store, name, stem


def _request(custom_id: str, model: str, config: ModelConfig, prompt: str) -> dict[str, Any]:
    system, user = split_system(prompt)
    body: dict[str, Any] = {
        "model": model,
        "messages": [{"role": "system", "content": system}, {"role": "user", "content": user}],
        "temperature": config.temperature,
    }
    if config.top_p is not None:
        body["top_p"] = config.top_p
    return {"custom_id": custom_id, "method": "POST", "url": "/v1/chat/completions", "body": body}


def _prompt_of(request: Mapping[str, Any]) -> str:
    messages = request.get("body", {}).get("messages", [])
    return "\n".join(str(m.get("content", "")) for m in messages if isinstance(m, dict))


def _fit(prompt: str, config: ModelConfig) -> str | None:
    """Shrink a prompt that is certainly over the model's known limit (over 2 bytes per token); None: cannot."""
    while config.context_limit is not None and len(prompt.encode("utf-8")) > 2 * config.context_limit:
        smaller = shrink_code_context(prompt)
        if smaller is None:
            return None
        prompt = smaller
    return prompt


@dataclass
class _Round:
    """The work files of one round."""

    number: int
    requests: str
    responses: str


class _Work:
    """The round files of one run below the work folder."""

    def __init__(self, store: ArtifactStore, folder: str) -> None:
        self.store, self.folder = store, folder

    def round(self, number: int) -> _Round:
        """The request and response files of round ``number``."""
        return _Round(
            number, f"{self.folder}/round-{number}-requests.jsonl", f"{self.folder}/round-{number}-responses.jsonl"
        )

    def existing_rounds(self) -> list[_Round]:
        """The rounds whose request files are there (left by an earlier run)."""
        names = self.store.list_files(self.folder)
        numbers = sorted({int(n.rsplit("/", 1)[-1].split("-")[1]) for n in names if n.endswith("-requests.jsonl")})
        return [self.round(number) for number in numbers]

    def clear(self) -> None:
        """Delete every work file."""
        for name in self.store.list_files(self.folder):
            self.store.delete(name)


def _responses(store: ArtifactStore, name: str) -> dict[str, tuple[ResponseLine, float]]:
    latest: dict[str, tuple[ResponseLine, float]] = {}
    for numbered in iter_jsonl(store.iter_lines(name, missing_ok=True), source=store.uri(name)):
        raw = numbered.record
        try:
            line = ResponseLine.model_validate(raw)
        except ValueError as exc:
            log.warning("%s:%d: unreadable response line: %s", name, numbered.line_no, exc)
            continue
        stats = raw.get("patchline")
        latency = stats.get("latency_s") if isinstance(stats, dict) else None
        latest[line.custom_id] = (line, float(latency) if isinstance(latency, int | float) else 0.0)
    return latest


def _requests(store: ArtifactStore, name: str) -> Iterator[tuple[str, str]]:
    for numbered in iter_jsonl(store.iter_lines(name, missing_ok=True), source=store.uri(name)):
        custom_id = numbered.record.get("custom_id")
        if isinstance(custom_id, str):
            yield custom_id, _prompt_of(numbered.record)


class _Recorder:
    """Turns answers into records appended to the result file, and counts them."""

    def __init__(
        self, model: str, config: ModelConfig, appender: Appender, summary: RunSummary, done: set[str]
    ) -> None:
        self.model, self.config, self.appender, self.summary, self.done = model, config, appender, summary, done

    def success(self, custom_id: str, prompt: str, line: ResponseLine, latency: float) -> None:
        """Record an answer (its patch extracted, its cost from the usage)."""
        usage = line.usage
        cost = self.config.cost(usage.get("prompt_tokens", 0), usage.get("completion_tokens", 0))
        record = success_record(
            custom_id,
            self.model,
            self.config,
            prompt=prompt,
            full_output=line.content,
            cost=cost,
            response_time=latency,
        )
        self.appender.write_record(record)
        self.done.add(custom_id)
        self.summary.succeeded += 1
        self.summary.cost += cost

    def failure(self, custom_id: str, prompt: str, error: str, latency: float = 0.0) -> None:
        """Record a failure (retried by the next run)."""
        record = failure_record(custom_id, self.model, self.config, prompt=prompt, error=error, response_time=latency)
        self.appender.write_record(record)
        self.summary.failed += 1


def _error_text(line: ResponseLine) -> str:
    if line.is_reasoning_only:
        return "reasoning only: the answer was cut off while thinking (content empty)"
    if line.error is not None:
        return f"{line.response.status_code}: {line.error.code}: {line.error.message}"
    return f"{line.response.status_code}: no answer"


def _harvest(work: _Work, recorder: _Recorder) -> int:
    """Record the answers a previous run received but did not record (it died mid-round)."""
    harvested = 0
    for leftover in work.existing_rounds():
        latest = _responses(work.store, leftover.responses)
        for custom_id, prompt in _requests(work.store, leftover.requests):
            found = latest.get(custom_id)
            if found and found[0].ok and not found[0].is_reasoning_only and custom_id not in recorder.done:
                recorder.success(custom_id, prompt, *found)
                harvested += 1
    work.clear()
    return harvested


def _first_round(
    in_store: ArtifactStore, in_name: str, target: _Round, work: _Work, recorder: _Recorder, options: RunOptions
) -> int:
    queued: set[str] = set()
    count = 0
    with work.store.atomic_writer(target.requests) as out:
        for line in iter_infbench(in_store.uri(in_name)):
            if line.instance_id in recorder.done:
                recorder.summary.already_done += 1
                continue
            if line.instance_id in queued:
                log.warning("%s: instance %s appears again; the first line is used", in_name, line.instance_id)
                continue
            if options.sampled_ids is not None and line.instance_id not in options.sampled_ids:
                continue
            queued.add(line.instance_id)
            prompt = _fit(line.prompt, recorder.config)
            if prompt is None:
                recorder.failure(line.instance_id, line.prompt, CONTEXT_EXCEEDED)
                continue
            out.write(dumps_line(_request(line.instance_id, recorder.model, recorder.config, prompt)))
            count += 1
    return count


def _process_round(current: _Round, following: _Round, work: _Work, recorder: _Recorder) -> int:
    """Record the answers of ``current``; write the overflowed instances, shrunk, as ``following``."""
    latest = _responses(work.store, current.responses)
    again = 0
    with work.store.atomic_writer(following.requests) as out:
        for custom_id, prompt in _requests(work.store, current.requests):
            found = latest.get(custom_id)
            if found is None:
                recorder.failure(custom_id, prompt, "no response was recorded")
                continue
            line, latency = found
            if line.ok and not line.is_reasoning_only:
                recorder.success(custom_id, prompt, line, latency)
            elif is_context_overflow(line):
                smaller = shrink_code_context(prompt)
                if smaller is None:
                    recorder.failure(custom_id, prompt, CONTEXT_EXCEEDED, latency)
                    continue
                out.write(dumps_line(_request(custom_id, recorder.model, recorder.config, smaller)))
                recorder.summary.shrunk += 1
                again += 1
            else:
                recorder.failure(custom_id, prompt, _error_text(line), latency)
    return again


def run_editbench(
    dataset_name: str, model: str, run_id: str, options: RunOptions, *, progress: Progress | None = None
) -> RunSummary:
    """Run ``model`` on one infbench file and leave one record per instance in its result file."""
    progress = progress or NullProgress()
    config = model_config(model, options.configs)
    in_store, in_name, stem = resolve_input(options.root, dataset_name, run_id)
    if not in_store.exists(in_name):
        raise ArtifactNotFoundError(f"{in_store.uri(in_name)} does not exist (dataset {dataset_name}, run id {run_id})")
    store = ArtifactStore(options.root)
    out_name = editbench_result(model, config.temperature, config.n, stem)
    summary = RunSummary(in_store.uri(in_name), store.uri(out_name), model, config.known)
    if not config.known:
        log.warning("model %s is not in the sampling table: using the defaults %s", model, config)
    work = _Work(store, ".patchline/" + out_name.removesuffix(".jsonl"))
    done = {iid for iid, record in read_results(store, out_name).items() if is_success(record)}
    recorder = _Recorder(model, config, store.appender(out_name), summary, done)
    try:
        summary.harvested = _harvest(work, recorder)
        current = work.round(0)
        pending = _first_round(in_store, in_name, current, work, recorder, options)
        while pending:
            summary.sent += pending
            run_file(
                store.uri(current.requests),
                store.uri(current.responses),
                endpoints=options.endpoints,
                keys=options.keys,
                settings=options.executor,
                progress=progress,
            )
            following = work.round(current.number + 1)
            pending = _process_round(current, following, work, recorder)
            current = following
            if current.number >= options.max_rounds and pending:
                for custom_id, prompt in _requests(store, current.requests):
                    recorder.failure(custom_id, prompt, CONTEXT_EXCEEDED)
                break
    finally:
        recorder.appender.close()
    write_results(store, out_name, read_results(store, out_name).values())
    work.clear()
    return summary


def load_sampled_ids(path: str) -> frozenset[str]:
    """The ``sampled_instance_ids`` list of a JSON file (the seed's ``--sampled_ids_file``)."""
    store, name = open_artifact(path)
    try:
        data = load_json(store.read_text(name))
    except json.JSONDecodeError as exc:
        raise InputError(f"{path}: not JSON: {exc}") from exc
    ids = data.get("sampled_instance_ids") if isinstance(data, dict) else None
    if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
        raise InputError(f"{path}: needs a list of strings under 'sampled_instance_ids'")
    return frozenset(ids)


def run_matrix(
    datasets: Sequence[str],
    models: Sequence[str],
    run_ids: Sequence[str],
    options: RunOptions,
    *,
    progress: Progress | None = None,
) -> list[RunSummary]:
    """:func:`run_editbench` for every (dataset, model, run_id), in the seed's order."""
    return [
        run_editbench(dataset, model, run_id, options, progress=progress)
        for dataset in datasets
        for model in models
        for run_id in run_ids
    ]
