"""A user's own selection strategy, as a researcher would write one (imported by name in the tests)."""

from __future__ import annotations

from collections.abc import Sequence

from patchline.core.samples import SampleRecord


def last_sample(samples: Sequence[SampleRecord]) -> int | None:
    """The highest sample index that has a patch (None when none has)."""
    with_patch = [s.sample for s in samples if s.model_patch]
    return max(with_patch) if with_patch else None
