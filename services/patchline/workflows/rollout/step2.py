"""Stage 2 (``proc_step1_gen_step2``): turn step-1 answers into step-2 requests, failures into records.

BugFixer: every found file, whole, as ``path\\ncontent``, in a prompt asking for SEARCH/REPLACE fixes.
TestWriter: the first found file whose path contains ``test``, in a prompt asking for a reproduction
test. An answer that failed, is empty or names no usable file gives no request and one failure record.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field

from patchline.core.batch import ResponseLine
from patchline.core.custom_id import SAMPLE_SEPARATOR, decode_pass_id
from patchline.core.datasets import SWEbenchInstance, selected_index
from patchline.core.errors import InputError
from patchline.core.fingerprint import body_settings, check_answers_match
from patchline.core.jsonl import LineReport
from patchline.core.layout import rollout_step_file
from patchline.core.progress import NullProgress, Progress
from patchline.core.samples import AnswerFacts, answer_facts
from patchline.core.spec import RolloutStage
from patchline.core.store import ArtifactStore, open_artifact
from patchline.workflows.rollout.common import (
    ItemResult,
    StageSummary,
    StageWriters,
    failure,
    failures_name,
    pass_temperature,
    process_items,
    save_store,
    step_template,
)
from patchline.workflows.rollout.config import build_request, declared_passk, id_range, problem_statement, require
from patchline.workflows.rollout.outputs import (
    KeyedRewrite,
    check_kept_requests,
    iter_latest_responses,
    latest_line_numbers,
)
from patchline.workflows.rollout.records import FailureReason, FailureRecord
from patchline.workflows.rollout.repofiles import RepoFiles, resolve_found_files
from patchline.workflows.rollout.sources import FileSource, StructureNotFoundError
from patchline.workflows.templates import PromptTemplate

__all__ = [
    "STAGE",
    "Answer",
    "LatestAnswers",
    "Step2Item",
    "build_step2_request",
    "file_contents_block",
    "instance_of",
    "iter_answers",
    "run_step2",
    "test_file_choice",
    "unknown_instance",
]

STAGE = "proc_step1_gen_step2"


@dataclass(frozen=True)
class Answer:
    """The parts of a response line a stage uses (small and picklable)."""

    custom_id: str
    ok: bool
    content: str
    reasoning_only: bool
    status: str
    model: str = ""
    facts: AnswerFacts = field(default_factory=AnswerFacts)  # tokens, latency, endpoint (the sample table)

    @classmethod
    def of(cls, line: ResponseLine) -> Answer:
        """The answer of a response line."""
        error = f": {line.error.code}: {line.error.message}" if line.error else ""
        model = line.response.body.get("model")
        return cls(
            line.custom_id,
            line.ok,
            line.content,
            line.is_reasoning_only,
            f"{line.response.status_code}{error}",
            model if isinstance(model, str) else "",
            answer_facts(line),
        )


@dataclass(frozen=True)
class Step2Item:
    """One step-1 answer with what is needed to build its step-2 request."""

    config: RolloutStage
    template: PromptTemplate
    answer: Answer
    instance: SWEbenchInstance | None

    @property
    def custom_ids(self) -> tuple[str, ...]:
        """The custom_id this item stands for."""
        return (self.answer.custom_id,)


def test_file_choice(found: list[str]) -> str | None:
    """The TestWriter's file: the first found path that contains ``test``."""
    return next((path for path in found if "test" in path), None)


def file_contents_block(files: RepoFiles, paths: list[str]) -> str:
    """Files shown whole, each as ``path\\ncontent``, separated by a blank line."""
    parts = []
    for path in paths:
        text = files.read_text(path)
        if text is not None:
            parts.append(f"{path}\n{text}")
    return "\n\n".join(parts).rstrip()


def build_step2_request(item: Step2Item) -> ItemResult:
    """The step-2 request of one step-1 answer, or its failure record (runs in a worker)."""
    answer, config, custom_id = item.answer, item.config, item.answer.custom_id
    result = ItemResult(reasoning_only=int(answer.reasoning_only))
    if item.instance is None:
        result.failures.append(unknown_instance(custom_id, declared_passk(config), STAGE))
        return result
    if not answer.ok:
        result.failures.append(failure(custom_id, FailureReason.STEP1_REQUEST_FAILED, STAGE, answer.status))
        return result
    instance = item.instance
    try:
        with FileSource(config.repositories.structure_dir, config.repositories.repo_root).open(
            instance.instance_id, instance.repo, instance.base_commit
        ) as files:
            found = resolve_found_files(answer.content, files)
            shown = found if config.kind == "bugfixer" else [p for p in [test_file_choice(found)] if p]
            contents = file_contents_block(files, shown)
    except (StructureNotFoundError, InputError) as exc:
        result.failures.append(failure(custom_id, FailureReason.STRUCTURE_NOT_FOUND, STAGE, str(exc)))
        return result
    if not contents:
        reason = FailureReason.NO_FILES_FOUND if config.kind == "bugfixer" else FailureReason.NO_TEST_FILES_FOUND
        detail = "reasoning only, no answer" if answer.reasoning_only else f"found {found}"
        result.failures.append(failure(custom_id, reason, STAGE, detail, found_files=found))
        return result
    prompt = item.template.render(
        problem_statement=problem_statement(config, instance.problem_statement), file_contents=contents
    ).strip()
    request = build_request(custom_id, prompt, temperature=pass_temperature(config, custom_id), settings=config)
    result.lines.append((custom_id, (request.model_dump_json() + "\n").encode("utf-8")))
    return result


class LatestAnswers:
    """The latest answer of each custom_id in ``--start_file/--end_file``: sized, and streamed in file order."""

    def __init__(self, store: ArtifactStore, name: str, config: RolloutStage, report: LineReport | None) -> None:
        latest = latest_line_numbers(store, name, report=report)
        selected = id_range(config).select(latest)
        self._wanted = {custom_id: latest[custom_id] for custom_id in selected}
        self._store, self._name, self._report = store, name, report

    def __len__(self) -> int:
        return len(self._wanted)

    @property
    def custom_ids(self) -> frozenset[str]:
        """The custom_ids answered (latest line each), within the range."""
        return frozenset(self._wanted)

    def __iter__(self) -> Iterator[Answer]:
        for line in iter_latest_responses(self._store, self._name, self._wanted, report=self._report):
            yield Answer.of(line)


def iter_answers(
    store: ArtifactStore, name: str, config: RolloutStage, *, report: LineReport | None = None
) -> LatestAnswers:
    """The latest answer of each custom_id in ``--start_file/--end_file`` (how many: ``len()``), in file order."""
    return LatestAnswers(store, name, config, report)


def unknown_instance(custom_id: str, passk: int | None, stage: str) -> FailureRecord:
    """The failure of an answer whose custom_id names no dataset instance: a malformed id, or a missing instance."""
    _, separator, sample = custom_id.rpartition(SAMPLE_SEPARATOR)
    if separator and sample.isdigit():
        detail = f"{custom_id!r} is an Agentless sample id (instance|sample), not a rollout one (instance[__passK])"
        return failure(custom_id, FailureReason.BAD_CUSTOM_ID, stage, detail)
    decoded = decode_pass_id(custom_id, passk=passk)
    if passk is not None and decoded.k >= passk:
        detail = f"{custom_id!r} names pass {decoded.k}, but --passk is {passk}"
        return failure(custom_id, FailureReason.BAD_CUSTOM_ID, stage, detail)
    detail = f"instance {decoded.instance_id!r} is not in the dataset"
    return failure(custom_id, FailureReason.INSTANCE_NOT_FOUND, stage, detail)


def instance_of(index: Mapping[str, SWEbenchInstance], custom_id: str, passk: int | None) -> SWEbenchInstance | None:
    """The dataset instance a custom_id belongs to (None if the dataset has none)."""
    for candidate in (decode_pass_id(custom_id, passk=passk).instance_id, decode_pass_id(custom_id).instance_id):
        if candidate in index:
            return index[candidate]
    return index.get(custom_id)


def _items(config: RolloutStage, template: PromptTemplate, answers: LatestAnswers) -> Iterator[Step2Item]:
    index = selected_index(config.dataset)
    for answer in answers:
        yield Step2Item(config, template, answer, instance_of(index, answer.custom_id, declared_passk(config)))


def run_step2(config: RolloutStage, *, progress: Progress | None = None) -> StageSummary:
    """Write the step-2 request file from the step-1 output; failed answers become failure records.

    Answers made for other requests than the run's step-1 request file (beside ``--output_file``) are
    refused, as are kept request lines of another run (``config.on_mismatch`` says otherwise).
    """
    require(config, "input_file", "output_file")
    progress = progress or NullProgress()
    template = step_template(config, 2)
    out_store, out_name = open_artifact(config.output_file or "")
    fail_store = save_store(config)
    summary = StageSummary(STAGE, outputs=[out_store.uri(out_name), fail_store.uri(failures_name())])
    report = LineReport()
    in_store, in_name = open_artifact(config.input_file or "")
    check_answers_match(in_store, in_name, out_store, rollout_step_file("requests", 1), policy=config.on_mismatch)
    answers = iter_answers(in_store, in_name, config, report=report)
    check_kept_requests(
        out_store,
        out_name,
        this_run=answers.custom_ids,
        covers_all=id_range(config).is_all,
        expected=lambda custom_id: body_settings(
            build_request(custom_id, "", temperature=pass_temperature(config, custom_id), settings=config).body
        ),
        policy=config.on_mismatch,
    )
    with KeyedRewrite(out_store, out_name) as requests, KeyedRewrite(fail_store, failures_name()) as failures:
        writers = StageWriters(summary, requests, failures, progress)
        process_items(
            build_step2_request, _items(config, template, answers), config.workflow, writers, total=len(answers)
        )
    summary.extra["bad_input_lines"] = len(report)
    return summary
