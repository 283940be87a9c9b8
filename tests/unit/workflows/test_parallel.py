"""The bounded process map sizes its pool to the work: a few items run here, more get one process per 4 items."""

from __future__ import annotations

import os
import time

import pytest

from patchline.workflows.parallel import ItemFailure, imap_bounded

pytestmark = pytest.mark.unit


def _pid(_: int) -> int:
    return os.getpid()


def test_three_items_with_32_workers_run_here_without_a_pool() -> None:
    assert list(imap_bounded(_pid, range(3), workers=32)) == [(0, os.getpid()), (1, os.getpid()), (2, os.getpid())]
    assert list(imap_bounded(_pid, [], workers=32)) == []


def test_a_pool_gets_at_most_one_process_per_four_items() -> None:
    results = list(imap_bounded(_pid, range(9), workers=32))
    assert [item for item, _ in results] == list(range(9))
    pids = {pid for _, pid in results}
    assert os.getpid() not in pids and len(pids) <= 2


def test_many_items_keep_the_configured_pool_and_the_order() -> None:
    results = list(imap_bounded(_pid, range(40), workers=3))
    assert [item for item, _ in results] == list(range(40))
    assert len({pid for _, pid in results} - {os.getpid()}) <= 3


def _swallows_the_first_interruption(seconds: int) -> str:
    """Works for ``seconds``, losing the first time-limit exception as a garbage-collector callback would."""
    swallowed = False
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            time.sleep(0.01)
        except Exception:  # the point of the test: an interruption that never reaches the caller
            if swallowed:
                raise
            swallowed = True
    return "finished"


def test_an_item_is_stopped_even_when_its_first_interruption_is_lost() -> None:
    started = time.monotonic()
    [(item, outcome)] = list(imap_bounded(_swallows_the_first_interruption, [30], workers=1, timeout=0.3))
    assert item == 30 and isinstance(outcome, ItemFailure) and outcome.kind == "timeout"
    assert time.monotonic() - started < 10  # the repeated alarm, not the item's 30 s
