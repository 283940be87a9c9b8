"""Streaming JSONL: read records with their line numbers, report bad lines, append and flush each line.

A bad line never stops a reader by itself: it is reported as ``file:line: reason`` and the
:class:`ErrorPolicy` decides whether the read goes on (SKIP) or raises (FAIL).
"""

from __future__ import annotations

import enum
import json
import logging
from collections.abc import Callable, Collection, Iterable, Iterator
from dataclasses import dataclass
from typing import IO, Any, TypeVar

import msgspec
from pydantic import BaseModel, ValidationError

from patchline.core.errors import MalformedLineError, RecordError

__all__ = [
    "ErrorPolicy",
    "ErrorSink",
    "LineReport",
    "NumberedRecord",
    "carry_over_records",
    "dumps_line",
    "iter_jsonl",
    "iter_models",
    "json_bytes",
    "json_line",
    "load_json",
    "parse_json",
    "report_bad_line",
]

log = logging.getLogger(__name__)

M = TypeVar("M", bound=BaseModel)
ErrorSink = Callable[[MalformedLineError], None]
"""Where a reader reports a bad line it skips (None: logged as a warning)."""


class ErrorPolicy(enum.Enum):
    """What a reader does with a line it cannot use."""

    SKIP = "skip"  # report it and go on
    FAIL = "fail"  # raise at the first bad line


@dataclass(frozen=True, slots=True)
class NumberedRecord:
    """A JSON object and the 1-based line it was read from."""

    line_no: int
    record: dict[str, Any]


class LineReport:
    """Collects the bad lines of one read, so a caller can summarise them after the batch."""

    def __init__(self) -> None:
        self.errors: list[MalformedLineError] = []

    def __call__(self, error: MalformedLineError) -> None:
        log.warning("%s", error)
        self.errors.append(error)

    def __len__(self) -> int:
        return len(self.errors)


def report_bad_line(error: MalformedLineError, policy: ErrorPolicy, on_error: ErrorSink | None) -> None:
    """Raise ``error`` under ``ErrorPolicy.FAIL``; else hand it to ``on_error`` (None: log a warning)."""
    if policy is ErrorPolicy.FAIL:
        raise error
    if on_error is not None:
        on_error(error)
    else:
        log.warning("%s", error)


def iter_jsonl(
    lines: Iterable[bytes | str],
    *,
    source: str,
    policy: ErrorPolicy = ErrorPolicy.SKIP,
    on_error: ErrorSink | None = None,
    first_line_no: int = 1,
) -> Iterator[NumberedRecord]:
    """Yield each JSON object of a stream of lines, with its line number (the first is ``first_line_no``).

    Blank lines are ignored. A line that is not UTF-8, not JSON, or not an object is reported through
    ``on_error`` (or raised with ``ErrorPolicy.FAIL``). A last line without a newline is read like any
    other: if it is a truncated record it fails to parse and is reported.
    """
    for line_no, raw in enumerate(lines, start=first_line_no):
        try:
            value = _DECODER.decode(raw)
        except (ValueError, RecursionError):  # msgspec.DecodeError and UnicodeDecodeError are ValueErrors
            # Not strict JSON to msgspec: blank, not UTF-8, broken, or a literal only Python's json
            # reads (NaN, huge integers). The json module decides, and words the error.
            try:
                value = _parse_leniently(raw, source, line_no)
            except MalformedLineError as error:
                report_bad_line(error, policy, on_error)
                continue
            if value is _BLANK:
                continue
        if not isinstance(value, dict):
            report_bad_line(
                MalformedLineError(source, line_no, f"expected a JSON object, got {type(value).__name__}"),
                policy,
                on_error,
            )
            continue
        yield NumberedRecord(line_no, value)


_BLANK = object()


def _parse_leniently(raw: bytes | str, source: str, line_no: int) -> Any:
    """Python's json reading of one line; ``_BLANK`` for a blank line; MalformedLineError when unreadable."""
    if isinstance(raw, bytes):
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise MalformedLineError(source, line_no, f"not UTF-8 ({exc.reason} at byte {exc.start})") from None
    else:
        text = raw
    if not text.strip():
        return _BLANK
    try:
        return load_json(text)
    except json.JSONDecodeError as exc:
        where = f" at column {exc.colno}" if exc.doc else ""
        raise MalformedLineError(source, line_no, f"invalid JSON ({exc.msg}{where})") from None


def describe_validation_error(exc: ValidationError) -> tuple[str, str]:
    """The first failing field of a pydantic error, as (dotted field path, reason)."""
    first = exc.errors()[0]
    field = ".".join(str(p) for p in first.get("loc", ())) or "<record>"
    return field, first.get("msg", "invalid")


def iter_models(
    records: Iterable[NumberedRecord],
    model: type[M],
    *,
    source: str,
    policy: ErrorPolicy = ErrorPolicy.SKIP,
    on_error: ErrorSink | None = None,
) -> Iterator[tuple[int, M]]:
    """Validate each record as ``model``; a record that does not fit is reported with its field."""
    for numbered in records:
        try:
            yield numbered.line_no, model.model_validate(numbered.record)
        except ValidationError as exc:
            field, reason = describe_validation_error(exc)
            error = RecordError(source, numbered.line_no, field, reason)
            report_bad_line(error, policy, on_error)


# msgspec's JSON codec for the executor's hot path: the same documents as the json module (compact,
# non-ASCII written as UTF-8), several times faster, which counts at thousands of lines per second.
_ENCODER = msgspec.json.Encoder()
_DECODER = msgspec.json.Decoder()


def json_bytes(value: Any) -> bytes:
    """``value`` as compact UTF-8 JSON."""
    return _ENCODER.encode(value)


def json_line(record: dict[str, Any]) -> bytes:
    """``record`` as one compact UTF-8 JSON line ending in a newline."""
    return json_bytes(record) + b"\n"


def load_json(data: bytes | str) -> Any:
    """Python's json reading of a document (NaN and huge integers allowed).

    Every way untrusted text can fail is a :class:`json.JSONDecodeError`, nesting too deep (which would
    otherwise escape as RecursionError and end a whole stage) included.
    """
    try:
        return json.loads(data)
    except RecursionError:
        raise json.JSONDecodeError("nested too deeply", "", 0) from None


def parse_json(data: bytes | str) -> Any:
    """The JSON value of ``data``; :class:`ValueError` (msgspec's DecodeError is one) when it is not JSON."""
    try:
        return _DECODER.decode(data)
    except RecursionError:
        raise ValueError("JSON nested too deeply") from None


def dumps_line(record: BaseModel | dict[str, Any]) -> bytes:
    """One record as a UTF-8 JSON line ending in a newline."""
    text = record.model_dump_json() if isinstance(record, BaseModel) else json.dumps(record, ensure_ascii=False)
    return (text + "\n").encode("utf-8")


def carry_over_records(
    lines: Iterable[bytes],
    out: IO[bytes],
    *,
    skip: Collection[str],
    source: str,
    first_only: bool = False,
    key: str = "instance_id",
) -> int:
    """Copy the lines of ``lines`` whose ``key`` is not in ``skip`` to ``out``; return how many were copied.

    For files rewritten by a run that processed some records (``skip``) and keeps the others' old lines.
    ``first_only`` keeps one line per key (files the original appended duplicates to). A line that is not a
    JSON object with the key is dropped (logged when it is not JSON).
    """
    seen: set[str] = set()
    count = 0
    for line in lines:
        try:
            record = load_json(line)
        except ValueError:  # not JSON, not UTF-8, or nested too deeply
            log.warning("%s: dropping a line that is not JSON", source)
            continue
        value = record.get(key) if isinstance(record, dict) else None
        if not isinstance(value, str) or value in skip or (first_only and value in seen):
            continue
        seen.add(value)
        out.write(line if line.endswith(b"\n") else line + b"\n")
        count += 1
    return count
