"""Redaction of secrets (API keys, storage credentials) from whatever leaves the process.

A server may echo a caller's ``Authorization: Bearer <key>`` in an error body, an exception may quote it:
every file line, log line, status message and error message patchline emits goes through a
:class:`Redactor` built from the secrets the process was configured with. A secret is replaced wherever
it appears (so ``Bearer <key>`` becomes ``Bearer <redacted>``), also in the forms it takes once written
into JSON or a URL.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from typing import Any
from urllib.parse import quote

from pydantic import SecretStr

from patchline.core.jsonl import json_line, parse_json

__all__ = ["REDACTED", "RedactingFormatter", "Redactor"]

REDACTED = "<redacted>"


def _forms(secret: str) -> tuple[str, ...]:
    """The secret as written raw, inside a JSON string, and percent-encoded (each form once)."""
    in_json = json.dumps(secret)[1:-1]
    in_json_utf8 = json.dumps(secret, ensure_ascii=False)[1:-1]
    return tuple(dict.fromkeys((secret, in_json, in_json_utf8, quote(secret, safe=""))))


class Redactor:
    """Replaces every configured secret with ``<redacted>`` in texts, JSON values and JSON lines.

    Immutable; ``a + b`` redacts the secrets of both. Without secrets every method returns its input.
    """

    __slots__ = ("_forms", "_needles", "_secrets")

    def __init__(self, secrets: Iterable[str | SecretStr] = ()) -> None:
        values = {s.get_secret_value() if isinstance(s, SecretStr) else s for s in secrets}
        # Longest first: a secret that contains another is replaced whole.
        self._secrets = tuple(sorted((v for v in values if v), key=len, reverse=True))
        self._forms = tuple(dict.fromkeys(form for secret in self._secrets for form in _forms(secret)))
        self._needles = tuple(form.encode("utf-8") for form in self._forms)

    def __bool__(self) -> bool:
        return bool(self._secrets)

    def __repr__(self) -> str:
        return f"Redactor(<{len(self._secrets)} secrets>)"

    def __add__(self, other: Redactor) -> Redactor:
        return Redactor((*self._secrets, *other._secrets))

    def text(self, value: str) -> str:
        """``value`` with every form of every secret replaced."""
        for form in self._forms:
            if form in value:
                value = value.replace(form, REDACTED)
        return value

    def value(self, value: Any) -> Any:
        """A JSON value with the secrets replaced in every string (object keys included); a new value."""
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, dict):
            return {self.text(str(k)): self.value(v) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return [self.value(v) for v in value]
        return value

    def contains_secret(self, data: bytes) -> bool:
        """True when ``data`` holds a secret in one of its forms (a fast check before any rewriting)."""
        return any(needle in data for needle in self._needles)

    def json_line(self, record: dict[str, Any]) -> bytes:
        """``record`` as one JSON line, with the secrets replaced in its strings.

        The line is checked as bytes first; only a line that holds a secret is rebuilt, string by string,
        so numbers and structure can never be damaged by a replacement.
        """
        line = json_line(record)
        if self._needles and self.contains_secret(line):
            line = json_line(self.value(record))
        return line

    def raw_line(self, data: bytes) -> bytes:
        """A JSON line received from elsewhere, redacted the same way (an unreadable line as text).

        A line with ``\\u`` escapes is parsed even without a visible secret: an escaped key is still the key.
        """
        if not self._needles or not (self.contains_secret(data) or b"\\u" in data):
            return data
        end = b"\n" if data.endswith(b"\n") else b""
        try:
            parsed = parse_json(data)
        except ValueError:
            return self.text(data.decode("utf-8", "replace").rstrip("\n")).encode("utf-8") + end
        redacted = self.value(parsed)
        return data if redacted == parsed else json_line(redacted)


class RedactingFormatter(logging.Formatter):
    """Formats with ``inner`` and redacts the finished text (message, exception and extra fields alike)."""

    def __init__(self, inner: logging.Formatter, redactor: Redactor) -> None:
        super().__init__()
        self._inner = inner
        self._redactor = redactor

    def format(self, record: logging.LogRecord) -> str:
        return self._redactor.text(self._inner.format(record))
