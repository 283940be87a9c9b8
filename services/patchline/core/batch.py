"""OpenAI Batch API lines: the request and response records every workflow and executor shares.

Request:  {"custom_id", "method": "POST", "url": "/v1/chat/completions", "body": {...}}
Response: {"id": "batch_req_<hex>", "custom_id", "response": {"status_code", "request_id", "body"},
           "error": null | {"code", "message"}}

A response line always has a ``response`` object: transport failures carry status_code 0 and an
empty body, so readers never meet ``"response": null``.
"""

from __future__ import annotations

import random
import re
from collections.abc import Iterable, Iterator
from typing import Annotated, Any, Literal

import msgspec
from pydantic import BaseModel, ConfigDict, Field, field_validator

from patchline.core.errors import InputError, RecordError
from patchline.core.jsonl import (
    ErrorPolicy,
    ErrorSink,
    NumberedRecord,
    iter_jsonl,
    iter_models,
    json_bytes,
    report_bad_line,
)
from patchline.core.spec import Sampling

__all__ = [
    "CHAT_COMPLETIONS_URL",
    "DEFAULT_REQUEST_PATHS",
    "REQUEST_PATH_PATTERN",
    "RETRYABLE_STATUS_CODES",
    "BatchError",
    "RawRequestLine",
    "RequestLine",
    "ResponseBody",
    "ResponseLine",
    "answer_texts",
    "body_usage",
    "cached_prompt_tokens",
    "chat_body",
    "checked_request_path",
    "is_reasoning_only_answer",
    "is_retryable_status",
    "iter_raw_requests",
    "iter_requests",
    "iter_responses",
    "latest_responses",
    "new_line_id",
    "response_record",
    "thinking_body_keys",
]

CHAT_COMPLETIONS_URL = "/v1/chat/completions"

DEFAULT_REQUEST_PATHS = (CHAT_COMPLETIONS_URL, "/v1/completions")
"""The request-line urls a service sends (``patchline serve --allow-request-path`` replaces them): a request
file is its caller's, and an endpoint's other paths (files, fine-tuning, admin) are not for its keys."""

# Status codes worth another attempt: 0 is "no HTTP answer" (connection error, timeout, bad body).
RETRYABLE_STATUS_CODES = frozenset({0, 408, 409, 425, 429, 500, 502, 503, 504})


# Line ids only need to be unique, not unpredictable: a seeded PRNG instead of a urandom call per line.
_LINE_IDS = random.Random()  # noqa: S311


def new_line_id() -> str:
    """A fresh ``batch_req_<32 hex>`` id for a response line."""
    return f"batch_req_{_LINE_IDS.getrandbits(128):032x}"


def is_retryable_status(status_code: int) -> bool:
    """True when a failure with this status may succeed if the request is sent again."""
    return status_code in RETRYABLE_STATUS_CODES or status_code >= 500


# A request's url is a path on the endpoint, joined to its base URL: printable ASCII without spaces and
# never a URL of its own, so a line can neither send its body to another host nor smuggle header lines.
REQUEST_PATH_PATTERN = r"^(?!.*://)[\x21-\x7e]*\Z"  # \Z: "$" would let a final newline through
_REQUEST_PATH = re.compile(REQUEST_PATH_PATTERN)


def checked_request_path(path: str) -> str:
    """``path`` as an allowed request path: absolute, printable, no scheme, query or dot segments (else InputError)."""
    segments = path.split("/")[1:]
    if not path.startswith("/") or not _REQUEST_PATH.match(path) or any(c in path for c in "?#"):
        raise InputError(f"request path {path!r}: a path such as {CHAT_COMPLETIONS_URL} (no scheme, query or spaces)")
    if any(segment in (".", "..") for segment in segments):
        raise InputError(f"request path {path!r}: no . or .. segments")
    return path


class RequestLine(BaseModel):
    """One chat completion request of a batch file."""

    model_config = ConfigDict(extra="allow")

    custom_id: str = Field(min_length=1, description="Unique key of the request within its file.")
    method: Literal["POST"] = "POST"
    url: str = Field(default=CHAT_COMPLETIONS_URL, description="Endpoint path, OpenAI Batch style.")
    body: dict[str, Any] = Field(description="The chat completion request body.")

    @field_validator("url")
    @classmethod
    def _url_is_a_path(cls, url: str) -> str:
        if not _REQUEST_PATH.match(url):
            raise ValueError(f"must be a path such as {CHAT_COMPLETIONS_URL} (printable ASCII, no spaces, no scheme)")
        return url


class RawRequestLine(msgspec.Struct, frozen=True):
    """A request line whose body stays raw JSON bytes: what the executor reads, to forward bodies unchanged.

    Parsing a prompt of tens of kilobytes into a dict and encoding it again costs more than sending it,
    and the executor only needs the body as bytes. The rules are :class:`RequestLine`'s (custom_id a
    non-empty string, method POST, url a string, body an object, other keys allowed); lines this fast
    reader cannot take go through :class:`RequestLine`, which accepts them or words the error
    (:func:`iter_raw_requests`).
    """

    custom_id: Annotated[str, msgspec.Meta(min_length=1)]
    body: msgspec.Raw
    method: Literal["POST"] = "POST"
    url: Annotated[str, msgspec.Meta(pattern=REQUEST_PATH_PATTERN)] = CHAT_COMPLETIONS_URL


class BatchError(BaseModel):
    """Why a request did not produce a usable answer."""

    code: str
    message: str


class ResponseBody(BaseModel):
    """The HTTP outcome of one request; ``body`` is everything the server sent (or {})."""

    status_code: int
    request_id: str = ""
    body: dict[str, Any] = Field(default_factory=dict)


class ResponseLine(BaseModel):
    """One finished request: a success, or a failure with its status code and error."""

    model_config = ConfigDict(extra="allow")

    id: str = Field(default_factory=new_line_id)
    custom_id: str = Field(min_length=1)
    response: ResponseBody
    error: BatchError | None = None

    @classmethod
    def success(
        cls, custom_id: str, body: dict[str, Any], *, status_code: int = 200, request_id: str = "", **extra: Any
    ) -> ResponseLine:
        """A line for an answered request; ``extra`` adds top-level fields (e.g. ``patchline`` stats)."""
        record = response_record(custom_id, status_code=status_code, body=body, request_id=request_id, **extra)
        return cls.model_validate(record)

    @classmethod
    def failure(
        cls,
        custom_id: str,
        *,
        status_code: int,
        code: str,
        message: str,
        body: dict[str, Any] | None = None,
        request_id: str = "",
        **extra: Any,
    ) -> ResponseLine:
        """A line for a request that failed; ``status_code`` 0 means no HTTP answer was received."""
        record = response_record(
            custom_id,
            status_code=status_code,
            body=body or {},
            request_id=request_id,
            error=(code, message),
            **extra,
        )
        return cls.model_validate(record)

    @property
    def ok(self) -> bool:
        """True for a 2xx answer without an error."""
        return self.error is None and 200 <= self.response.status_code < 300

    @property
    def is_final(self) -> bool:
        """True when a rerun should not send this request again (success or permanent failure)."""
        return self.ok or not is_retryable_status(self.response.status_code)

    @property
    def content(self) -> str:
        """The answer text of the first choice ('' when absent or null)."""
        return answer_texts(self.response.body)[0]

    @property
    def reasoning_content(self) -> str:
        """The reasoning text of the first choice ('' when absent)."""
        return answer_texts(self.response.body)[1]

    @property
    def is_reasoning_only(self) -> bool:
        """True when the model spent its answer on reasoning and left the content empty."""
        return self.ok and is_reasoning_only_answer(self.response.body)

    @property
    def usage(self) -> dict[str, int]:
        """Token usage the server reported, as integers (missing counts are left out)."""
        return body_usage(self.response.body)


def response_record(
    custom_id: str,
    *,
    status_code: int,
    body: dict[str, Any],
    request_id: str = "",
    error: tuple[str, str] | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """A response line as the plain dict it is written as: :class:`ResponseLine`'s fields, in order.

    The executor writes these directly (building a model per line costs more than sending it);
    ``error`` is (code, message) for a failure. :class:`ResponseLine` reads the same dict back.
    """
    if not isinstance(custom_id, str) or not custom_id:
        raise ValueError(f"custom_id must be a non-empty string, not {custom_id!r}")
    return {
        "id": new_line_id(),
        "custom_id": custom_id,
        "response": {"status_code": status_code, "request_id": request_id, "body": body},
        "error": None if error is None else {"code": error[0], "message": error[1]},
        **extra,
    }


def answer_texts(body: dict[str, Any]) -> tuple[str, str]:
    """(content, reasoning_content) of a chat completion's first choice ('' when absent or null)."""
    choices = body.get("choices")
    if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
        return "", ""
    message = choices[0].get("message")
    if not isinstance(message, dict):
        return "", ""
    content, reasoning = message.get("content"), message.get("reasoning_content")
    return (content if isinstance(content, str) else "", reasoning if isinstance(reasoning, str) else "")


def is_reasoning_only_answer(body: dict[str, Any]) -> bool:
    """True when a chat completion's content is empty and its reasoning is not."""
    content, reasoning = answer_texts(body)
    return not content.strip() and bool(reasoning.strip())


def body_usage(body: dict[str, Any]) -> dict[str, int]:
    """Token usage of a chat completion, as integers (missing counts are left out)."""
    raw = body.get("usage")
    if not isinstance(raw, dict):
        return {}
    return {k: int(v) for k, v in raw.items() if isinstance(v, int | float) and not isinstance(v, bool)}


def cached_prompt_tokens(body: dict[str, Any]) -> int | None:
    """Prompt tokens the server read from its prefix cache, or None when it did not say.

    OpenAI, vLLM, SGLang and llama.cpp report ``usage.prompt_tokens_details.cached_tokens``; llama.cpp also
    has ``timings.cache_n`` (the same count), read when the usage lacks it.
    """
    usage = body.get("usage")
    details = usage.get("prompt_tokens_details") if isinstance(usage, dict) else None
    value = details.get("cached_tokens") if isinstance(details, dict) else None
    if value is None:
        timings = body.get("timings")
        value = timings.get("cache_n") if isinstance(timings, dict) else None
    if isinstance(value, int | float) and not isinstance(value, bool):
        return int(value)
    return None


def thinking_body_keys(*, enable_thinking: bool, thinking_budget: int | None) -> dict[str, Any]:
    """Body keys that ask for (or turn off) reasoning, in every form an engine may read.

    The original scripts send top-level ``enable_thinking`` / ``thinking_budget``, which stock SGLang
    ignores; they are kept for compatibility and mirrored into ``chat_template_kwargs``, which the
    chat templates of thinking models read. The executor maps ``thinking_budget`` further where the
    engine supports it.
    """
    keys: dict[str, Any] = {
        "enable_thinking": enable_thinking,
        "chat_template_kwargs": {"enable_thinking": enable_thinking},
    }
    if enable_thinking and thinking_budget is not None:
        keys["thinking_budget"] = thinking_budget
    return keys


def chat_body(
    *, model: str, messages: list[dict[str, str]], sampling: Sampling, temperature: float | None = None
) -> dict[str, Any]:
    """A chat completion body from a run's sampling settings (SPEC §1): the one place every workflow's
    request bodies get ``max_tokens``, ``temperature``, ``top_p`` and the thinking keys from.

    ``temperature`` replaces the sampling temperature for one request (Agentless's greedy sample 0,
    the TestWriter's fixed pass temperatures).
    """
    body: dict[str, Any] = {
        "model": model,
        "messages": messages,
        "max_tokens": sampling.max_tokens,
        "temperature": sampling.temperature if temperature is None else temperature,
        "top_p": sampling.top_p,
    }
    body.update(thinking_body_keys(enable_thinking=sampling.enable_thinking, thinking_budget=sampling.thinking_budget))
    return body


def iter_requests(
    lines: Iterable[bytes | str],
    *,
    source: str,
    policy: ErrorPolicy = ErrorPolicy.SKIP,
    on_error: ErrorSink | None = None,
) -> Iterator[tuple[int, RequestLine]]:
    """Stream the request lines of a file; bad lines and repeated custom_ids are reported, not sent.

    Remembers the custom_ids seen so far (one short string each) to refuse duplicates: a request file
    with two lines for one custom_id would otherwise produce two competing answers.
    """
    seen: set[str] = set()
    records = iter_jsonl(lines, source=source, policy=policy, on_error=on_error)
    for line_no, request in iter_models(records, RequestLine, source=source, policy=policy, on_error=on_error):
        if request.custom_id in seen:
            error = RecordError(source, line_no, "custom_id", f"duplicate custom_id {request.custom_id!r}")
            report_bad_line(error, policy, on_error)
            continue
        seen.add(request.custom_id)
        yield line_no, request


_RAW_REQUEST = msgspec.json.Decoder(RawRequestLine)


def iter_raw_requests(
    lines: Iterable[bytes | str],
    *,
    source: str,
    policy: ErrorPolicy = ErrorPolicy.SKIP,
    on_error: ErrorSink | None = None,
) -> Iterator[tuple[int, RawRequestLine]]:
    """Stream request lines with raw bodies; blank lines skipped, bad lines reported as :func:`iter_requests` does.

    Repeated custom_ids are not checked here (the executor keeps their digests, not the strings).
    """
    for line_no, raw in enumerate(lines, start=1):
        try:
            if isinstance(raw, bytes):
                raw.decode("utf-8")  # a raw body is not decoded by msgspec, so check the text here
            request = _RAW_REQUEST.decode(raw)
        except (ValueError, RecursionError):  # UnicodeDecodeError, msgspec's DecodeError: ValueErrors
            pass
        else:
            if memoryview(request.body)[0] == 0x7B:  # "{": the body is an object
                yield line_no, request
                continue
        records = iter_jsonl([raw], source=source, policy=policy, on_error=on_error, first_line_no=line_no)
        for _, model in iter_models(records, RequestLine, source=source, policy=policy, on_error=on_error):
            body = msgspec.Raw(json_bytes(model.body))  # e.g. a NaN only Python's json reads
            yield line_no, RawRequestLine(custom_id=model.custom_id, body=body, url=model.url)


def iter_responses(
    lines: Iterable[bytes | str],
    *,
    source: str,
    policy: ErrorPolicy = ErrorPolicy.SKIP,
    on_error: ErrorSink | None = None,
    first_line_no: int = 1,
) -> Iterator[ResponseLine]:
    """Stream the response lines of a file in file order (several lines per custom_id are normal).

    Lines written by other tools with ``"response": null`` are read as transport failures (status 0).
    ``first_line_no`` numbers the lines in error reports (a caller reading one line from the middle).
    """
    records = iter_jsonl(lines, source=source, policy=policy, on_error=on_error, first_line_no=first_line_no)
    for numbered in records:
        record = numbered.record
        if record.get("response") is None:
            record = {**record, "response": {"status_code": 0, "body": {}}}
            record.setdefault("error", None)
            if record["error"] is None:
                record["error"] = {"code": "null_response", "message": "the line has no response"}
        for _, line in iter_models(
            [NumberedRecord(numbered.line_no, record)],
            ResponseLine,
            source=source,
            policy=policy,
            on_error=on_error,
        ):
            yield line


def latest_responses(lines: Iterable[ResponseLine]) -> dict[str, ResponseLine]:
    """The last line per custom_id: later lines (retries, reruns) replace earlier ones."""
    latest: dict[str, ResponseLine] = {}
    for line in lines:
        latest[line.custom_id] = line
    return latest
