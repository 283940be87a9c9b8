"""The executor's fast request reader keeps bodies as raw bytes and judges lines exactly like RequestLine."""

from __future__ import annotations

import json

import pytest

from patchline.core.batch import iter_raw_requests, iter_requests
from patchline.core.errors import MalformedLineError

pytestmark = pytest.mark.unit

LINES = [
    b'{"custom_id": "ok|0", "body": {"model": "m", "messages": [{"content": "caf\\u00e9 \xc3\xa9"}]}}\n',
    b'{"custom_id": "spaced|0", "method": "POST", "url": "/v1/chat/completions", "body" :  { "a" : 1 } , "x": 2}\n',
    b"\n",
    b'{"custom_id": "nan|0", "body": {"temperature": NaN}}\n',  # only Python's json reads NaN
    b'{"custom_id": "", "body": {}}\n',
    b'{"custom_id": 7, "body": {}}\n',
    b'{"custom_id": "nobody|0"}\n',
    b'{"custom_id": "get|0", "method": "GET", "body": {}}\n',
    b'{"custom_id": "list|0", "body": [1, 2]}\n',
    b'{"custom_id": "cut|0", "body": {"a": \n',
    b'{"custom_id": "bad-utf8|0", "body": {"a": "\xff"}}\n',
    b"[1, 2]\n",
    b'{"custom_id": "elsewhere|0", "url": "http://other.host/v1/chat/completions", "body": {}}\n',
    b'{"custom_id": "smuggle|0", "url": "/v1/chat/completions HTTP/1.1\\r\\nX-Evil: 1", "body": {}}\n',
    b'{"custom_id": "spaces|0", "url": "/v1/chat completions", "body": {}}\n',
    b'{"custom_id": "newline|0", "url": "/v1/chat/completions\\n", "body": {}}\n',
    b'{"custom_id": "url|0", "url": "/v1/completions", "body": {}}',
]


def _read(reader: object) -> tuple[list[tuple[int, str, str]], list[str]]:
    errors: list[MalformedLineError] = []
    accepted = [
        (line_no, request.custom_id, request.url)
        for line_no, request in reader(LINES, source="in.jsonl", on_error=errors.append)  # type: ignore[operator]
    ]
    return accepted, [str(e) for e in errors]


def test_same_lines_accepted_and_same_errors_as_request_line() -> None:
    assert _read(iter_raw_requests) == _read(iter_requests)
    accepted, errors = _read(iter_raw_requests)
    assert [cid for _, cid, _ in accepted] == ["ok|0", "spaced|0", "nan|0", "url|0"]
    assert len(errors) == 12 and all(e.startswith("in.jsonl:") for e in errors)
    assert sum("url: Value error, must be a path" in e for e in errors) == 4


def test_bodies_are_the_bytes_of_the_file() -> None:
    requests = dict((r.custom_id, r) for _, r in iter_raw_requests(LINES[:4], source="in.jsonl"))
    assert bytes(requests["spaced|0"].body) == b'{ "a" : 1 }'  # forwarded exactly as written
    ok = json.loads(bytes(requests["ok|0"].body))
    assert ok["messages"][0]["content"] == "café é"
    assert json.loads(bytes(requests["nan|0"].body)) == {"temperature": None}  # re-encoded as strict JSON
