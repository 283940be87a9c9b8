"""The event loop the gateway's blocking entry points run on."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

from patchline.core.errors import PreconditionError

try:
    import uvloop

    _new_loop: Callable[[], asyncio.AbstractEventLoop] = uvloop.new_event_loop
except ImportError:  # Windows has no uvloop: the default loop works, only slower
    _new_loop = asyncio.new_event_loop

__all__ = ["run_blocking"]

T = TypeVar("T")


def run_blocking(main: Coroutine[Any, Any, T], *, name: str, async_name: str) -> T:
    """Run ``main`` (the coroutine of ``async_name``, for ``name``) on a new uvloop event loop.

    Refused inside a running loop, where the caller should await ``async_name`` instead.

    uvloop, because the executor's per-request work is mostly event-loop work (callbacks, timers,
    socket reads), which uvloop does in C at about half the cost of the default loop.
    """
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        with asyncio.Runner(loop_factory=_new_loop) as runner:
            return runner.run(main)
    main.close()
    raise PreconditionError(f"{name}() was called inside a running event loop: use `await {async_name}(...)`")
