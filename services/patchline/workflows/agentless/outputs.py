"""The files ``--process_batch`` writes, each replaced atomically at the end of a run.

``output.jsonl``, every ``output_{i}_processed.jsonl`` and ``predictions.jsonl`` are written through
atomic writers while results stream in; at the end the records of instances this run did not process
are copied over from the previous files, so a rerun replaces records by instance_id and never
duplicates one. Per-instance logs (``repair_logs/{instance_id}.log``) are replaced one by one.

``predictions.jsonl`` holds one line per instance: the sample chosen by ``predictions_sample``
(default ``first-nonempty``: the lowest sample index with a non-empty ``model_patch``; if none has
one, the instance's first requested sample, with an empty patch, so every instance is listed).
"""

from __future__ import annotations

import contextlib
import logging
from types import TracebackType
from typing import IO

from patchline.core import layout
from patchline.core.jsonl import dumps_line, load_json
from patchline.core.predictions import Prediction
from patchline.core.spec import FIRST_NONEMPTY, AgentlessStage
from patchline.core.store import ArtifactStore
from patchline.workflows.agentless.instance import InstanceOutcome
from patchline.workflows.agentless.records import AGENTLESS_MODEL_NAME

__all__ = ["OutputWriters", "choose_prediction"]

log = logging.getLogger(__name__)


def choose_prediction(outcome: InstanceOutcome, settings: AgentlessStage) -> Prediction:
    """The prediction of one instance, by ``settings.workflow.predictions_sample`` (see the module docstring)."""
    records = outcome.processed
    if settings.workflow.predictions_sample == FIRST_NONEMPTY:
        chosen = next((r for r in records if r.model_patch), None)
        if chosen is None:
            chosen = records[min(settings.first_sample, len(records) - 1)]
    else:
        chosen = records[int(settings.workflow.predictions_sample)]  # below max_samples: checked by the settings
    return Prediction(
        instance_id=outcome.instance_id, model_name_or_path=AGENTLESS_MODEL_NAME, model_patch=chosen.model_patch
    )


class OutputWriters:
    """Writers of the run's whole-file outputs (a context manager; call :meth:`finish` before leaving)."""

    def __init__(self, store: ArtifactStore, settings: AgentlessStage) -> None:
        self._store = store
        self._settings = settings
        self._stack = contextlib.ExitStack()
        self._done: set[str] = set()
        self._names = [layout.agentless_output(), layout.PREDICTIONS]
        self._names += [layout.agentless_processed(i) for i in range(settings.sampling.samples)]
        self._files: dict[str, IO[bytes]] = {}
        self.predictions = 0

    def __enter__(self) -> OutputWriters:
        for name in self._names:
            self._files[name] = self._stack.enter_context(self._store.atomic_writer(name))
        return self

    def write(self, outcome: InstanceOutcome) -> None:
        """Write one instance's records and its log."""
        if outcome.instance_id in self._done:
            return
        self._done.add(outcome.instance_id)
        self._files[layout.agentless_output()].write(dumps_line(outcome.raw))
        for index, record in enumerate(outcome.processed):
            self._files[layout.agentless_processed(index)].write(dumps_line(record))
        self._files[layout.PREDICTIONS].write(dumps_line(choose_prediction(outcome, self._settings)))
        self.predictions += 1
        self._store.write_text(layout.agentless_log(outcome.instance_id), outcome.log)

    def finish(self) -> int:
        """Copy over the previous records of instances not processed now; return the predictions written."""
        for name in self._names:
            carried = self._carry_over(name)
            if name == layout.PREDICTIONS:
                self.predictions += carried
        return self.predictions

    def _carry_over(self, name: str) -> int:
        out = self._files[name]
        count = 0
        seen = set(self._done)  # the original appended duplicates: carry each instance's first record only
        for line in self._store.iter_lines(name, missing_ok=True):
            try:
                record = load_json(line)
            except ValueError:  # not JSON, not UTF-8, or nested too deeply
                log.warning("%s: dropping a line that is not JSON", self._store.uri(name))
                continue
            instance_id = record.get("instance_id") if isinstance(record, dict) else None
            if not isinstance(instance_id, str) or instance_id in seen:
                continue
            seen.add(instance_id)
            out.write(line if line.endswith(b"\n") else line + b"\n")
            count += 1
        return count

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._stack.__exit__(exc_type, exc, tb)
