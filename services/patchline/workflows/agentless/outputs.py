"""The Agentless files ``--process_batch`` writes, each replaced atomically at the end of a run.

``output.jsonl``, every ``output_{i}_processed.jsonl`` and ``output_{i}_normalized.jsonl`` (the processed
record with its ``normalized_patch``, the original's rerank input) are written through atomic writers
while results stream in; at the end the records of instances this run did not process are copied over
from the previous files, so a rerun replaces records by instance_id and never duplicates one.
Per-instance logs (``repair_logs/{instance_id}.log``) are replaced one by one. The sample table, the
selection record and the predictions files are :class:`patchline.samples.outputs.SampleOutputs`'.
"""

from __future__ import annotations

import contextlib
from types import TracebackType
from typing import IO

from patchline.core import layout
from patchline.core.jsonl import carry_over_records, dumps_line
from patchline.core.spec import AgentlessStage
from patchline.core.store import ArtifactStore
from patchline.workflows.agentless.instance import InstanceOutcome
from patchline.workflows.agentless.records import NormalizedRecord

__all__ = ["OutputWriters"]


class OutputWriters:
    """Writers of the run's whole-file outputs (a context manager; call :meth:`finish` before leaving)."""

    def __init__(self, store: ArtifactStore, settings: AgentlessStage) -> None:
        self._store = store
        self._settings = settings
        self._stack = contextlib.ExitStack()
        self._done: set[str] = set()
        self._names = [layout.AGENTLESS_OUTPUT]
        for i in range(settings.sampling.samples):
            self._names += [layout.agentless_processed(i), layout.agentless_normalized(i)]
        self._files: dict[str, IO[bytes]] = {}

    def __enter__(self) -> OutputWriters:
        for name in self._names:
            self._files[name] = self._stack.enter_context(self._store.atomic_writer(name))
        return self

    def write(self, outcome: InstanceOutcome) -> None:
        """Write one instance's records and its log."""
        if outcome.instance_id in self._done:
            return
        self._done.add(outcome.instance_id)
        self._files[layout.AGENTLESS_OUTPUT].write(dumps_line(outcome.raw))
        for index, (record, normalized) in enumerate(zip(outcome.processed, outcome.normalized, strict=True)):
            self._files[layout.agentless_processed(index)].write(dumps_line(record))
            with_form = NormalizedRecord(**record.model_dump(), normalized_patch=normalized)
            self._files[layout.agentless_normalized(index)].write(dumps_line(with_form))
        self._store.write_text(layout.agentless_log(outcome.instance_id), outcome.log)

    def finish(self) -> None:
        """Copy over the previous records of instances not processed now."""
        for name in self._names:
            self._carry_over(name)

    def _carry_over(self, name: str) -> None:
        # the original appended duplicates: carry each instance's first record only
        lines = self._store.iter_lines(name, missing_ok=True)
        carry_over_records(lines, self._files[name], skip=self._done, source=self._store.uri(name), first_only=True)

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._stack.__exit__(exc_type, exc, tb)
