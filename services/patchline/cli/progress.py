"""Progress for the command line: one live line on a terminal, periodic log lines otherwise.

The line reads ``description [bar] done/total pct rate ETA counters``. It always fits the terminal:
counters are dropped first (from the last), then the bar narrows and the description is cut; the bar
and the ETA stay. Without a known total there is no bar, percentage or ETA, and the elapsed time is shown.
Log lines carry the same numbers as fields (``--log-format json``), and a phase that ends right after a
periodic line does not repeat it.
"""

from __future__ import annotations

import logging
import sys
import time
from dataclasses import dataclass, field

from rich.console import Console
from rich.live import Live
from rich.text import Text

from patchline.core.closing import Closing

__all__ = ["ProgressState", "TerminalProgress", "cli_progress", "render_line"]

log = logging.getLogger("patchline.progress")

_BAR_WIDTH = 30
_MIN_BAR_WIDTH = 6
_MIN_DESCRIPTION = 4
_REFRESH_PER_SECOND = 5
_SKIPPED = "skipped"  # a counter of items done without work (resume): they do not count towards the rate


@dataclass
class ProgressState:
    """The numbers of one phase, and how they read."""

    description: str
    total: int | None = None
    done: int = 0
    counters: dict[str, float] = field(default_factory=dict)
    started: float = field(default_factory=time.monotonic)

    def elapsed(self, now: float | None = None) -> float:
        """Seconds since the phase started."""
        return max((time.monotonic() if now is None else now) - self.started, 0.0)

    def rate(self, now: float | None = None) -> float:
        """Items worked on per second (items skipped as already done are left out)."""
        elapsed = self.elapsed(now)
        worked = self.done - self.counters.get(_SKIPPED, 0)
        return worked / elapsed if elapsed > 0 else 0.0

    def eta(self, now: float | None = None) -> float | None:
        """Seconds left at the current rate; None while unknown."""
        if self.total is None:
            return None
        remaining = max(self.total - self.done, 0)
        if remaining == 0:
            return 0.0
        rate = self.rate(now)
        return remaining / rate if rate > 0 else None

    def counter_texts(self, now: float | None = None) -> list[str]:
        """``name=value`` for each counter, and ``tok/s`` where tokens are counted."""
        parts = [f"{k}={_number(v)}" for k, v in sorted(self.counters.items())]
        if "tokens" in self.counters:
            elapsed = self.elapsed(now)
            parts.append(f"tok/s={self.counters['tokens'] / elapsed:.0f}" if elapsed > 0 else "tok/s=0")
        return parts

    def fields(self, now: float | None = None) -> dict[str, object]:
        """The numbers as log record fields."""
        eta = self.eta(now)
        return {
            "progress": self.description,
            "done": self.done,
            "total": self.total,
            "percent": None if not self.total else round(100 * self.done / self.total, 1),
            "rate_per_s": round(self.rate(now), 3),
            "eta_s": None if eta is None else round(eta, 1),
            "elapsed_s": round(self.elapsed(now), 1),
            "counters": {k: _number(v) for k, v in sorted(self.counters.items())},
        }


def _number(value: float) -> int | float:
    return int(value) if float(value).is_integer() else round(value, 2)


def _clock(seconds: float | None) -> str:
    if seconds is None:
        return "-:--:--"
    whole = int(seconds + 0.5)
    return f"{whole // 3600}:{whole // 60 % 60:02d}:{whole % 60:02d}"


def _bar(done: int, total: int, width: int) -> str:
    filled = width if total <= 0 else min(width, int(width * done / total))
    return "━" * filled + "╺" * (width > filled) + " " * max(width - filled - 1, 0)


def render_line(state: ProgressState, *, width: int | None = None, now: float | None = None) -> str:
    """The progress line; with ``width``, cut to fit it as the module docstring says."""
    if state.total is None:
        stats = [f"{state.done}", f"{state.rate(now):.1f}/s", _clock(state.elapsed(now))]
    else:
        percent = 100 * state.done / state.total if state.total else 100.0
        stats = [f"{state.done}/{state.total}", f"{percent:.0f}%", f"{state.rate(now):.1f}/s"]
        stats.append(f"ETA {_clock(state.eta(now))}")
    counters = state.counter_texts(now)
    bar_width = _BAR_WIDTH if state.total is not None else 0
    description = state.description

    def compose() -> str:
        bar = [_bar(state.done, state.total or 0, bar_width)] if state.total is not None else []
        return " ".join([description, *bar, *stats, *counters])

    if width is None:
        return compose()
    line = compose()
    while len(line) > width and counters:
        counters.pop()
        line = compose()
    if len(line) > width and bar_width:
        bar_width = max(_MIN_BAR_WIDTH, bar_width - (len(line) - width))
        line = compose()
    if len(line) > width:
        keep = max(_MIN_DESCRIPTION, len(description) - (len(line) - width))
        description = description[: keep - 1] + "…" if keep < len(description) else description
        line = compose()
    return line[:width]


class TerminalProgress(Closing):
    """Implements :class:`patchline.core.progress.Progress` for a person watching a terminal or a log."""

    def __init__(self, *, interactive: bool, log_every_seconds: float = 10.0, console: Console | None = None) -> None:
        self._interactive = interactive
        self._log_every = log_every_seconds
        self._console = console
        self._live: Live | None = None
        self._state: ProgressState | None = None
        self._last_log = 0.0
        self._logged: tuple[int, tuple[tuple[str, float], ...]] | None = None

    def start(self, description: str, total: int | None = None) -> None:
        self.finish()
        self._state = ProgressState(description, total)
        self._last_log = self._state.started
        self._logged = None
        if self._interactive:
            console = self._console or Console(stderr=True)
            self._live = Live(
                console=console,
                refresh_per_second=_REFRESH_PER_SECOND,
                transient=False,
                get_renderable=self._renderable,
            )
            self._live.start()

    def advance(self, n: int = 1, **counters: float) -> None:
        state = self._state
        if state is None:
            return
        state.done += n
        for key, value in counters.items():
            if key in state.counters:
                state.counters[key] += value
            else:  # a new key: a new dict, so the refresh thread never iterates one that grows
                state.counters = {**state.counters, key: value}
        if self._live is None and time.monotonic() - self._last_log >= self._log_every:
            self._log_line()

    def finish(self) -> None:
        if self._live is not None:
            self._live.refresh()
            self._live.stop()
            self._live = None
        elif self._state is not None and self._logged != self._snapshot():
            self._log_line()
        self._state = None

    def _renderable(self) -> Text:
        if self._state is None or self._live is None:
            return Text("")
        return Text(render_line(self._state, width=self._live.console.width), no_wrap=True, overflow="crop")

    def _snapshot(self) -> tuple[int, tuple[tuple[str, float], ...]]:
        state = self._state
        return (0, ()) if state is None else (state.done, tuple(sorted(state.counters.items())))

    def _log_line(self) -> None:
        state = self._state
        if state is None:
            return
        self._last_log = time.monotonic()
        self._logged = self._snapshot()
        log.info("%s", render_line(state), extra=state.fields())

    def close(self) -> None:
        """Stop the live display (what leaving its ``with`` block does)."""
        self.finish()


def cli_progress() -> TerminalProgress:
    """Progress suited to where stderr goes: a live line on a terminal, log lines in a file or CI."""
    return TerminalProgress(interactive=sys.stderr.isatty())
