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

from patchline.core.batch import RawRequestLine, iter_raw_requests
from patchline.core.errors import ArtifactNotFoundError, MalformedLineError, RecordError
from patchline.core.jsonl import json_line
from patchline.core.progress import NullProgress, Progress
from patchline.core.settings import ApiKeys, StorageConfig
from patchline.core.store import Appender, ArtifactStore, open_artifact
from patchline.gateway.accounting import Accounting, ExecutionSummary
from patchline.gateway.endpoints import EndpointPool
from patchline.gateway.eventloop import run_blocking
from patchline.gateway.grouping import Lane, prompt_key
from patchline.gateway.http import HttpClient, open_http_client
from patchline.gateway.idmap import IdMap
from patchline.gateway.keys import KeyRing
from patchline.gateway.metrics import ExecutorMetrics
from patchline.gateway.output import ResumeState, compact_output, scan_output
from patchline.gateway.sender import Finished, Sender
from patchline.gateway.settings import ExecutorSettings

__all__ = ["Artifact", "Target", "execute_file", "run_file"]

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Artifact:
    """A file in an artifact store (for callers that already hold a store, e.g. an S3 run root)."""

    store: ArtifactStore
    name: str


Target = str | Artifact  # a path or URI (local, file://, s3://), or a file of an existing store

_END = None  # queue sentinel


async def execute_file(
    input_file: Target,
    output_file: Target,
    *,
    endpoints: Sequence[str],
    keys: ApiKeys | None = None,
    settings: ExecutorSettings | None = None,
    progress: Progress | None = None,
    storage: StorageConfig | None = None,
) -> ExecutionSummary:
    """Send every request of ``input_file`` that has no final line in ``output_file`` yet; return the summary.

    ``storage`` configures object storage for URIs given as strings.
    """
    s = settings or ExecutorSettings()
    progress = progress or NullProgress()
    source = _resolve(input_file, storage)
    target = _resolve(output_file, storage)
    pool = EndpointPool(
        endpoints,
        affinity=s.affinity,
        cooldown_after=s.cooldown_after_failures,
        cooldown_base_s=s.cooldown_base_s,
        cooldown_cap_s=s.cooldown_cap_s,
        load_factor=s.affinity_load_factor,
    )
    if not await asyncio.to_thread(source.store.exists, source.name):
        raise ArtifactNotFoundError(f"request file {source.store.uri(source.name)} does not exist")
    resume = await asyncio.to_thread(scan_output, target.store, target.name, keep_final_ids=False)
    if resume.lines:
        log.info(
            "%s: resuming: %d requests already final, %d to retry",
            target.store.uri(target.name),
            resume.final,
            resume.retryable,
        )
    accounting = Accounting(prices=s.prices, output_uri=target.store.uri(target.name))
    with ExecutorMetrics(accounting) as metrics:
        if s.metrics_port is not None:
            metrics.serve(s.metrics_port, host=s.metrics_host)
        client = open_http_client(
            [e.base_url for e in pool.endpoints],
            timeout_s=s.timeout_s,
            connect_timeout_s=s.connect_timeout_s,
            concurrency=s.concurrency,
            use_httpx=s.force_httpx,
        )
        try:
            sender = Sender(pool=pool, keys=KeyRing(keys or ApiKeys()), settings=s, metrics=metrics)
            run = _Run(source, target, s, sender, accounting, progress, resume)
            await run.execute(client)
        finally:
            await client.aclose()
    if s.compact:
        report = await asyncio.to_thread(compact_output, target.store, target.name)
        log.info("compacted output: %d -> %d lines", report.lines_before, report.lines_after)
    elif not target.store.is_local:
        await asyncio.to_thread(target.store.seal, target.name)
    summary = accounting.summary()
    log.info("%s", summary.describe())
    return summary


def run_file(
    input_file: Target,
    output_file: Target,
    *,
    endpoints: Sequence[str],
    keys: ApiKeys | None = None,
    settings: ExecutorSettings | None = None,
    progress: Progress | None = None,
    storage: StorageConfig | None = None,
) -> ExecutionSummary:
    """Blocking form of :func:`execute_file` for the CLI and synchronous workflows (runs its own loop)."""
    return run_blocking(
        execute_file(
            input_file,
            output_file,
            endpoints=endpoints,
            keys=keys,
            settings=settings,
            progress=progress,
            storage=storage,
        ),
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
    ) -> None:
        self._source = source
        self._target = target
        self._settings = settings
        self._sender = sender
        self._accounting = accounting
        self._progress = progress
        self._resume = resume
        self._todo: asyncio.Queue[Lane | None] = asyncio.Queue(maxsize=settings.concurrency)
        self._lanes: dict[str, Lane] = {}  # prompt key -> its lane, while the lane is queued or being sent
        self._finished: asyncio.Queue[Finished | None] = asyncio.Queue(maxsize=settings.concurrency * 4)

    async def execute(self, client: HttpClient) -> None:
        appender = await asyncio.to_thread(
            self._target.store.appender,
            self._target.name,
            part_lines=self._settings.part_lines,
            part_seconds=self._settings.part_seconds,
        )
        self._progress.start(f"infer {self._source.name}", total=None)
        writer = asyncio.create_task(self._write(appender), name="patchline-writer")
        workers = [
            asyncio.create_task(self._work(client), name=f"patchline-worker-{i}")
            for i in range(self._settings.concurrency)
        ]
        try:
            await self._read()
            for _ in workers:
                await self._todo.put(_END)
            await asyncio.gather(*workers)
            await self._finished.put(_END)
            await writer
        finally:
            for task in [*workers, writer]:
                task.cancel()
            await asyncio.gather(*workers, writer, return_exceptions=True)
            await asyncio.to_thread(appender.close)
            self._progress.finish()

    async def _read(self) -> None:
        source = self._source
        lines = _Requests(source.store, source.name, self._on_bad_line)
        chunk_size = self._settings.read_chunk_lines
        while chunk := await asyncio.to_thread(lines.next_chunk, chunk_size):
            for request in chunk:
                self._accounting.total += 1
                if self._resume.is_done(request.custom_id):
                    self._accounting.skipped += 1
                    self._progress.advance(1, skipped=1)
                    continue
                await self._enqueue(request)

    async def _enqueue(self, request: RawRequestLine) -> None:
        """Add the request to its prompt's lane while that lane is pending, else queue a new lane."""
        limit = self._settings.concurrency
        if not self._settings.prompt_grouping:
            await self._todo.put(Lane(None, request, limit=limit))
            return
        key = prompt_key(request)
        lane = self._lanes.get(key)
        if lane is not None:
            await lane.wait_for_space()
            if self._lanes.get(key) is lane:  # still pending after the wait: its worker will send this too
                lane.add(request)
                return
        lane = self._lanes[key] = Lane(key, request, limit=limit)
        await self._todo.put(lane)

    def _on_bad_line(self, error: MalformedLineError) -> None:
        self._accounting.malformed_input_lines += 1
        log.warning("not sent: %s", error)

    async def _work(self, client: HttpClient) -> None:
        while (lane := await self._todo.get()) is not None:
            while lane.pending:
                finished = await self._sender.send(lane.take(), client, lane=lane)
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
                await asyncio.to_thread(_append_all, appender, batch)
                self._account(batch)

    def _account(self, batch: list[Finished]) -> None:
        totals: dict[str, float] = {}
        for f in batch:
            counters = self._accounting.record(
                ok=f.ok, body=f.body, model=f.model, attempts=f.attempts, cached_tokens=f.cached_tokens
            )
            for key, value in counters.items():
                totals[key] = totals.get(key, 0.0) + value
        self._progress.advance(len(batch), **totals)


def _append_all(appender: Appender, batch: list[Finished]) -> None:
    appender.write_lines([json_line(finished.record) for finished in batch])


class _Requests:
    """Parsed request lines of the input, pulled in chunks from a worker thread.

    A repeated custom_id is reported and not sent (two answers would compete). The ids seen so far are
    kept as digests (:class:`IdMap`), not strings, so memory stays flat for inputs of millions of lines.
    """

    def __init__(self, store: ArtifactStore, name: str, on_error: Callable[[MalformedLineError], None]) -> None:
        self._source = store.uri(name)
        self._on_error = on_error
        self._seen = IdMap()
        self._lines: Iterator[tuple[int, RawRequestLine]] = iter_raw_requests(
            store.iter_lines(name), source=self._source, on_error=on_error
        )

    def next_chunk(self, size: int) -> list[RawRequestLine]:
        """Up to ``size`` new requests; an empty list only at the end of the input."""
        chunk: list[RawRequestLine] = []
        for line_no, request in self._lines:
            if self._seen.put(request.custom_id, 1) is not None:
                self._on_error(
                    RecordError(self._source, line_no, "custom_id", f"duplicate custom_id {request.custom_id!r}")
                )
                continue
            chunk.append(request)
            if len(chunk) >= size:
                break
        return chunk
