"""The sample files of a stage, written as instances finish: table, selection, predictions, per-sample predictions.

``samples.jsonl`` (one row per sample), ``selection.jsonl`` (one record per instance), ``predictions.jsonl``
(the selected sample of each instance) and ``predictions/sample_{i}.jsonl`` (sample i of every instance that
has one: pass@k input for the SWE-bench harness) are written through atomic writers while results stream in.
:meth:`SampleOutputs.finish` then either carries over the previous lines of instances this run did not
process (a rerun replaces records by instance_id, never duplicates them) or, for a stage that rebuilds
everything from its state, removes per-sample files no sample of this run has.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from types import TracebackType
from typing import IO

from patchline.core.jsonl import carry_over_records, dumps_line
from patchline.core.layout import SampleFiles
from patchline.core.predictions import Prediction
from patchline.core.samples import SampleRecord
from patchline.core.store import ArtifactStore
from patchline.samples.selection import Choice, Strategy

__all__ = ["SampleOutputs", "SelectionCounts"]


@dataclass
class SelectionCounts:
    """What selection did over a run: instances, predictions made, fallbacks, instances without any valid sample."""

    strategy: str = ""
    instances: int = 0
    predictions: int = 0
    empty: int = 0
    fallbacks: int = 0
    without_valid: list[str] = field(default_factory=list)

    def add(self, choice: Choice) -> None:
        """Count one instance's choice."""
        self.instances += 1
        self.predictions += 1
        self.empty += 0 if choice.patch else 1
        self.fallbacks += 1 if choice.record.fallback else 0
        if not choice.record.valid_samples:
            self.without_valid.append(choice.record.instance_id)

    def describe(self) -> str:
        """One summary line."""
        return (
            f"selection ({self.strategy}): {self.instances} instances, {self.empty} with an empty prediction, "
            f"{self.fallbacks} by fallback, {len(self.without_valid)} without a valid sample"
        )


class SampleOutputs:
    """Writers of one stage's sample files (a context manager; call :meth:`finish` before leaving)."""

    def __init__(
        self,
        store: ArtifactStore,
        files: SampleFiles,
        *,
        strategy: Strategy,
        strategy_name: str,
        model_name: str,
        predictions: bool = True,
        model_of_sample: bool = False,
    ) -> None:
        """``predictions``: write the predictions files too (a TestWriter's samples are tests, not fixes);
        ``model_of_sample``: name a prediction's model after the model that answered, when known."""
        self._store, self._files, self._strategy, self._model_name = store, files, strategy, model_name
        self._with_predictions, self._model_of_sample = predictions, model_of_sample
        self._stack = contextlib.ExitStack()
        self._main: dict[str, IO[bytes]] = {}
        self._per_sample: dict[int, IO[bytes]] = {}
        self._done: set[str] = set()
        self.counts = SelectionCounts(strategy=strategy_name)

    def __enter__(self) -> SampleOutputs:
        names = [self._files.table, self._files.selection]
        names += [self._files.predictions] if self._with_predictions else []
        for name in names:
            self._main[name] = self._stack.enter_context(self._store.atomic_writer(name))
        return self

    def _sample_file(self, sample: int) -> IO[bytes]:
        if sample not in self._per_sample:
            writer = self._store.atomic_writer(self._files.per_sample(sample))
            self._per_sample[sample] = self._stack.enter_context(writer)
        return self._per_sample[sample]

    def write(self, instance_id: str, samples: Sequence[SampleRecord]) -> Choice:
        """Write one instance's rows, choose its prediction and write why; returns the choice."""
        choice = self._strategy(samples)
        self._done.add(instance_id)
        self._main[self._files.table].write(b"".join(dumps_line(s) for s in sorted(samples, key=lambda s: s.sample)))
        self._main[self._files.selection].write(dumps_line(choice.record))
        self.counts.add(choice)
        if not self._with_predictions:
            return choice
        chosen = next((s for s in samples if s.sample == choice.record.chosen_sample), None)
        self._main[self._files.predictions].write(dumps_line(self._prediction(instance_id, choice.patch, chosen)))
        for sample in samples:
            prediction = self._prediction(instance_id, sample.model_patch, sample)
            self._sample_file(sample.sample).write(dumps_line(prediction))
        return choice

    def _prediction(self, instance_id: str, patch: str, sample: SampleRecord | None) -> Prediction:
        model = (sample.model if sample is not None and self._model_of_sample else None) or self._model_name
        return Prediction(instance_id=instance_id, model_name_or_path=model, model_patch=patch)

    def finish(self, *, carry_over: bool) -> SelectionCounts:
        """Carry over the previous lines of instances not written now, or (``carry_over`` False) drop them."""
        existing = self._existing_per_sample() if self._with_predictions else set()
        if carry_over:
            for sample in existing:
                self._sample_file(sample)
            for name, out in [
                *self._main.items(),
                *((self._files.per_sample(i), f) for i, f in self._per_sample.items()),
            ]:
                carried = self._carry_over(name, out)
                if name == self._files.predictions:
                    self.counts.predictions += carried
        else:
            for sample in existing - self._per_sample.keys():
                self._store.delete(self._files.per_sample(sample))
        return self.counts

    def _existing_per_sample(self) -> set[int]:
        found = (self._files.sample_of(name) for name in self._store.list_files(self._files.per_sample_folder))
        return {sample for sample in found if sample is not None}

    def _carry_over(self, name: str, out: IO[bytes]) -> int:
        lines = self._store.iter_lines(name, missing_ok=True)
        return carry_over_records(lines, out, skip=self._done, source=self._store.uri(name))

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._stack.__exit__(exc_type, exc, tb)
