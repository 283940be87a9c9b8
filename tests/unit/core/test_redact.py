"""Redaction of secrets from texts, JSON values, JSON lines and log lines."""

from __future__ import annotations

import json
import logging
import sys

from pydantic import SecretStr

from patchline.core.redact import REDACTED, RedactingFormatter, Redactor
from patchline.core.settings import configured_secrets


def test_every_form_of_a_secret_is_replaced() -> None:
    redactor = Redactor([SecretStr('sk-a"b/c')])
    raw = 'Authorization: Bearer sk-a"b/c'
    assert redactor.text(raw) == f"Authorization: Bearer {REDACTED}"
    assert redactor.text(json.dumps({"echo": raw})) == json.dumps({"echo": f"Authorization: Bearer {REDACTED}"})
    assert redactor.text("https://x/?key=sk-a%22b%2Fc") == f"https://x/?key={REDACTED}"


def test_a_secret_that_contains_another_is_replaced_whole() -> None:
    redactor = Redactor(["sk-1", "sk-1234"])
    assert redactor.text("sk-1234 and sk-1") == f"{REDACTED} and {REDACTED}"


def test_json_lines_keep_their_structure_even_for_a_short_secret() -> None:
    redactor = Redactor(["1"])  # a key that is also a digit of every number
    record = {"status_code": 401, "body": {"error": "key 1 is wrong", "1": [1, "x1"]}}
    line = redactor.json_line(record)
    assert json.loads(line) == {
        "status_code": 401,
        "body": {"error": f"key {REDACTED} is wrong", REDACTED: [1, "x" + REDACTED]},
    }
    assert Redactor().json_line(record) == (json.dumps(record, separators=(",", ":")) + "\n").encode()


def test_a_received_line_with_an_escaped_secret_is_redacted() -> None:
    redactor = Redactor(["sk-secret"])
    escaped = b'{"message": "Bearer \\u0073k-secret"}\n'
    assert json.loads(redactor.raw_line(escaped)) == {"message": f"Bearer {REDACTED}"}
    plain = b'{"message": "fine"}\n'
    assert redactor.raw_line(plain) is plain
    broken = b'{"message": "Bearer sk-secret\n'
    assert redactor.raw_line(broken) == f'{{"message": "Bearer {REDACTED}\n'.encode()


def test_log_lines_are_redacted_whatever_carries_the_secret() -> None:
    formatter = RedactingFormatter(logging.Formatter("%(message)s"), Redactor(["sk-secret"]))
    try:
        raise RuntimeError("server said Bearer sk-secret")
    except RuntimeError:
        record = logging.LogRecord("x", logging.ERROR, __file__, 1, "got %s", ("sk-secret",), exc_info=sys.exc_info())
    text = formatter.format(record)
    assert "sk-secret" not in text
    assert text.startswith(f"got {REDACTED}") and f"Bearer {REDACTED}" in text


def test_configured_secrets_cover_every_key_and_credential_variable() -> None:
    env = {
        "OPENAI_KEYS": "sk-a, sk-b",
        "OPENAI_API_KEY": "sk-c",
        "OPENAI_KEY": "sk-d",
        "AWS_SECRET_ACCESS_KEY": "aws-secret",
        "PATCHLINE_S3_SECRET_ACCESS_KEY": "pl-secret",
        "AWS_SESSION_TOKEN": "token",
        "EDITOR": "vi",
    }
    values = {s.get_secret_value() for s in configured_secrets(env)}
    assert values == {"sk-a", "sk-b", "sk-c", "sk-d", "aws-secret", "pl-secret", "token"}
    assert "sk-a" not in repr(Redactor(configured_secrets(env)))
