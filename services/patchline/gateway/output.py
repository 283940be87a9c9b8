"""The output file as the state of a batch: what is already done, whether it answers these requests, folding.

The functions stream the files (local or object storage, parts included) and run in a worker thread:
they hold one small entry per custom_id (a digest and fingerprint in an :class:`IdMap`, or an int),
never the lines. A final line counts as done only for the request it was made for: :func:`check_resume`
compares the fingerprints the output's lines carry with the requests of the input.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass

from patchline.core.batch import iter_raw_requests, iter_responses
from patchline.core.errors import MalformedLineError
from patchline.core.fingerprint import Mismatch, combined_tag, line_fingerprints, request_fingerprint
from patchline.core.jsonl import iter_jsonl
from patchline.core.store import ArtifactStore
from patchline.gateway.idmap import IdMap

__all__ = ["CompactionReport", "ResumeCheck", "ResumeState", "check_resume", "compact_output", "scan_output"]

log = logging.getLogger(__name__)

_FINAL, _RETRYABLE = 1, 0


@dataclass(frozen=True)
class ResumeState:
    """What a previous run left: per custom_id whether its latest line is final, and some counts."""

    ids: IdMap  # custom_id -> 1 (latest line final) or 0 (retryable), tagged with the line's fingerprints
    final_ids: frozenset[str]  # the final custom_ids as strings (empty unless asked for: they cost memory)
    final: int
    retryable: int
    lines: int
    bad_lines: int

    def is_done(self, custom_id: str) -> bool:
        """True when the latest line of ``custom_id`` is final: a rerun must not send it again."""
        return self.final > 0 and self.ids.get(custom_id) == _FINAL

    @classmethod
    def empty(cls) -> ResumeState:
        """The state of an output that is not there."""
        return cls(ids=IdMap(), final_ids=frozenset(), final=0, retryable=0, lines=0, bad_lines=0)


@dataclass(frozen=True)
class ResumeCheck:
    """The input compared with the output's final lines: the request count, and lines made for other requests."""

    requests: int
    mismatch: Mismatch | None
    unverified: int  # final lines without fingerprints (other tools, older patchline): taken as they are


@dataclass(frozen=True)
class CompactionReport:
    """The result of folding an output file."""

    lines_before: int
    lines_after: int
    bad_lines: int


def scan_output(store: ArtifactStore, name: str, *, keep_final_ids: bool = True) -> ResumeState:
    """Read an existing output (if any): the latest line per custom_id decides whether it is done.

    With ``keep_final_ids`` the final custom_ids are also returned as strings (``final_ids``); the
    executor turns it off and asks :meth:`ResumeState.is_done`, which costs ~36 bytes per id.

    A line cut short by a killed writer is reported and ignored; a later line for the same custom_id
    (or the rerun this scan prepares) supersedes it.
    """
    report = _QuietReport()
    ids = IdMap()
    lines = 0
    for line in iter_responses(store.iter_lines(name, missing_ok=True), source=store.uri(name), on_error=report):
        lines += 1
        tag = combined_tag(*line_fingerprints(line.model_extra or {}))
        ids.put(line.custom_id, _FINAL if line.is_final else _RETRYABLE, tag)
    if report.count:
        log.warning("%s: %d unreadable line(s) ignored (e.g. %s)", store.uri(name), report.count, report.first)
    final = ids.count(_FINAL)
    final_ids = frozenset(_final_ids(store, name, ids)) if keep_final_ids and final else frozenset()
    return ResumeState(
        ids=ids, final_ids=final_ids, final=final, retryable=len(ids) - final, lines=lines, bad_lines=report.count
    )


def check_resume(resume: ResumeState, store: ArtifactStore, name: str, *, settings_fingerprint: str) -> ResumeCheck:
    """Compare each request of the input with the final line its custom_id has in the output (one pass).

    A final line whose fingerprints differ from the request's (with the executor settings that shape
    what is sent) answers another request: another run's, or this run's with other settings.
    """
    total = mismatched = unverified = 0
    first = ""
    source = store.uri(name)
    for _, request in iter_raw_requests(store.iter_lines(name), source=source, on_error=_QuietReport()):
        total += 1
        if resume.ids.get(request.custom_id) != _FINAL:
            continue
        stored = resume.ids.tag(request.custom_id)
        if stored == 0:
            unverified += 1
        elif stored != combined_tag(request_fingerprint(request.url, memoryview(request.body)), settings_fingerprint):
            mismatched += 1
            first = first or request.custom_id
    mismatch = Mismatch(mismatched, first) if mismatched else None
    return ResumeCheck(requests=total, mismatch=mismatch, unverified=unverified)


def _final_ids(store: ArtifactStore, name: str, ids: IdMap) -> Iterator[str]:
    for record in iter_jsonl(store.iter_lines(name, missing_ok=True), source=store.uri(name), on_error=_QuietReport()):
        custom_id = record.record.get("custom_id")
        if isinstance(custom_id, str) and ids.get(custom_id) == _FINAL:
            yield custom_id


def compact_output(store: ArtifactStore, name: str) -> CompactionReport:
    """Rewrite the output atomically with only the latest line per custom_id, in file order.

    Two streaming passes: the first finds the position of each custom_id's latest line, the second
    copies exactly those lines. On object storage the parts are sealed into the file first.
    """
    if not store.is_local:
        store.seal(name)
    latest: dict[str, int] = {}
    before = 0
    for record in iter_jsonl(store.iter_lines(name), source=store.uri(name), on_error=_QuietReport()):
        custom_id = record.record.get("custom_id")
        before += 1
        if isinstance(custom_id, str) and custom_id:
            latest[custom_id] = record.line_no
    keep = frozenset(latest.values())
    after = nonblank = 0
    with store.atomic_writer(name) as out:
        for line_no, raw in enumerate(store.iter_lines(name), start=1):
            nonblank += bool(raw.strip())
            if line_no in keep:
                out.write(raw if raw.endswith(b"\n") else raw + b"\n")
                after += 1
    return CompactionReport(lines_before=nonblank, lines_after=after, bad_lines=nonblank - before)


class _QuietReport:
    """Counts bad lines without one warning each (a killed run leaves at most a few)."""

    def __init__(self) -> None:
        self.count = 0
        self.first = ""

    def __call__(self, error: MalformedLineError) -> None:
        self.count += 1
        if not self.first:
            self.first = str(error)
