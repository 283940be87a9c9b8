"""Progress for the command line: a rich bar on a terminal, periodic plain log lines otherwise."""

from __future__ import annotations

import logging
import sys
import time
from types import TracebackType

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn

__all__ = ["TerminalProgress", "cli_progress"]

log = logging.getLogger("patchline.progress")

_BAR_TEXT_EVERY_S = 0.2  # the bar redraws 10 times a second: its counters text needs no fresher value


class TerminalProgress:
    """Implements :class:`patchline.core.progress.Progress` for a person watching a terminal or a log."""

    def __init__(self, *, interactive: bool, log_every_seconds: float = 10.0) -> None:
        self._interactive = interactive
        self._log_every = log_every_seconds
        self._bar: Progress | None = None
        self._task: TaskID | None = None
        self._description = ""
        self._total: int | None = None
        self._done = 0
        self._counters: dict[str, float] = {}
        self._started = time.monotonic()
        self._last_log = 0.0

    def start(self, description: str, total: int | None = None) -> None:
        self.finish()
        self._description, self._total, self._done, self._counters = description, total, 0, {}
        self._started = self._last_log = time.monotonic()
        if self._interactive:
            self._bar = Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                TextColumn("{task.fields[counters]}"),
                transient=False,
            )
            self._bar.start()
            self._task = self._bar.add_task(description, total=total, counters="")

    def advance(self, n: int = 1, **counters: float) -> None:
        self._done += n
        for key, value in counters.items():
            self._counters[key] = self._counters.get(key, 0) + value
        if self._bar is not None and self._task is not None:
            now = time.monotonic()
            if now - self._last_log >= _BAR_TEXT_EVERY_S:  # the text costs more than the advance
                self._last_log = now
                self._bar.update(self._task, advance=n, counters=self._summary())
            else:
                self._bar.update(self._task, advance=n)
        elif time.monotonic() - self._last_log >= self._log_every:
            self._last_log = time.monotonic()
            self._log_line()

    def finish(self) -> None:
        if self._bar is not None:
            if self._task is not None:
                self._bar.update(self._task, counters=self._summary())
            self._bar.stop()
            self._bar = None
            self._task = None
        elif self._description:
            self._log_line()
        self._description = ""

    def _summary(self) -> str:
        elapsed = max(time.monotonic() - self._started, 1e-9)
        parts = [f"{k}={int(v) if float(v).is_integer() else round(v, 2)}" for k, v in sorted(self._counters.items())]
        if "tokens" in self._counters:
            parts.append(f"tok/s={self._counters['tokens'] / elapsed:.0f}")
        return " ".join(parts)

    def _log_line(self) -> None:
        total = "?" if self._total is None else str(self._total)
        log.info("%s: %d/%s %s", self._description, self._done, total, self._summary())

    def __enter__(self) -> TerminalProgress:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.finish()


def cli_progress() -> TerminalProgress:
    """Progress suited to where stderr goes: a bar on a terminal, log lines in a file or CI."""
    return TerminalProgress(interactive=sys.stderr.isatty())
