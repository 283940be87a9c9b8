"""The samples folder: one ``samples/{custom_id}.jsonl`` record per processed answer, the state of stage 3."""

from __future__ import annotations

import logging
from collections.abc import Iterator

from pydantic import ValidationError

from patchline.core.closing import Closing
from patchline.core.layout import rollout_sample
from patchline.core.store import ArtifactStore
from patchline.workflows.rollout.records import BugFixerSample, TestWriterSample

__all__ = ["SAMPLES_FOLDER", "SampleWriter", "iter_samples"]

log = logging.getLogger(__name__)

SAMPLES_FOLDER = "samples"


class SampleWriter(Closing):
    """Replaces sample files one at a time (each write is atomic); a failed custom_id loses its old sample."""

    def __init__(self, store: ArtifactStore) -> None:
        self.store = store
        self.written = 0

    def write_raw(self, custom_id: str, line: bytes) -> None:
        """Replace the sample of ``custom_id``."""
        self.store.write_bytes(rollout_sample(custom_id), line)
        self.written += 1

    def touch(self, custom_id: str) -> None:
        """Remove the sample of ``custom_id`` if an earlier run left one."""
        self.store.delete(rollout_sample(custom_id))


def iter_samples(store: ArtifactStore, kind: str) -> Iterator[BugFixerSample | TestWriterSample]:
    """Every readable sample of ``kind`` in the folder, in custom_id order; others are logged and skipped."""
    model: type[BugFixerSample] | type[TestWriterSample] = BugFixerSample if kind == "bugfixer" else TestWriterSample
    for name in store.list_files(SAMPLES_FOLDER):
        if not name.endswith(".jsonl"):
            continue
        try:
            yield model.model_validate_json(store.read_bytes(name).strip() or b"{}")
        except ValidationError as exc:
            log.warning("%s: not a %s sample, left out of the aggregates (%s)", store.uri(name), kind, exc.errors()[0])
