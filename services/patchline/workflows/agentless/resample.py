"""Resampling rounds of ``--process_batch``: which round is due, and its request file within the token budget.

Round ``r``'s requests go to ``requests-resample-{r}.jsonl`` in the output folder; their answers are appended
to the same response file as the first ones (the executor resumes an existing output and sends only what
it lacks), so the next ``--process_batch`` reads every round from one file. A round is written only when the
previous one has all its answers; until then a rerun says which file still waits to be sent.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from patchline.core import layout
from patchline.core.batch import iter_requests
from patchline.core.custom_id import decode_sample_id
from patchline.core.errors import InputError
from patchline.core.jsonl import dumps_line
from patchline.core.spec import MAX_RESAMPLE_ROUNDS, AgentlessStage
from patchline.core.store import ArtifactStore
from patchline.samples.resample import Budget, RoundState
from patchline.workflows.agentless.instance import InstanceOutcome
from patchline.workflows.agentless.responses import ResponseIndex

__all__ = ["ResampleReport", "ResampleWriter", "existing_rounds", "resample_state"]


def existing_rounds(store: ArtifactStore) -> Iterator[str]:
    """The request files of the resampling rounds written so far, in round order."""
    for number in range(1, MAX_RESAMPLE_ROUNDS + 1):
        name = layout.agentless_resample_requests(number)
        if not store.exists(name):
            return
        yield name


def _unanswered(store: ArtifactStore, name: str, responses: ResponseIndex) -> int:
    missing = 0
    for _, request in iter_requests(store.iter_lines(name), source=store.uri(name)):
        try:
            sample = decode_sample_id(request.custom_id)
        except InputError:
            continue
        missing += 0 if responses.answered(sample.instance_id, sample.index) else 1
    return missing


def resample_state(store: ArtifactStore, settings: AgentlessStage, responses: ResponseIndex) -> RoundState:
    """Where resampling stands in this output folder (every written round, the last one's open requests)."""
    rounds = list(existing_rounds(store))
    waiting = _unanswered(store, rounds[-1], responses) if rounds else 0
    return RoundState(written=len(rounds), waiting=waiting, limit=settings.workflow.selection.resample_invalid)


@dataclass
class ResampleReport:
    """What resampling did in a run: the round written (or waiting), its requests, what the budget held back."""

    round: int | None = None
    requests: int = 0
    instances: int = 0
    over_budget: int = 0
    waiting: int = 0
    file: str = ""
    tokens_used: int = 0
    notes: list[str] = field(default_factory=list)

    @property
    def pending(self) -> int:
        """Requests to send before the next processing: this round's, or the last round's still unanswered."""
        return self.requests or self.waiting

    def describe(self, batch_output: str) -> list[str]:
        """Summary lines, with the command that sends the round."""
        lines = list(self.notes)
        if self.requests:
            lines.append(
                f"resampling round {self.round}: {self.requests} requests for {self.instances} instances without a "
                f"valid sample in {self.file}; send them with `patchline infer process_batch_requests --input_file "
                f"{self.file} --output_file {batch_output} --url ...`, then run --process_batch again"
            )
        if self.over_budget:
            lines.append(f"resampling: {self.over_budget} instances left out, over the token budget")
        if self.waiting:
            lines.append(
                f"resampling round {self.round}: {self.waiting} requests in {self.file} have no answer in "
                f"{batch_output} yet: send them, then run --process_batch again"
            )
        return lines


class ResampleWriter:
    """Collects the requests instances ask for, then writes the round's file within the budget."""

    def __init__(self, store: ArtifactStore, settings: AgentlessStage, state: RoundState) -> None:
        self._store, self._settings, self._state = store, settings, state
        self._wanted: list[InstanceOutcome] = []
        self.report = ResampleReport()
        if state.waiting:
            self.report.round, self.report.waiting = state.written, state.waiting
            self.report.file = store.uri(layout.agentless_resample_requests(state.written))

    @property
    def round(self) -> int | None:
        """The round instances may ask for now (None: none is due)."""
        return self._state.next_round

    def add(self, outcome: InstanceOutcome) -> None:
        """Keep an instance's requests for the round and count the tokens its resampled samples used."""
        self.report.tokens_used += sum(s.tokens for s in outcome.samples if s.round > 0)
        if outcome.resample:
            self._wanted.append(outcome)

    def finish(self) -> ResampleReport:
        """Write the round's request file (nothing when no instance needs one)."""
        number = self.round
        if number is None or not self._wanted:
            return self.report
        budget = Budget(self._settings.workflow.selection, spent=self.report.tokens_used)
        name = layout.agentless_resample_requests(number)
        with self._store.atomic_writer(name) as out:
            for outcome in self._wanted:
                if not budget.take(outcome.resample_estimate, len(outcome.resample)):
                    continue
                out.write(b"".join(dumps_line(line) for line in outcome.resample))
                self.report.requests += len(outcome.resample)
                self.report.instances += 1
        self.report.over_budget = budget.refused
        if not self.report.requests:
            self._store.delete(name)
            return self.report
        self.report.round, self.report.file = number, self._store.uri(name)
        return self.report
