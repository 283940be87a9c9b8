"""The stage driver's rules, written once: what is skipped, what fails a run, what waits, what repeats."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import pytest

from patchline.core.spec import (
    EditBenchStage,
    InferenceStage,
    ModelEndpoints,
    Phase,
    ProgressCounts,
    StageSettings,
    StageStatus,
)
from patchline.pipeline.catalog import EDITBENCH_COLLECT, GATEWAY_EXECUTE, OperationRef
from patchline.pipeline.driver import StageOutcome, counts_from, drive, judge
from patchline.pipeline.plan import PlanItem, RoundsPlan, StagePlan

pytestmark = pytest.mark.unit

BENCH = EditBenchStage.model_validate({"dataset": {"source": "bench.jsonl"}})
ENDPOINTS = ModelEndpoints(urls=["http://127.0.0.1:1"], model="m")


class Book:
    """Records in memory (what FileBook and StatusBook keep on disk and in status)."""

    def __init__(self, *records: StageStatus) -> None:
        self.records = {r.name: r for r in records}

    async def get(self, name: str) -> StageStatus | None:
        return self.records.get(name)

    async def put(self, record: StageStatus) -> None:
        self.records[record.name] = record


@dataclass
class Backend:
    """Answers each stage from a script (stage name -> outcome); records what ran with which settings."""

    script: dict[str, Callable[[StageSettings], StageOutcome]]
    ready: bool = True
    ran: list[tuple[str, StageSettings]] = field(default_factory=list)
    attempts: list[tuple[str, bool]] = field(default_factory=list)  # (stage, new_attempt) of each call

    async def endpoints(self) -> ModelEndpoints | None:
        return ENDPOINTS if self.ready else None

    async def run(self, stage: StagePlan, settings: StageSettings, *, new_attempt: bool) -> StageOutcome:
        self.ran.append((stage.name, settings))
        self.attempts.append((stage.name, new_attempt))
        return self.script[stage.name](settings)


def ok(succeeded: int = 1, **counts: int) -> Callable[[StageSettings], StageOutcome]:
    return lambda _: StageOutcome(Phase.SUCCEEDED, counts_from({"succeeded": succeeded, **counts}), message="fine")


def plan(*names: str) -> list[PlanItem]:
    return [
        StagePlan(n, GATEWAY_EXECUTE, InferenceStage(input="i", output="o"))
        if n.startswith("infer")
        else StagePlan(n, OperationRef(f"x.{n}", "prompts", EditBenchStage), BENCH)
        for n in names
    ]


async def test_a_walk_runs_every_stage_and_fills_the_endpoints_of_inference() -> None:
    backend = Backend({"build": ok(), "infer": ok(), "process": ok()})
    result = await drive(plan("build", "infer", "process"), Book(), backend)
    assert result.phase is Phase.SUCCEEDED and [r.name for r in result.records] == ["build", "infer", "process"]
    settings = dict(backend.ran)["infer"]
    assert isinstance(settings, InferenceStage) and settings.endpoints == ENDPOINTS
    assert all(r.phase is Phase.SUCCEEDED and r.started_at and r.finished_at for r in result.records)


async def test_done_stages_are_skipped_and_failed_ones_retried() -> None:
    book = Book(
        StageStatus(name="build", phase=Phase.SUCCEEDED),
        StageStatus(name="infer", phase=Phase.FAILED, message="earlier"),
    )
    backend = Backend({"infer": ok(), "process": ok()})
    result = await drive(plan("build", "infer", "process"), book, backend)
    assert [name for name, _ in backend.ran] == ["infer", "process"] and result.reused == {"build"}
    assert book.records["infer"].phase is Phase.SUCCEEDED


@pytest.mark.parametrize(
    ("counts", "why"),
    [
        ({"succeeded": 0, "failed": 3, "total": 3}, "none of 3 items succeeded"),
        ({"succeeded": 0}, "nothing to work on"),
    ],
)
async def test_a_stage_in_which_no_item_succeeded_fails_the_run(counts: dict[str, int], why: str) -> None:
    backend = Backend({"build": ok(), "infer": ok(**counts), "process": ok()})
    result = await drive(plan("build", "infer", "process"), Book(), backend)
    assert result.phase is Phase.FAILED and result.stage == "infer" and why in result.message
    assert [name for name, _ in backend.ran] == ["build", "infer"]  # later stages would only see nothing


def test_items_pending_for_the_next_round_keep_the_stage_going() -> None:
    phase, _ = judge(StageOutcome(Phase.SUCCEEDED, counts_from({"succeeded": 0, "failed": 4, "pending": 2})))
    assert phase is Phase.SUCCEEDED  # e.g. no valid sample yet, resampling requests written


def test_items_done_by_an_earlier_run_count_as_succeeded() -> None:
    phase, _ = judge(StageOutcome(Phase.SUCCEEDED, counts_from({"succeeded": 0, "skipped": 4, "total": 4})))
    assert phase is Phase.SUCCEEDED
    assert judge(StageOutcome(Phase.FAILED, message="boom")) == (Phase.FAILED, "boom")


async def test_an_inference_stage_waits_for_the_model() -> None:
    backend = Backend({"build": ok()}, ready=False)
    result = await drive(plan("build", "infer", "process"), Book(), backend)
    assert result.phase is Phase.PROVISIONING and result.stage == "infer" and "waiting" in result.message


async def test_a_running_stage_stops_the_walk_and_keeps_its_start_time() -> None:
    book = Book()
    running = StageOutcome(Phase.RUNNING, ProgressCounts(succeeded=1, total=4), message="1/4")
    backend = Backend({"build": lambda _: running})
    first = await drive(plan("build", "infer"), book, backend)
    assert first.phase is Phase.RUNNING and book.records["build"].finished_at is None
    started = book.records["build"].started_at
    backend.script["build"] = ok()
    backend.script["infer"] = ok()
    second = await drive(plan("build", "infer"), book, backend)
    assert second.phase is Phase.SUCCEEDED and book.records["build"].started_at == started
    assert backend.attempts == [("build", True), ("build", False), ("infer", True)]


def _with(stage: StagePlan, **workflow: object) -> StagePlan:
    settings = stage.settings.model_copy(update={"workflow": BENCH.workflow.model_copy(update=workflow)})
    return StagePlan(stage.name, stage.operation, settings)


async def test_a_stage_done_with_other_settings_runs_again_and_so_does_every_stage_after_it() -> None:
    book = Book()
    backend = Backend({"build": ok(), "infer": ok(), "process": ok()})
    await drive(plan("build", "infer", "process"), book, backend)
    assert all(record.settings_digest for record in book.records.values())
    backend.ran.clear()
    again = await drive(plan("build", "infer", "process"), book, backend)
    assert backend.ran == [] and again.reused == {"build", "infer", "process"}  # nothing changed: all done

    build, infer, process = plan("build", "infer", "process")
    edited = [_with(build, topn=3), infer, process]  # build's settings changed; infer's did not
    result = await drive(edited, book, backend)
    assert result.phase is Phase.SUCCEEDED and [name for name, _ in backend.ran] == ["build", "infer", "process"]
    assert result.reused == set() and backend.attempts[-3:] == [("build", True), ("infer", True), ("process", True)]
    backend.ran.clear()
    await drive(edited, book, backend)
    assert backend.ran == []  # the records now hold the new settings


async def test_how_a_stage_runs_is_not_a_change_of_settings_and_old_records_are_reused() -> None:
    infer = StagePlan("infer", GATEWAY_EXECUTE, InferenceStage(input="i", output="o"))
    book = Book()
    backend = Backend({"infer": ok()})
    await drive([infer], book, backend)
    faster = InferenceStage.model_validate(
        {"input": "i", "output": "o", "executor": {"concurrency": 64}, "onMismatch": "restart"}
    )
    backend.ran.clear()
    assert (await drive([StagePlan("infer", GATEWAY_EXECUTE, faster)], book, backend)).reused == {"infer"}
    older = Book(StageStatus(name="infer", phase=Phase.SUCCEEDED))  # a record without a digest
    assert (await drive([infer], older, backend)).reused == {"infer"} and backend.ran == []


async def test_a_running_stage_whose_settings_changed_is_a_new_attempt() -> None:
    book = Book()
    backend = Backend({"build": lambda _: StageOutcome(Phase.RUNNING)})
    (build,) = plan("build")
    await drive([build], book, backend)
    started = book.records["build"].started_at
    await drive([_with(build, topn=4)], book, backend)
    assert backend.attempts == [("build", True), ("build", True)] and book.records["build"].started_at != started


async def test_rounds_run_while_items_are_pending_and_stop_at_the_limit() -> None:
    def round_stages(number: int) -> list[StagePlan]:
        settings = BENCH.model_copy(update={"round": number})
        return [
            StagePlan(f"infer_r{number}", GATEWAY_EXECUTE, InferenceStage(input=f"{number}", output="o")),
            StagePlan(f"collect_r{number}", EDITBENCH_COLLECT, settings),
        ]

    pending = {0: 3, 1: 1, 2: 0}
    script: dict[str, Callable[[StageSettings], StageOutcome]] = {"prepare": ok(pending=2), "merge": ok()}
    for number, left in pending.items():
        script[f"infer_r{number}"] = ok()
        script[f"collect_r{number}"] = ok(pending=left)
    rounds: list[PlanItem] = [*plan("prepare"), RoundsPlan("rounds", round_stages, max_rounds=5), *plan("merge")]
    result = await drive(rounds, Book(), Backend(script))
    names = [r.name for r in result.records]
    assert names == ["prepare", "infer_r0", "collect_r0", "infer_r1", "collect_r1", "infer_r2", "collect_r2", "merge"]
    capped = await drive(
        [*plan("prepare"), RoundsPlan("rounds", round_stages, max_rounds=1), *plan("merge")], Book(), Backend(script)
    )
    assert [r.name for r in capped.records] == ["prepare", "infer_r0", "collect_r0", "merge"]
    nothing = await drive(rounds, Book(), Backend({**script, "prepare": ok(pending=0)}))
    assert [r.name for r in nothing.records] == ["prepare", "merge"]
