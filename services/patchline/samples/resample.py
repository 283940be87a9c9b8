"""Resampling what is invalid: which sample indices a round adds, which round comes next, what the budget allows.

After processing, an instance with no valid sample gets ``resample_samples`` new samples (same prompt, new
sample indices, so the server's prefix cache serves them), for at most ``resample_invalid`` rounds, while
the tokens the rounds use stay within ``resample_token_budget``. Round ``r`` (from 1) of an instance with
``planned`` samples holds the indices ``planned + (r - 1) * per_round`` up to ``planned + r * per_round - 1``,
so a rerun computes the same requests and every round stays in the sample table.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from patchline.core.samples import SampleRecord
from patchline.core.spec import Selection

__all__ = ["Budget", "RoundState", "estimate_tokens", "needs_resampling", "round_of", "round_samples"]


def round_of(sample: int, *, planned: int, per_round: int) -> int:
    """The round a sample index belongs to: 0 for the planned ones, r for those resampling round r added."""
    return 0 if sample < planned else 1 + (sample - planned) // per_round


def round_samples(round_number: int, *, planned: int, per_round: int) -> range:
    """The sample indices resampling round ``round_number`` (from 1) adds to an instance."""
    start = planned + (round_number - 1) * per_round
    return range(start, start + per_round)


def needs_resampling(samples: Sequence[SampleRecord]) -> bool:
    """True when no sample of the instance is valid."""
    return not any(sample.valid for sample in samples)


def estimate_tokens(samples: Sequence[SampleRecord], *, max_tokens: int) -> int:
    """Tokens one more sample of this instance is expected to use: the mean of its answered samples (the
    prompt is the same), else the completion limit."""
    used = [sample.tokens for sample in samples if sample.tokens]
    return round(sum(used) / len(used)) if used else max_tokens


@dataclass(frozen=True)
class RoundState:
    """Where resampling stands: rounds written so far, unanswered requests of the last, the next round to write."""

    written: int  # rounds whose request files exist (1..written)
    waiting: int  # requests of round ``written`` without an answer yet
    limit: int  # selection.resample_invalid

    @property
    def next_round(self) -> int | None:
        """The round to write now, or None (the last one still waits for answers, or no round is left)."""
        if self.waiting or self.written >= self.limit:
            return None
        return self.written + 1


class Budget:
    """The tokens resampling may still use: the limit less what resample rounds used so far."""

    def __init__(self, selection: Selection, *, spent: int) -> None:
        self.limit = selection.resample_token_budget
        self.spent = spent
        self.committed = 0
        self.refused = 0

    def take(self, estimate: int, requests: int) -> bool:
        """Reserve ``requests`` requests of ``estimate`` tokens each, if they fit; False (counted) when not."""
        cost = estimate * requests
        if self.limit is not None and self.spent + self.committed + cost > self.limit:
            self.refused += 1
            return False
        self.committed += cost
        return True
