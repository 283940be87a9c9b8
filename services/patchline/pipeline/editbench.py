"""EditBench inference in one process (the seed-compatible ``patchline editbench run``): per (infbench file,
model, run id), :meth:`EditBenchRun.prepare`, then the gateway's executor and :meth:`EditBenchRun.collect` per
round until no round is pending. ``patchline run`` drives the same steps as stages instead.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from patchline.core import layout
from patchline.core.progress import NullProgress, Progress
from patchline.core.settings import ApiKeys
from patchline.core.spec import EditBenchWorkflow, ExecutorSettings, ModelEndpoints, Selection
from patchline.core.store import ArtifactStore
from patchline.gateway import run_file
from patchline.workflows.editbench import MODEL_CONFIGS, EditBenchRun, ModelConfig, RoundReport

__all__ = ["RunOptions", "RunSummary", "run_editbench", "run_matrix"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RunOptions:
    """What ``patchline editbench run`` needs besides (dataset, model, run_id)."""

    endpoints: ModelEndpoints
    root: str = "."
    keys: ApiKeys | None = None
    executor: ExecutorSettings = field(default_factory=ExecutorSettings)
    sampled_ids: frozenset[str] | None = None
    max_rounds: int = field(default_factory=lambda: EditBenchWorkflow().max_rounds)
    recover_diffs: bool = False  # repair messy model diffs (records say what was repaired); strict by default
    configs: Mapping[str, ModelConfig] = field(default_factory=lambda: MODEL_CONFIGS)
    selection: Selection = field(default_factory=Selection)  # which choice becomes the prediction


@dataclass
class RunSummary:
    """What one (dataset, model, run_id) run did: its rounds' counts summed into ``totals``, and the requests
    it sent (``totals.pending`` is what the last round left, nothing once the run is complete)."""

    input_uri: str
    output_uri: str
    model: str
    config_known: bool
    sent: int = 0
    totals: RoundReport = field(default_factory=RoundReport)

    def add(self, report: RoundReport) -> None:
        """Fold in one prepare or collect (answers harvested from a dead run count as succeeded now)."""
        totals = self.totals
        totals.total = max(totals.total, report.total)
        totals.already_done += report.already_done - report.harvested
        totals.succeeded += report.succeeded + report.harvested
        totals.failed += report.failed
        totals.shrunk += report.shrunk
        totals.harvested += report.harvested
        totals.repaired += report.repaired
        totals.pending = report.pending
        totals.cost += report.cost


def run_editbench(
    dataset_name: str, model: str, run_id: str, options: RunOptions, *, progress: Progress | None = None
) -> RunSummary:
    """Run ``model`` on one infbench file (a ``.jsonl`` path, or the layout name of ``dataset_name`` and
    ``run_id`` below the root) and leave one record per instance in its result file."""
    progress = progress or NullProgress()
    if dataset_name.endswith(".jsonl"):
        infbench = dataset_name
    else:
        infbench = ArtifactStore(options.root).uri(layout.editbench_infbench(dataset_name, run_id))
    run = EditBenchRun(
        options.root,
        infbench,
        model,
        sampled_ids=options.sampled_ids,
        max_rounds=options.max_rounds,
        recover_diffs=options.recover_diffs,
        configs=options.configs,
        selection=options.selection,
        hooks=True,  # the seed-compatible command runs in the user's own process
    )
    summary = RunSummary(run.in_store.uri(run.in_name), run.output_uri, model, run.config.known)
    report = run.prepare()
    if not run.config.known:
        log.warning("model %s is not in the sampling table: using the defaults %s", model, run.config)
    summary.add(report)
    number = 0
    while report.pending:
        summary.sent += report.pending
        requests, responses = run.round_files(number)
        run_file(
            requests,
            responses,
            endpoints=options.endpoints,
            keys=options.keys,
            settings=options.executor,
            progress=progress,
        )
        report = run.collect(number)
        summary.add(report)
        number += 1
    return summary


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
