"""The batch executor: stream request lines to model endpoints and append one final response line per request.

The output file is the state (DESIGN.md §2). On start the executor reads what is there and sends only the
custom_ids whose latest line is not final; it only ever appends, each line flushed (a part file per
flush on object storage). Kill it at any moment and rerun the same command: nothing is lost and only
unfinished work is repeated.

Flow: a reader pulls chunks of parsed lines from a worker thread (a file read never blocks the loop) into
a bounded queue of lanes; ``concurrency`` workers send them through one HTTP client of the run
(:mod:`patchline.gateway.http`); a single writer appends the finished lines, in batches, from a worker thread.
With prompt grouping (the default) a lane holds every pending request of one prompt and its worker sends
them one after another, so each sample after the first finds the prompt in the server's cache
(:mod:`patchline.gateway.grouping`); without it every request is a lane of its own.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, TypedDict, Unpack

from patchline.core.batch import CHAT_COMPLETIONS_URL, RawRequestLine, iter_raw_requests
from patchline.core.errors import ArtifactNotFoundError, MalformedLineError, RecordError
from patchline.core.fingerprint import FingerprintMismatchError, request_fingerprint
from patchline.core.progress import NullProgress, Progress
from patchline.core.redact import Redactor
from patchline.core.settings import ApiKeys, StorageConfig
from patchline.core.spec import DEFAULT_MISMATCH_POLICY, ExecutorSettings, MismatchPolicy, ModelEndpoints
from patchline.core.store import Appender, ArtifactStore, open_artifact
from patchline.gateway.accounting import Accounting, ExecutionSummary
from patchline.gateway.endpoints import EndpointPool
from patchline.gateway.eventloop import run_blocking
from patchline.gateway.grouping import Lane, QueuedRequest, prompt_key
from patchline.gateway.http import HttpClient, open_http_client
from patchline.gateway.idmap import IdMap
from patchline.gateway.keys import KeyRing
from patchline.gateway.metrics import ExecutorMetrics
from patchline.gateway.output import ResumeState, check_resume, compact_output, scan_output
from patchline.gateway.sender import DEADLINE_CODE, Finished, Sender

__all__ = ["Artifact", "ExecuteOptions", "Target", "execute_file", "run_file"]

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Artifact:
    """A file in an artifact store (for callers that already hold a store, e.g. an S3 run root)."""

    store: ArtifactStore
    name: str


Target = str | Artifact  # a path or URI (local, file://, s3://), or a file of an existing store

_END = None  # queue sentinel


class ExecuteOptions(TypedDict, total=False):
    """The keywords of every way to run the executor (:func:`execute_file`, :func:`run_file`, the launchers)."""

    keys: ApiKeys | None  # the API keys (default: none)
    settings: ExecutorSettings | None  # default: ExecutorSettings()
    progress: Progress | None
    storage: StorageConfig | None  # object storage for URIs given as strings
    metrics_address: tuple[str, int] | None  # (host, port) to serve Prometheus metrics on meanwhile
    on_mismatch: MismatchPolicy  # final lines in the output made for other requests; default: refuse
    request_paths: frozenset[str] | None  # the only line urls sent (a service's allowlist); None: any path


async def execute_file(
    input_file: Target,
    output_file: Target,
    *,
    endpoints: ModelEndpoints | Sequence[str],
    **options: Unpack[ExecuteOptions],
) -> ExecutionSummary:
    """Send every request of ``input_file`` that has no final line in ``output_file`` yet; return the summary.

    ``endpoints`` is where requests go (plain base URLs: sent as written); ``storage`` configures object
    storage for URIs given as strings; ``metrics_address`` (host, port) serves Prometheus metrics meanwhile.
    ``on_mismatch`` says what to do with final lines in the output made for other requests (another run,
    other settings): refuse before sending anything, start the output over, or take them.
    """
    s = options.get("settings") or ExecutorSettings()
    storage, metrics_address = options.get("storage"), options.get("metrics_address")
    on_mismatch = options.get("on_mismatch", DEFAULT_MISMATCH_POLICY)
    to = endpoints if isinstance(endpoints, ModelEndpoints) else ModelEndpoints(urls=list(endpoints))
    deadline_at = None if s.deadline_seconds is None else asyncio.get_running_loop().time() + s.deadline_seconds
    progress = options.get("progress") or NullProgress()
    source = _resolve(input_file, storage)
    target = _resolve(output_file, storage)
    pool = EndpointPool(to.urls, s)
    if not await asyncio.to_thread(source.store.exists, source.name):
        raise ArtifactNotFoundError(f"request file {source.store.uri(source.name)} does not exist")
    resume, total = await asyncio.to_thread(_resume_state, source, target, to, on_mismatch)
    accounting = Accounting(prices=s.prices, output_uri=target.store.uri(target.name))
    with ExecutorMetrics(accounting) as metrics:
        if metrics_address is not None:
            metrics.serve(metrics_address[1], host=metrics_address[0])
        client = open_http_client(
            [e.base_url for e in pool.endpoints],
            timeout_s=s.timeout_seconds,
            connect_timeout_s=s.connect_timeout_seconds,
            concurrency=s.concurrency,
            use_httpx=s.force_httpx,
        )
        try:
            ring = KeyRing(options.get("keys") or ApiKeys())
            sender = Sender(pool=pool, keys=ring, settings=s, target=to, metrics=metrics, deadline_at=deadline_at)
            run = _Run(source, target, s, sender, accounting, progress, resume, total, ring.redactor)
            await run.execute(client, request_paths=options.get("request_paths"))
        finally:
            await client.aclose()
    if s.compact:
        report = await asyncio.to_thread(compact_output, target.store, target.name)
        log.info("compacted output: %d -> %d lines", report.lines_before, report.lines_after)
    elif not target.store.is_local:
        await asyncio.to_thread(target.store.seal, target.name)
    summary = accounting.summary()
    if summary.expired:
        log.warning(
            "%s: the deadline of %g s passed: %d unfinished requests were recorded as failed (%r); rerun to send them",
            target.store.uri(target.name),
            s.deadline_seconds,
            summary.expired,
            DEADLINE_CODE,
        )
    log.info("%s", summary.describe())
    return summary


def _resume_state(
    source: Artifact, target: Artifact, to: ModelEndpoints, on_mismatch: MismatchPolicy
) -> tuple[ResumeState, int | None]:
    """What the output already holds for these requests, and how many requests there are (None: not counted).

    A final line made for another request than the input's (another run's, or with other settings) is
    not done: the run is refused before anything is sent, unless the settings say to start the output
    over or to take such lines anyway (:class:`MismatchPolicy`).
    """
    output = target.store.uri(target.name)
    if on_mismatch is MismatchPolicy.RESTART:
        aside = target.store.move_aside(target.name)
        if aside is not None:
            log.warning("%s: starting over (--restart); the old output is kept as %s", output, target.store.uri(aside))
    resume = scan_output(target.store, target.name, keep_final_ids=False)
    if not resume.final:
        return resume, count_request_lines(source.store, source.name)
    fingerprint = Sender.fingerprint_of(to)
    check = check_resume(resume, source.store, source.name, settings_fingerprint=fingerprint)
    if check.mismatch is not None and on_mismatch is MismatchPolicy.REFUSE:
        raise FingerprintMismatchError(
            f"{output}: {check.mismatch.count} answer(s) there were made for other requests than "
            f"{source.store.uri(source.name)} holds (first: {check.mismatch.first_id!r}), by another run or with "
            "other settings; --restart starts the output over (the old file is kept aside), --accept-existing "
            "takes those answers anyway"
        )
    if check.mismatch is not None:
        log.warning("%s: taking %d answer(s) made for other requests (--accept-existing)", output, check.mismatch.count)
    if check.unverified:
        log.warning(
            "%s: %d answer(s) carry no request fingerprint (another tool or an older patchline wrote them): "
            "taken as answers to these requests",
            output,
            check.unverified,
        )
    log.info("%s: resuming: %d requests already final, %d to retry", output, resume.final, resume.retryable)
    return resume, check.requests


def run_file(
    input_file: Target,
    output_file: Target,
    *,
    endpoints: ModelEndpoints | Sequence[str],
    **options: Unpack[ExecuteOptions],
) -> ExecutionSummary:
    """Blocking form of :func:`execute_file` for the CLI and synchronous workflows (runs its own loop)."""
    return run_blocking(
        execute_file(input_file, output_file, endpoints=endpoints, **options),
        name="run_file",
        async_name="execute_file",
    )


def _resolve(target: Target, storage: StorageConfig | None) -> Artifact:
    if isinstance(target, Artifact):
        return target
    store, name = open_artifact(target, config=storage)
    return Artifact(store, name)


class _Run:
    """One execution: reader, workers and writer around two bounded queues."""

    def __init__(
        self,
        source: Artifact,
        target: Artifact,
        settings: ExecutorSettings,
        sender: Sender,
        accounting: Accounting,
        progress: Progress,
        resume: ResumeState,
        total: int | None,
        redactor: Redactor,
    ) -> None:
        self._total = total
        self._source = source
        self._target = target
        self._settings = settings
        self._sender = sender
        self._accounting = accounting
        self._progress = progress
        self._resume = resume
        self._redactor = redactor
        self._todo: asyncio.Queue[Lane | None] = asyncio.Queue(maxsize=settings.concurrency)
        self._lanes: dict[str, Lane] = {}  # prompt key -> its lane, while the lane is queued or being sent
        self._finished: asyncio.Queue[Finished | None] = asyncio.Queue(maxsize=settings.concurrency * 4)

    async def execute(self, client: HttpClient, *, request_paths: frozenset[str] | None = None) -> None:
        """Send every request of the input without a final line; ``request_paths``: the only line urls sent."""
        appender = await asyncio.to_thread(
            self._target.store.appender,
            self._target.name,
            part_lines=self._settings.part_lines,
            part_seconds=self._settings.part_seconds,
        )
        self._progress.start(f"infer {self._source.name}", total=self._total)
        writer = asyncio.create_task(self._write(appender), name="patchline-writer")
        workers = [
            asyncio.create_task(self._work(client), name=f"patchline-worker-{i}")
            for i in range(self._settings.concurrency)
        ]
        watchdog = asyncio.create_task(self._watch(), name="patchline-watchdog")
        try:
            await self._read(request_paths)
            for _ in workers:
                await self._todo.put(_END)
            await asyncio.gather(*workers)
            await self._finished.put(_END)
            await writer
        finally:
            for task in [*workers, writer, watchdog]:
                task.cancel()
            await asyncio.gather(*workers, writer, watchdog, return_exceptions=True)
            await asyncio.to_thread(appender.close)
            self._progress.finish()

    async def _read(self, request_paths: frozenset[str] | None) -> None:
        source = self._source
        lines = _Requests(source.store, source.name, self._on_bad_line, request_paths)
        chunk_size = self._settings.read_chunk_lines
        reported_bad = 0
        while chunk := await asyncio.to_thread(lines.next_chunk, chunk_size):
            reported_bad = self._advance_bad_lines(reported_bad)
            for item in chunk:
                self._accounting.total += 1
                if self._resume.is_done(item[0].custom_id):
                    self._accounting.skipped += 1
                    self._progress.advance(1, skipped=1)
                    continue
                await self._enqueue(QueuedRequest(*item))
        self._advance_bad_lines(reported_bad)

    def _advance_bad_lines(self, reported: int) -> int:
        """Count the bad input lines found since ``reported`` into the progress; returns the new count."""
        bad = self._accounting.malformed_input_lines
        if bad > reported:
            self._progress.advance(bad - reported, bad_lines=bad - reported)
        return bad

    async def _enqueue(self, queued: QueuedRequest) -> None:
        """Add the request to its prompt's lane while that lane is pending, else queue a new lane."""
        limit = self._settings.concurrency
        if not self._settings.prompt_grouping:
            await self._todo.put(Lane(None, queued, limit=limit))
            return
        key = prompt_key(queued.request)
        lane = self._lanes.get(key)
        if lane is not None:
            await lane.wait_for_space()
            if self._lanes.get(key) is lane:  # still pending after the wait: its worker will send this too
                lane.add(queued)
                return
        lane = self._lanes[key] = Lane(key, queued, limit=limit)
        await self._todo.put(lane)

    def _on_bad_line(self, error: MalformedLineError) -> None:
        # Called in the reader thread: the progress is told on the loop, with the next chunk's requests.
        self._accounting.malformed_input_lines += 1
        log.warning("not sent: %s", error)

    async def _watch(self) -> None:
        """Every ``stall_warning_s``: a warning naming the requests that have waited that long for an answer.

        A server that accepts requests and never answers is otherwise silent until the attempts time out.
        """
        every = self._settings.stall_warning_seconds
        while True:
            await asyncio.sleep(every)  # a periodic report: the interval is the point, not a wait for something
            waiting, longest = self._sender.unanswered(every)
            if waiting:
                log.warning(
                    "%s: %d request(s) without an answer for over %g s (the longest %.0f s); "
                    "%d in flight, %d finished (%d failed), %d read so far",
                    self._target.store.uri(self._target.name),
                    waiting,
                    every,
                    longest,
                    self._sender.in_flight,
                    self._accounting.succeeded + self._accounting.failed,
                    self._accounting.failed,
                    self._accounting.total,
                )

    async def _work(self, client: HttpClient) -> None:
        while (lane := await self._todo.get()) is not None:
            while lane.pending:
                request, fingerprint = lane.take()
                finished = await self._sender.send(request, client, fingerprint=fingerprint, lane=lane)
                await self._finished.put(finished)
            if lane.key is not None and self._lanes.get(lane.key) is lane:
                del self._lanes[lane.key]  # no await since the last check: nothing was added meanwhile

    async def _write(self, appender: Appender) -> None:
        ended = False
        while not ended:
            batch: list[Finished] = []
            item = await self._finished.get()
            while item is not None:
                batch.append(item)
                if self._finished.empty() or len(batch) >= 1024:
                    break
                item = self._finished.get_nowait()
            ended = item is None
            if batch:
                await asyncio.to_thread(_append_all, appender, batch, self._redactor)
                self._account(batch)

    def _account(self, batch: list[Finished]) -> None:
        totals: dict[str, float] = {}
        for f in batch:
            if not f.ok and not self._accounting.first_failure:
                self._accounting.first_failure = _failure_text(f.record)
                self._accounting.first_failure_status = int(f.record["response"]["status_code"])
            counters = self._accounting.record(
                ok=f.ok,
                body=f.body,
                model=f.model,
                attempts=f.attempts,
                expired=f.expired,
                cached_tokens=f.cached_tokens,
            )
            for key, value in counters.items():
                totals[key] = totals.get(key, 0.0) + value
        self._progress.advance(len(batch), **totals)


def _failure_text(record: dict[str, Any]) -> str:
    """``custom_id: status: code: message`` of a failed response line (its message cut to 200 characters)."""
    error = record.get("error") or {}
    status = record["response"]["status_code"]
    return f"{record['custom_id']}: {status}: {error.get('code', '')}: {str(error.get('message', ''))[:200]}"


def count_request_lines(store: ArtifactStore, name: str) -> int | None:
    """The number of non-blank lines of a local request file; None on object storage.

    Reading a local file once more costs a small fraction of sending it, and gives the progress its
    total; a remote file is not downloaded an extra time for that.
    """
    if not store.is_local:
        return None
    with store.open_read(name) as handle:
        return sum(1 for line in handle if not line.isspace())


def _append_all(appender: Appender, batch: list[Finished], redactor: Redactor) -> None:
    # The one place response lines leave the executor: a key an endpoint echoed never reaches the file.
    appender.write_lines([redactor.json_line(finished.record) for finished in batch])


class _Requests:
    """Parsed request lines of the input, pulled in chunks from a worker thread.

    A repeated custom_id is reported and not sent (two answers would compete). The ids seen so far are
    kept as digests (:class:`IdMap`), not strings, so memory stays flat for inputs of millions of lines.
    Each request comes with its fingerprint, hashed here in the reader's thread, off the event loop.
    """

    def __init__(
        self,
        store: ArtifactStore,
        name: str,
        on_error: Callable[[MalformedLineError], None],
        allowed_paths: frozenset[str] | None = None,
    ) -> None:
        self._source = store.uri(name)
        self._on_error = on_error
        self._allowed_paths = allowed_paths
        self._seen = IdMap()
        self._lines: Iterator[tuple[int, RawRequestLine]] = iter_raw_requests(
            store.iter_lines(name), source=self._source, on_error=on_error
        )

    def next_chunk(self, size: int) -> list[tuple[RawRequestLine, str]]:
        """Up to ``size`` new requests with their fingerprints; an empty list only at the end of the input."""
        chunk: list[tuple[RawRequestLine, str]] = []
        for line_no, request in self._lines:
            if self._seen.put(request.custom_id, 1) is not None:
                self._on_error(
                    RecordError(self._source, line_no, "custom_id", f"duplicate custom_id {request.custom_id!r}")
                )
                continue
            if self._allowed_paths is not None and (request.url or CHAT_COMPLETIONS_URL) not in self._allowed_paths:
                allowed = ", ".join(sorted(self._allowed_paths))
                self._on_error(
                    RecordError(self._source, line_no, "url", f"{request.url!r} is not sent here (allowed: {allowed})")
                )
                continue
            chunk.append((request, request_fingerprint(request.url, memoryview(request.body))))
            if len(chunk) >= size:
                break
        return chunk
