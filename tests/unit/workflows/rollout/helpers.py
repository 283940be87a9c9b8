"""Helpers of the rollout stage tests: response files as an executor writes them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from patchline.core.batch import ResponseLine


def ok_line(custom_id: str, content: str | None, *, reasoning: str | None = None, model: str = "m") -> str:
    """A successful response line with this answer."""
    message: dict[str, Any] = {"role": "assistant", "content": content}
    if reasoning is not None:
        message["reasoning_content"] = reasoning
    body = {"model": model, "choices": [{"index": 0, "message": message}]}
    return ResponseLine.success(custom_id, body).model_dump_json()


def failed_line(custom_id: str, status: int = 500) -> str:
    """A failed response line."""
    return ResponseLine.failure(custom_id, status_code=status, code="server_error", message="boom").model_dump_json()


def write_lines(path: Path, lines: list[str]) -> Path:
    """Write lines as a JSONL file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(line + "\n" for line in lines))
    return path


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    """The records of a JSONL file."""
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def answers_for(requests_file: Path, content: str) -> list[str]:
    """Success lines for every request of a request file, carrying its fingerprint as the executor writes it."""
    from patchline.core.batch import iter_raw_requests
    from patchline.core.fingerprint import REQUEST_FINGERPRINT, request_fingerprint

    lines = []
    with requests_file.open("rb") as handle:
        for _, request in iter_raw_requests(handle, source=str(requests_file)):
            stats = {REQUEST_FINGERPRINT: request_fingerprint(request.url, memoryview(request.body))}
            body = {"model": "m", "choices": [{"index": 0, "message": {"role": "assistant", "content": content}}]}
            lines.append(ResponseLine.success(request.custom_id, body, patchline=stats).model_dump_json())
    return lines
