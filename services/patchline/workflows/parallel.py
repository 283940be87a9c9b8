"""A bounded, streaming process-pool map with a per-item time limit, for the heavy workflow stages.

Items are submitted as earlier ones finish, so at most ``max_in_flight`` items (and their results)
are in memory whatever the input size; results come back in input order. An item that raises or runs
past ``timeout`` yields an :class:`ItemFailure` instead of a result: one item never stops a stage.
"""

from __future__ import annotations

import itertools
import multiprocessing
import signal
import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass
from types import FrameType
from typing import Generic, TypeVar

__all__ = ["ItemFailure", "ItemTimeout", "imap_bounded"]

T = TypeVar("T")
R = TypeVar("R")


class ItemTimeout(Exception):
    """An item ran past its time limit."""


@dataclass(frozen=True)
class ItemFailure(Generic[T]):
    """Why one item produced no result: ``kind`` is ``timeout`` or ``exception``."""

    item: T
    kind: str
    message: str


def _alarm(signum: int, frame: FrameType | None) -> None:
    raise ItemTimeout("time limit reached")


# After the limit the alarm repeats: an exception raised where Python cannot pass it on (a garbage-collector
# callback, a ``__del__``) is lost, and the item must still stop.
_ALARM_REPEAT_S = 0.25


def _call_with_limit(fn: Callable[[T], R], item: T, timeout: float | None) -> R:
    """Run ``fn(item)`` in a worker process, interrupted by SIGALRM after ``timeout`` seconds."""
    if not timeout:
        return fn(item)
    previous = signal.signal(signal.SIGALRM, _alarm)
    signal.setitimer(signal.ITIMER_REAL, timeout, _ALARM_REPEAT_S)
    try:
        return fn(item)
    finally:
        signal.signal(signal.SIGALRM, signal.SIG_IGN)  # a repeat due now must not interrupt the clean-up
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def _outcome(item: T, future: Future[R]) -> R | ItemFailure[T]:
    error = future.exception()
    if error is None:
        return future.result()
    kind = "timeout" if isinstance(error, ItemTimeout) else "exception"
    return ItemFailure(item, kind, f"{type(error).__name__}: {error}")


# A worker process costs about a second to start (a Python, then the workflow's imports): with fewer
# items than this per worker, the pool costs more than it saves.
_ITEMS_PER_WORKER = 4


def _sized_to_the_work(items: Iterable[T], workers: int) -> tuple[Iterator[T], int]:
    """(the same items, a worker count the work pays for): reads at most ``workers * 4`` items ahead."""
    iterator = iter(items)
    if workers <= 1:
        return iterator, workers
    head = list(itertools.islice(iterator, workers * _ITEMS_PER_WORKER))
    return itertools.chain(head, iterator), max(1, min(workers, len(head) // _ITEMS_PER_WORKER))


def imap_bounded(
    fn: Callable[[T], R],
    items: Iterable[T],
    *,
    workers: int,
    timeout: float | None = None,
    max_in_flight: int | None = None,
) -> Iterator[tuple[T, R | ItemFailure[T]]]:
    """Yield ``(item, fn(item) or ItemFailure)`` in input order, running ``fn`` in worker processes.

    ``fn`` must be a module-level function (it is pickled). The pool is sized to the work: one process
    per 4 items at most (32 processes for 3 items took seconds to start), so a handful of items runs
    here. With ``workers <= 1`` items run in this
    process, which keeps tracebacks simple for debugging, unless a time limit is set and this is not the
    main thread (a service's worker thread): SIGALRM only works in the main thread, so the item then runs
    in a one-process pool where the limit holds.
    """
    limit_needs_pool = bool(timeout) and threading.current_thread() is not threading.main_thread()
    items, workers = _sized_to_the_work(items, workers)
    if workers <= 1 and not limit_needs_pool:
        for item in items:
            try:
                yield item, _call_with_limit(fn, item, timeout)
            except ItemTimeout as exc:
                yield item, ItemFailure(item, "timeout", str(exc))
            except Exception as exc:
                yield item, ItemFailure(item, "exception", f"{type(exc).__name__}: {exc}")
        return
    workers = max(workers, 1)
    limit = max_in_flight or workers * 4
    pending: deque[tuple[T, Future[R]]] = deque()
    # forkserver, not fork: a service process has gRPC, HTTP and S3 threads, and a forked copy of them dies.
    with ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("forkserver")) as pool:
        for item in items:
            pending.append((item, pool.submit(_call_with_limit, fn, item, timeout)))
            while len(pending) >= limit:
                head, future = pending.popleft()
                outcome = _outcome(head, future)
                yield head, outcome
        while pending:
            head, future = pending.popleft()
            outcome = _outcome(head, future)
            yield head, outcome
