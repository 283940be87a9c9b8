"""EditBench inference (seed ``run_api``) in rounds: infbench lines → round request files → result records.

One run of (infbench file, model) works in rounds below a work folder of the root (``layout.editbench_round``):
:meth:`EditBenchRun.prepare` writes round 0 with every instance that has no success yet; after an executor has
answered round ``r`` (the gateway, through whatever runs the stages), :meth:`EditBenchRun.collect` records its
answers and writes round ``r + 1`` with the instances whose context was too long, shrunk
(:func:`shrink_code_context`), until nothing is left to take away (then a failed record ``input context
exceeded``). Records are appended to the result file as rounds are collected; when no round is pending the
file is rewritten atomically with one record per instance, so a failed record from an earlier run is replaced
by this run's answer. Answers of a run that died mid-round are harvested by the next ``prepare``.

The stage driver runs prepare → (gateway inference → collect) per round; ``patchline.pipeline.editbench`` does
the same in one process for the seed-compatible ``patchline editbench run``.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, replace
from typing import Any

from patchline.core import layout
from patchline.core.batch import ResponseLine, chat_body
from patchline.core.datasets import iter_infbench
from patchline.core.errors import ArtifactNotFoundError, InputError
from patchline.core.jsonl import dumps_line, iter_jsonl, load_json
from patchline.core.spec import DEFAULT_STRATEGIES, EditBenchStage, Sampling, Selection
from patchline.core.store import Appender, ArtifactStore, open_artifact
from patchline.samples.outputs import SelectionCounts
from patchline.samples.selection import resolve_strategy
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
from patchline.workflows.editbench.samples import answer_rows, failure_rows, finish_samples

__all__ = [
    "CONTEXT_EXCEEDED",
    "EditBenchRun",
    "RoundReport",
    "effective_config",
    "load_sampled_ids",
]

log = logging.getLogger(__name__)

CONTEXT_EXCEEDED = "input context exceeded"


def effective_config(
    model: str, sampling: Sampling | None, table: Mapping[str, ModelConfig] = MODEL_CONFIGS
) -> ModelConfig:
    """The model's sampling settings: the seed's table entry, or ``sampling`` when a run spec sets one."""
    base = model_config(model, table)
    if sampling is None:
        return base
    return replace(base, temperature=sampling.temperature, top_p=sampling.top_p, n=sampling.samples)


@dataclass
class RoundReport:
    """What one prepare or collect did, and how many requests the next round holds."""

    total: int = 0
    succeeded: int = 0
    failed: int = 0
    already_done: int = 0
    shrunk: int = 0
    harvested: int = 0
    pending: int = 0
    repaired: int = 0  # answers whose diff was repaired (recover_diffs)
    cost: float = 0.0

    def counts(self, *, prepared: bool = False) -> dict[str, int]:
        """The counts a stage reports (``pending``: requests of the next round). For :meth:`EditBenchRun.prepare`
        an instance succeeded when its request is written (or it was done before); for a collect, when
        its answer is recorded."""
        done = self.pending + self.already_done if prepared else self.succeeded + self.already_done
        return {
            "total": self.total,
            "succeeded": done,
            "failed": self.failed,
            "shrunk": self.shrunk,
            "pending": self.pending,
        }


def _prompt_of(request: Mapping[str, Any]) -> str:
    messages = request.get("body", {}).get("messages", [])
    return "\n".join(str(m.get("content", "")) for m in messages if isinstance(m, dict))


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


def _error_text(line: ResponseLine) -> str:
    if line.is_reasoning_only:
        return "reasoning only: the answer was cut off while thinking (content empty)"
    if line.error is not None:
        return f"{line.response.status_code}: {line.error.code}: {line.error.message}"
    return f"{line.response.status_code}: no answer"


class _Recorder:
    """Turns answers into records appended to the result file (and rows to the sample table), and counts them."""

    def __init__(self, run: EditBenchRun, appender: Appender, report: RoundReport, done: set[str]) -> None:
        self.run, self.appender, self.report, self.done = run, appender, report, done
        self.rows = run.store.appender(run.sample_files.table)

    def close(self) -> None:
        """Flush and release both files."""
        self.appender.close()
        self.rows.close()

    def success(self, custom_id: str, prompt: str, line: ResponseLine, latency: float) -> None:
        """Record an answer (its patch extracted, its cost from the usage)."""
        usage = line.usage
        config = self.run.config
        cost = config.cost(usage.get("prompt_tokens", 0), usage.get("completion_tokens", 0))
        record = success_record(
            custom_id,
            self.run.model,
            config,
            prompt=prompt,
            full_output=line.content,
            cost=cost,
            response_time=latency,
            recover_diffs=self.run.recover_diffs,
        )
        self.appender.write_record(record)
        self.rows.write_lines(
            [dumps_line(row) for row in answer_rows(custom_id, prompt, line, recover_diffs=self.run.recover_diffs)]
        )
        self.done.add(custom_id)
        self.report.succeeded += 1
        self.report.repaired += 1 if record.get("patch_repairs") else 0
        self.report.cost += cost

    def failure(self, custom_id: str, prompt: str, error: str, latency: float = 0.0) -> None:
        """Record a failure (retried by the next run)."""
        record = failure_record(
            custom_id, self.run.model, self.run.config, prompt=prompt, error=error, response_time=latency
        )
        self.appender.write_record(record)
        self.rows.write_lines([dumps_line(row) for row in failure_rows(custom_id, self.run.config.n, error)])
        self.report.failed += 1


class EditBenchRun:
    """One run of ``model`` on one infbench file, below ``root``: its result file and its round files."""

    def __init__(
        self,
        root: str,
        infbench: str,
        model: str,
        *,
        sampling: Sampling | None = None,
        sampled_ids: frozenset[str] | None = None,
        max_rounds: int,
        recover_diffs: bool = False,
        configs: Mapping[str, ModelConfig] = MODEL_CONFIGS,
        selection: Selection | None = None,
        hooks: bool = False,
    ) -> None:
        self.store = ArtifactStore(root)
        self.in_store, self.in_name = open_artifact(infbench)
        stem = layout.jsonl_stem(self.in_name)
        self.model, self.sampling, self.sampled_ids, self.max_rounds = model, sampling, sampled_ids, max_rounds
        self.recover_diffs = recover_diffs  # repair messy model diffs (records say what); strict by default
        self.config = effective_config(model, sampling, configs)
        self.out_name = layout.editbench_result(model, self.config.temperature, self.config.n, stem)
        self.sample_files = layout.editbench_sample_files(model, self.config.temperature, self.config.n, stem)
        self.work_dir = layout.editbench_work_dir(self.in_name, model)
        self.selection = selection or Selection()
        self.strategy_name = self.selection.strategy or DEFAULT_STRATEGIES["editbench"]
        self.strategy = resolve_strategy(self.strategy_name, self.selection, hooks=hooks)
        self.selection_counts = SelectionCounts(strategy=self.strategy_name)

    @classmethod
    def of(cls, settings: EditBenchStage, root: str, *, hooks: bool = False) -> EditBenchRun:
        """The run a stage's settings describe: the infbench file its build stage wrote, below ``root``."""
        workflow = settings.workflow
        infbench = ArtifactStore(root).uri(layout.editbench_infbench(workflow.dataset_name, workflow.effective_run_id))
        ids = frozenset(settings.dataset.instances) or None
        return cls(
            root,
            infbench,
            settings.model,
            sampling=settings.sampling,
            sampled_ids=ids,
            max_rounds=workflow.max_rounds,
            recover_diffs=workflow.recover_diffs,
            selection=workflow.selection,
            hooks=hooks,
        )

    @property
    def output_uri(self) -> str:
        """The result file."""
        return self.store.uri(self.out_name)

    def round_files(self, number: int) -> tuple[str, str]:
        """URIs of the request and response files of round ``number``."""
        requests, responses = self._round_names(number)
        return self.store.uri(requests), self.store.uri(responses)

    def _round_names(self, number: int) -> tuple[str, str]:
        round_file = layout.editbench_round
        return round_file(self.work_dir, number, "requests"), round_file(self.work_dir, number, "responses")

    def _request(self, custom_id: str, prompt: str) -> dict[str, Any]:
        system, user = split_system(prompt)
        messages = [{"role": "system", "content": system}, {"role": "user", "content": user}]
        if self.sampling is not None:
            body = chat_body(model=self.model, messages=messages, sampling=self.sampling)
        else:  # the seed's table: temperature (and top_p) only, no max_tokens
            body = {"model": self.model, "messages": messages, "temperature": self.config.temperature}
            if self.config.top_p is not None:
                body["top_p"] = self.config.top_p
        if self.config.n != 1:
            body["n"] = self.config.n
        return {"custom_id": custom_id, "method": "POST", "url": "/v1/chat/completions", "body": body}

    def _fit(self, prompt: str) -> str | None:
        """Shrink a prompt that is certainly over the model's known limit (over 2 bytes per token); None: cannot."""
        limit = self.config.context_limit
        while limit is not None and len(prompt.encode("utf-8")) > 2 * limit:
            smaller = shrink_code_context(prompt)
            if smaller is None:
                return None
            prompt = smaller
        return prompt

    def _recorder(self, report: RoundReport) -> _Recorder:
        done = {iid for iid, record in read_results(self.store, self.out_name).items() if is_success(record)}
        return _Recorder(self, self.store.appender(self.out_name), report, done)

    def prepare(self) -> RoundReport:
        """Harvest a dead run's answers, then write round 0: every instance without a success (resumable)."""
        if not self.in_store.exists(self.in_name):
            raise ArtifactNotFoundError(f"{self.in_store.uri(self.in_name)} does not exist (no infbench file)")
        harvest = self._recorder(RoundReport())
        try:
            harvested = self._harvest(harvest)
        finally:
            harvest.close()
        report = RoundReport(harvested=harvested, cost=harvest.report.cost)  # harvested: among already_done
        recorder = self._recorder(report)
        try:
            report.pending = self._first_round(recorder)
        finally:
            recorder.close()
        if not report.pending:
            self.finish()
        return report

    def _harvest(self, recorder: _Recorder) -> int:
        """Record the answers a previous run received but did not record (it died mid-round)."""
        harvested = 0
        for number in self._existing_rounds():
            requests, responses = self._round_names(number)
            latest = _responses(self.store, responses)
            for custom_id, prompt in _requests(self.store, requests):
                found = latest.get(custom_id)
                if found and found[0].ok and not found[0].is_reasoning_only and custom_id not in recorder.done:
                    recorder.success(custom_id, prompt, *found)
                    harvested += 1
        for name in self.store.list_files(self.work_dir):
            self.store.delete(name)
        return harvested

    def _existing_rounds(self) -> list[int]:
        names = self.store.list_files(self.work_dir)
        return sorted({int(n.rsplit("/", 1)[-1].split("-")[1]) for n in names if n.endswith("-requests.jsonl")})

    def _first_round(self, recorder: _Recorder) -> int:
        report, queued, count = recorder.report, set[str](), 0
        with self.store.atomic_writer(self._round_names(0)[0]) as out:
            for line in iter_infbench(self.in_store.uri(self.in_name)):
                if self.sampled_ids is not None and line.instance_id not in self.sampled_ids:
                    continue
                if line.instance_id in queued:
                    log.warning("%s: instance %s appears again; the first line is used", self.in_name, line.instance_id)
                    continue
                report.total += 1
                if line.instance_id in recorder.done:
                    report.already_done += 1
                    continue
                queued.add(line.instance_id)
                prompt = self._fit(line.prompt)
                if prompt is None:
                    recorder.failure(line.instance_id, line.prompt, CONTEXT_EXCEEDED)
                    continue
                out.write(dumps_line(self._request(line.instance_id, prompt)))
                count += 1
        return count

    def collect(self, number: int) -> RoundReport:
        """Record the answers of round ``number``; write the overflowed instances, shrunk, as the next round.

        Past ``max_rounds`` the overflowed instances are recorded as failed instead. When no round is pending
        the result file is finished (:meth:`finish`).
        """
        report = RoundReport()
        recorder = self._recorder(report)
        requests, responses = self._round_names(number)
        following = self._round_names(number + 1)[0]
        last = number + 1 >= self.max_rounds
        latest = _responses(self.store, responses)
        try:
            with self.store.atomic_writer(following) as out:
                for custom_id, prompt in _requests(self.store, requests):
                    report.total += 1
                    found = latest.get(custom_id)
                    if found is None:
                        recorder.failure(custom_id, prompt, "no response was recorded")
                        continue
                    line, latency = found
                    if line.ok and not line.is_reasoning_only:
                        recorder.success(custom_id, prompt, line, latency)
                        continue
                    smaller = shrink_code_context(prompt) if is_context_overflow(line) else None
                    if smaller is None or last:
                        error = CONTEXT_EXCEEDED if is_context_overflow(line) else _error_text(line)
                        recorder.failure(custom_id, prompt, error, latency)
                        continue
                    out.write(dumps_line(self._request(custom_id, smaller)))
                    report.shrunk += 1
                    report.pending += 1
        finally:
            recorder.close()
        if not report.pending:
            self.finish()
        return report

    def finish(self) -> int:
        """Rewrite the result file with one record per instance, the sample files, and clear the round files;
        returns the records."""
        written = write_results(self.store, self.out_name, read_results(self.store, self.out_name).values())
        self.selection_counts = finish_samples(
            self.store,
            self.sample_files,
            strategy=self.strategy,
            strategy_name=self.strategy_name,
            model=self.model,
        )
        for name in self.store.list_files(self.work_dir):
            self.store.delete(name)
        return written


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
