"""Logging set-up for entry points: text or JSON lines on stderr, configured once at start."""

from __future__ import annotations

import json
import logging
import sys
import time

from patchline.core.redact import RedactingFormatter, Redactor

__all__ = ["configure_logging"]


class JsonFormatter(logging.Formatter):
    """One JSON object per record, with the extra fields (job_id, custom_id, ...) a caller attached."""

    _STANDARD = frozenset(vars(logging.makeLogRecord({})).keys()) | {"message", "asctime"}

    def format(self, record: logging.LogRecord) -> str:
        payload = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        payload.update({k: v for k, v in vars(record).items() if k not in self._STANDARD})
        if record.exc_info:
            payload["exception"] = self.formatException(record.exc_info)
        return json.dumps(payload, default=str)


class StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to the current ``sys.stderr`` at each record (tests and embedding programs swap it)."""

    def __init__(self) -> None:
        super().__init__(sys.stderr)

    @property
    def stream(self) -> object:
        return sys.stderr

    @stream.setter
    def stream(self, value: object) -> None:
        """The stream is always the current sys.stderr; setting it is ignored."""


def configure_logging(*, verbosity: int = 0, fmt: str = "text", redactor: Redactor | None = None) -> None:
    """Route log records to stderr; verbosity 0 = warnings and progress lines, 1 = info, 2 = debug.

    Every line is redacted with ``redactor`` (the process's keys and credentials) as it is written.
    """
    level = logging.INFO if verbosity <= 1 else logging.DEBUG
    handler = StderrHandler()
    formatter = (
        JsonFormatter()
        if fmt == "json"
        else logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s", "%H:%M:%S")
    )
    handler.setFormatter(RedactingFormatter(formatter, redactor or Redactor()))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    quiet = logging.WARNING if verbosity < 2 else logging.DEBUG
    for noisy in (
        "httpx",
        "httpcore",
        "botocore",
        "aiobotocore",
        "s3fs",
        "fsspec",
        "urllib3",
        "kopf",
        "asyncio",
    ):
        logging.getLogger(noisy).setLevel(quiet)
