"""``patchline run``: a Rollout or InferenceRun walked by the stage driver, in process or through the services.

A rerun resumes at the first stage without a Succeeded record; inside a stage, the operations resume from
their own artifacts. The model is started only if a stage that needs it is still to run.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field

from patchline.core.errors import InputError
from patchline.core.progress import NullProgress, Progress
from patchline.core.settings import ClientAuthFiles, KeySets, StorageConfig
from patchline.core.spec import InferenceRun, OracleEngine, Phase, Rollout, StageStatus
from patchline.core.store import ArtifactStore
from patchline.pipeline.driver import drive
from patchline.pipeline.local import LocalBackend
from patchline.pipeline.operations import StageFailedError
from patchline.pipeline.plan import plan_run, run_root
from patchline.pipeline.record import FileBook, write_manifest

__all__ = ["RunReport", "RunnerSettings", "StageFailedError", "answered_by_oracle", "run_manifest"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RunnerSettings:
    """How ``patchline run`` executes a manifest."""

    base: str = "./results"  # where relative outputs resolve
    via: str | None = None  # host:port of `patchline serve`; None runs stages in this process
    endpoint_override: str | None = None  # send inference to this URL instead of the spec's engine
    oracle: bool = False  # answer with the oracle server instead of the spec's engine (no GPU, no key)
    oracle_dataset: str | None = None  # the oracle's gold data; None: the run's dataset
    storage: StorageConfig | None = None
    watch_deadline_s: float = 7 * 24 * 3600.0
    key_sets: KeySets = field(default_factory=KeySets)  # in process: the key sets a manifest's apiKeySet may name
    auth: ClientAuthFiles = field(default_factory=ClientAuthFiles)  # --via: TLS and token (over the environment's)


@dataclass
class RunReport:
    """What a run did: its root, each stage's record, and which were done by an earlier run."""

    run_uri: str
    stages: list[StageStatus] = field(default_factory=list)
    reused: set[str] = field(default_factory=set)

    def artifacts(self) -> dict[str, str]:
        """Every artifact the stages reported, later stages winning on a shared name."""
        found: dict[str, str] = {}
        for record in self.stages:
            found.update(record.artifacts)
        return found


def answered_by_oracle(run: Rollout | InferenceRun, dataset: str | None) -> Rollout | InferenceRun:
    """``run`` with the oracle server as its engine; requests still name the engine's model.

    The oracle answers from ``dataset``, by default the run's own (an EditBench run's: the prompts its first
    stage builds). An InferenceRun has no dataset, so it must be given one.
    """
    if dataset is None and isinstance(run, InferenceRun):
        raise InputError(
            "the oracle needs gold data to answer an InferenceRun: name the instances its requests are about "
            "(patchline run --oracle-dataset FILE)"
        )
    engine = OracleEngine(type="oracle", model=run.spec.engine.model_name, dataset=dataset)
    return run.model_copy(update={"spec": run.spec.model_copy(update={"engine": engine})})


async def run_manifest(
    run: Rollout | InferenceRun, settings: RunnerSettings, *, progress: Progress | None = None
) -> RunReport:
    """Run every unfinished stage of ``run`` in order; raise StageFailedError at the first failed one."""
    if settings.oracle:
        if settings.endpoint_override is not None:
            raise InputError("answer with the oracle or with an endpoint, not both")
        run = answered_by_oracle(run, settings.oracle_dataset)
    run_uri = run_root(run, settings.base)
    store = ArtifactStore(run_uri, config=settings.storage)
    plan = plan_run(run, base=settings.base)
    dataset = run.spec.dataset.source if isinstance(run, Rollout) else None
    await asyncio.to_thread(write_manifest, store, run, plan, dataset=dataset)

    async def record_server(args: tuple[str, ...]) -> None:
        await asyncio.to_thread(write_manifest, store, run, plan, server_args=args, dataset=dataset)

    backend = LocalBackend(
        run,
        store=store,
        progress=progress or NullProgress(),
        via=settings.via,
        endpoint_override=settings.endpoint_override,
        watch_deadline_s=settings.watch_deadline_s,
        on_server=record_server,
        key_sets=settings.key_sets,
        auth=settings.auth,
    )
    async with backend:
        result = await drive(plan, FileBook(store), backend)
    for name in sorted(result.reused):
        log.info("stage %s: done in an earlier run, skipped", name)
    if result.phase is not Phase.SUCCEEDED:
        raise StageFailedError(
            f"stage {result.message}; the work done so far is kept: once the cause is fixed (the endpoint, the data, "
            "the settings), the same command resumes at this stage"
        )
    return RunReport(run_uri, result.records, result.reused)
