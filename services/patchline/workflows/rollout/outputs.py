"""Reading step outputs and writing keyed files: latest response per custom_id, rerun-safe rewrites.

Response files are read twice, both times streaming: the first pass keeps only the line number of
the latest line of each custom_id, the second yields those lines. Memory is one small entry per
custom_id, never the answers themselves.

Keyed files (request files, ``failures.jsonl``) are rewritten whole and atomically: the lines of this
run first, then the old lines of every custom_id this run did not touch. A rerun therefore replaces
records and never duplicates them, and chunks run with ``--start_file/--end_file`` add up.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection, Iterator
from contextlib import AbstractContextManager, ExitStack
from typing import IO, Any

from pydantic import BaseModel

from patchline.core.batch import ResponseLine, iter_requests, iter_responses
from patchline.core.fingerprint import FingerprintMismatchError, MismatchPolicy, body_settings
from patchline.core.jsonl import LineReport, dumps_line, iter_jsonl, load_json
from patchline.core.store import ArtifactStore

log = logging.getLogger(__name__)

__all__ = ["KeyedRewrite", "check_kept_requests", "iter_latest_responses", "latest_line_numbers"]


def latest_line_numbers(store: ArtifactStore, name: str, *, report: LineReport | None = None) -> dict[str, int]:
    """``custom_id -> line number`` of the last line of each custom_id in a response file."""
    latest: dict[str, int] = {}
    source = store.uri(name)
    for numbered in iter_jsonl(store.iter_lines(name), source=source, on_error=report):
        custom_id = numbered.record.get("custom_id")
        if isinstance(custom_id, str) and custom_id:
            latest[custom_id] = numbered.line_no
    return latest


def iter_latest_responses(
    store: ArtifactStore, name: str, wanted: dict[str, int], *, report: LineReport | None = None
) -> Iterator[ResponseLine]:
    """Stream the lines whose ``(custom_id, line number)`` is in ``wanted``, in file order."""
    lines = frozenset(wanted.values())
    source = store.uri(name)
    for line_no, raw in enumerate(store.iter_lines(name), start=1):
        if line_no not in lines:
            continue
        for response in iter_responses([raw], source=source, on_error=report, first_line_no=line_no):
            if wanted.get(response.custom_id) == line_no:
                yield response


class KeyedRewrite(AbstractContextManager["KeyedRewrite"]):
    """Rewrites a JSONL file keyed by ``custom_id``: new lines, then old lines of untouched custom_ids."""

    def __init__(self, store: ArtifactStore, name: str) -> None:
        self.store = store
        self.name = name
        self.touched: set[str] = set()
        self.written = 0
        self._stack = ExitStack()
        self._out: IO[bytes] | None = None

    def __enter__(self) -> KeyedRewrite:
        self._out = self._stack.enter_context(self.store.atomic_writer(self.name))
        return self

    def touch(self, custom_id: str) -> None:
        """Mark ``custom_id`` as handled by this run: its old lines are dropped."""
        self.touched.add(custom_id)

    def write(self, custom_id: str, record: BaseModel | dict[str, Any]) -> None:
        """Write the new record of ``custom_id``."""
        self.write_raw(custom_id, dumps_line(record))

    def write_raw(self, custom_id: str, line: bytes) -> None:
        """Write the new record of ``custom_id``, already serialised as one JSON line."""
        if self._out is None:
            raise RuntimeError("KeyedRewrite used outside its with block")
        self.touched.add(custom_id)
        self._out.write(line if line.endswith(b"\n") else line + b"\n")
        self.written += 1

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        try:
            if exc_type is None and self._out is not None:
                self._keep_old_lines(self._out)
        finally:
            self._stack.__exit__(exc_type, exc, tb)  # type: ignore[arg-type]

    def _keep_old_lines(self, out: IO[bytes]) -> None:
        if not self.store.exists(self.name):
            return
        for raw in self.store.iter_lines(self.name):
            if not raw.strip():
                continue
            try:
                record = load_json(raw)
            except ValueError:
                log.warning("%s: dropping a line that is not JSON", self.store.uri(self.name))
                continue
            custom_id = record.get("custom_id") if isinstance(record, dict) else None
            if isinstance(custom_id, str) and custom_id not in self.touched:
                out.write(raw if raw.endswith(b"\n") else raw + b"\n")


def check_kept_requests(
    store: ArtifactStore,
    name: str,
    *,
    this_run: Collection[str],
    covers_all: bool,
    expected: Callable[[str], dict[str, Any]],
    policy: MismatchPolicy,
) -> None:
    """Refuse to keep request lines another run wrote: what a :class:`KeyedRewrite` of this run would carry over.

    ``this_run`` holds the custom_ids this run writes (their old lines are replaced anyway). Any other line
    is kept: it is another run's when this run covers everything (``covers_all``: no id range, so it is
    stale, e.g. a pass beyond ``--passk``), or when its body without the messages differs from
    ``expected(custom_id)`` (another model, temperature, max_tokens). ``policy`` RESTART moves the file
    aside first (nothing is kept), ACCEPT keeps such lines with a warning.
    """
    uri = store.uri(name)
    if policy is MismatchPolicy.RESTART:
        aside = store.move_aside(name)
        if aside is not None:
            log.warning("%s: writing the requests over (--restart); the old file is kept as %s", uri, store.uri(aside))
        return
    foreign: list[str] = []
    for _, request in iter_requests(store.iter_lines(name, missing_ok=True), source=uri, on_error=_ignore):
        custom_id = request.custom_id
        if custom_id not in this_run and (covers_all or body_settings(request.body) != expected(custom_id)):
            foreign.append(custom_id)
    if not foreign:
        return
    if policy is MismatchPolicy.REFUSE:
        reason = "not written by this run's settings" if not covers_all else "not among this run's requests"
        raise FingerprintMismatchError(
            f"{uri}: {len(foreign)} request(s) there would be kept although they are {reason} (first: "
            f"{foreign[0]!r}): --restart writes the file over (the old one is kept aside), --accept-existing "
            "keeps them"
        )
    log.warning("%s: keeping %d request(s) of another run (--accept-existing)", uri, len(foreign))


def _ignore(error: object) -> None:
    """Unreadable old lines are dropped by the rewrite (and logged there)."""
