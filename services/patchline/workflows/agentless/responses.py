"""A response file indexed by custom_id: where each sample's latest line is, so answers are read instance by instance.

Lines come back in completion order and a custom_id may appear several times (retries, reruns): the
last line wins (SPEC §1). Keeping every answer in memory until the file is read would grow with the
file, so one pass records only byte offsets; each instance's answers are then read by seeking. A file
on object storage (or with unsealed parts) is first copied to a local spool file.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from dataclasses import dataclass, field
from typing import IO

import msgspec

from patchline.core.batch import ResponseLine, iter_responses
from patchline.core.closing import Closing
from patchline.core.custom_id import decode_sample_id
from patchline.core.errors import ArtifactNotFoundError, InputError, MalformedLineError
from patchline.core.jsonl import LineReport, load_json
from patchline.core.oserrors import os_errors
from patchline.core.samples import AnswerFacts, answer_facts
from patchline.core.store import open_artifact
from patchline.core.tempfiles import remove_stale
from patchline.core.tempfiles import spool as tempfiles_spool
from patchline.workflows.agentless.records import SampleStatus

__all__ = ["ResponseIndex", "SampleAnswer", "answer_too_large"]


@dataclass(frozen=True, slots=True)
class SampleAnswer:
    """The latest response line of one sample, reduced to what processing needs."""

    sample: int
    content: str
    reasoning: str
    usage: dict[str, int]
    failure: str  # "" for a usable answer; else why not ("request_failed: 429 rate_limited", ...)
    reasoning_only: bool = False
    too_large: bool = False  # over the answer size cap: not read at all
    facts: AnswerFacts = field(default_factory=AnswerFacts)  # tokens, latency, endpoint: the table's columns


def answer_too_large(sample: int, size: int, cap: int) -> SampleAnswer:
    """The answer of a sample whose response line is over the size cap: a failure, never read."""
    failure = f"{SampleStatus.ANSWER_TOO_LARGE}: the response line has {size} bytes, more than the cap of {cap}"
    return SampleAnswer(sample, "", "", {}, failure, too_large=True)


def answer_of(sample: int, line: ResponseLine) -> SampleAnswer:
    """Reduce a response line: failures and reasoning-only answers are data, never exceptions."""
    if not line.ok:
        code = line.error.code if line.error is not None else "http_error"
        message = line.error.message if line.error is not None else ""
        failure = f"{line.response.status_code} {code}: {message}".strip()
        return SampleAnswer(sample, "", line.reasoning_content, line.usage, failure, facts=answer_facts(line))
    return SampleAnswer(
        sample,
        line.content,
        line.reasoning_content,
        line.usage,
        "",
        reasoning_only=line.is_reasoning_only,
        facts=answer_facts(line),
    )


@dataclass(frozen=True, slots=True)
class _Line:
    """Where a sample's latest response line is: byte offset, length and 1-based line number."""

    start: int
    length: int
    line_no: int


@dataclass(slots=True)
class ResponseIndex(Closing):
    """Latest line offsets per instance and sample of one local response file (use as a context manager).

    A line longer than ``max_answer_bytes`` is never read back: its sample fails as ``answer_too_large``.
    """

    path: str
    source: str  # the file as the user named it, for messages
    max_answer_bytes: int  # the stage's workflow.max_answer_bytes
    offsets: dict[str, dict[int, _Line]] = field(default_factory=dict)
    lines: int = 0
    foreign_ids: int = 0
    report: LineReport = field(default_factory=LineReport)
    _spool: contextlib.ExitStack = field(default_factory=contextlib.ExitStack)
    _handle: IO[bytes] | None = None

    @classmethod
    def open(cls, uri: str, *, max_answer_bytes: int) -> ResponseIndex:
        """Index the response file ``uri`` (local path or storage URI)."""
        store, name = open_artifact(uri)
        spool = contextlib.ExitStack()
        if store.is_local and not store.list_files(name + ".parts"):
            path = store.path(name)
            if not os.path.exists(path):
                raise ArtifactNotFoundError(f"--batch_output {uri}: no such file")
        else:
            remove_stale(tempfile.gettempdir())
            out, path = spool.enter_context(tempfiles_spool(name))
            with out:
                for line in store.iter_lines(name):
                    out.write(line if line.endswith(b"\n") else line + b"\n")
        index = cls(path=path, source=store.uri(name), max_answer_bytes=max_answer_bytes, _spool=spool)
        try:
            with os_errors(index.source, path):
                index._scan()
        except BaseException:
            index.close()
            raise
        return index

    def _scan(self) -> None:
        offset = 0
        with open(self.path, "rb") as handle:
            for raw in handle:
                start, offset = offset, offset + len(raw)
                self.lines += 1
                custom_id = _custom_id_of(raw, lenient=len(raw) <= self.max_answer_bytes)
                if custom_id is None:
                    if raw.strip():
                        reason = "not a response line with a custom_id"
                        self.report(MalformedLineError(self.source, self.lines, reason))
                    continue
                try:
                    sample = decode_sample_id(custom_id)
                except InputError:
                    self.foreign_ids += 1
                    continue
                self.offsets.setdefault(sample.instance_id, {})[sample.index] = _Line(start, len(raw), self.lines)

    def answered(self, instance_id: str, sample: int) -> bool:
        """True when the file has a line for this sample (an answer or a failure)."""
        return sample in self.offsets.get(instance_id, {})

    def answers(self, instance_id: str) -> dict[int, SampleAnswer]:
        """The latest answer of each sample of ``instance_id`` that has a response line."""
        found = self.offsets.get(instance_id, {})
        if not found:
            return {}
        if self._handle is None:
            with os_errors(self.source, self.path):
                self._handle = open(self.path, "rb")  # noqa: SIM115 - closed in close()
        answers: dict[int, SampleAnswer] = {}
        for sample, where in sorted(found.items()):
            if where.length > self.max_answer_bytes:
                answers[sample] = answer_too_large(sample, where.length, self.max_answer_bytes)
                continue
            self._handle.seek(where.start)
            raw = self._handle.read(where.length)
            lines = iter_responses([raw], source=self.source, on_error=self.report, first_line_no=where.line_no)
            for line in lines:
                answers[sample] = answer_of(sample, line)
        return answers

    def close(self) -> None:
        """Close the file and remove the spool copy, if any."""
        if self._handle is not None:
            self._handle.close()
            self._handle = None
        self._spool.close()


class _CustomIdOnly(msgspec.Struct):
    """The custom_id of a response line, read without building the rest of it."""

    custom_id: str | None = None


_CUSTOM_ID_ONLY = msgspec.json.Decoder(_CustomIdOnly)


def _custom_id_of(raw: bytes, *, lenient: bool) -> str | None:
    """The custom_id of a line, or None for a line that is not a JSON object with one (reported later).

    The rest of the line is skipped, not built, so a huge line costs no memory beyond itself; a line
    only Python's json reads (NaN) is read that way when it is ``lenient`` (not too large).
    """
    try:
        value = _CUSTOM_ID_ONLY.decode(raw).custom_id
    except msgspec.ValidationError:  # not an object, or a custom_id that is not a string
        return None
    except (ValueError, RecursionError):  # not strict JSON (or nested too deeply)
        if not lenient:
            return None
        try:
            record = load_json(raw)
        except ValueError:  # not JSON, not UTF-8, or nested too deeply
            return None
        value = record.get("custom_id") if isinstance(record, dict) else None
    return value if isinstance(value, str) and value else None
