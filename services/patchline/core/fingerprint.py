"""Request fingerprints: what tells the answer to one request from the answer to another with the same custom_id.

A custom_id alone does not say which run a line belongs to: the TestWriter's and the BugFixer's step-1
requests share their ids, and so do two ``--batch_gen`` runs with different models. So every response
line the executor writes carries, in its ``patchline`` object (an extra key: readers of OpenAI batch
lines ignore it):

- ``request_fingerprint``: a hash of the request exactly as the request file holds it (its url and
  the raw bytes of its body, so the executor never parses a body to compute it);
- ``settings_fingerprint``: a hash of the executor settings that change what is sent (a ``--model``
  override, the engine's body mapping).

A rerun, or a stage reading the answers, compares them with the requests at hand; a line whose
fingerprint differs is not an answer to this request. What happens then is a :class:`MismatchPolicy`.
Lines without fingerprints (other tools, older patchline) cannot be checked and are taken as they are.
Request files keep the OpenAI batch input format: writers compare what they would write with what is
there instead (:func:`body_settings`).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from patchline.core.batch import iter_raw_requests
from patchline.core.errors import MalformedLineError, PreconditionError
from patchline.core.jsonl import iter_jsonl
from patchline.core.spec import DEFAULT_MISMATCH_POLICY, MismatchPolicy
from patchline.core.store import ArtifactStore

__all__ = [
    "FINGERPRINT_BITS",
    "REQUEST_FINGERPRINT",
    "SETTINGS_FINGERPRINT",
    "FingerprintMismatchError",
    "Mismatch",
    "MismatchPolicy",
    "body_settings",
    "check_answers_match",
    "combined_tag",
    "line_fingerprints",
    "request_fingerprint",
    "settings_fingerprint",
]

REQUEST_FINGERPRINT = "request_fingerprint"
SETTINGS_FINGERPRINT = "settings_fingerprint"
FINGERPRINT_BITS = 64
_DIGEST_BYTES = FINGERPRINT_BITS // 8


class FingerprintMismatchError(PreconditionError):
    """Existing lines were made for other requests than this run's; the message says which and what to do."""


@dataclass(frozen=True)
class Mismatch:
    """Existing lines that do not belong to this run: how many, and the first one."""

    count: int
    first_id: str
    detail: str = ""


def request_fingerprint(url: str, body: bytes | memoryview) -> str:
    """The fingerprint of one request line: 16 hex digits over its url and the raw bytes of its body."""
    digest = hashlib.blake2b(url.encode("utf-8"), digest_size=_DIGEST_BYTES)
    digest.update(b"\0")
    digest.update(body)
    return digest.hexdigest()


def settings_fingerprint(settings: Mapping[str, Any]) -> str:
    """The fingerprint of the settings that shape what is sent for each request (JSON-able values)."""
    text = json.dumps(settings, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.blake2b(text.encode("utf-8"), digest_size=_DIGEST_BYTES).hexdigest()


def combined_tag(request: str | None, settings: str | None) -> int:
    """One non-zero 64-bit number for both fingerprints of a line; 0 when the line has none."""
    if not request:
        return 0
    tag = int(request, 16) ^ (int(settings, 16) if settings else 0)
    return tag or 1


def line_fingerprints(record: Mapping[str, Any]) -> tuple[str | None, str | None]:
    """(request, settings) fingerprints of a response line as written (None where it has none)."""
    stats = record.get("patchline")
    if not isinstance(stats, Mapping):
        return None, None
    request, settings = stats.get(REQUEST_FINGERPRINT), stats.get(SETTINGS_FINGERPRINT)
    return (request if isinstance(request, str) else None, settings if isinstance(settings, str) else None)


def body_settings(body: Mapping[str, Any]) -> dict[str, Any]:
    """A request body without its messages: the sampling and model settings a writer compares lines by."""
    return {key: value for key, value in body.items() if key != "messages"}


def check_answers_match(
    responses: ArtifactStore,
    responses_name: str,
    requests: ArtifactStore,
    requests_name: str,
    *,
    policy: MismatchPolicy = DEFAULT_MISMATCH_POLICY,
    more_requests: Sequence[str] = (),
) -> Mismatch | None:
    """Refuse a response file whose answers were made for other requests than the run's request file holds.

    For processing stages: the latest line of each custom_id that carries a request fingerprint must
    match the request of that id (an answer to an id the request files lack is another run's too).
    ``more_requests`` names further request files of the run in the same store (resampling rounds).
    Nothing to compare (no request file, no fingerprints) passes. Only ``policy`` ACCEPT returns the
    mismatch instead of raising (RESTART is about a file the stage writes, not the answers it reads).
    """
    if not requests.exists(requests_name):
        return None
    expected = {
        request.custom_id: request_fingerprint(request.url, memoryview(request.body))
        for name in (requests_name, *(more for more in more_requests if requests.exists(more)))
        for _, request in iter_raw_requests(requests.iter_lines(name), source=requests.uri(name), on_error=_ignore)
    }
    latest: dict[str, str] = {}
    source = responses.uri(responses_name)
    for numbered in iter_jsonl(responses.iter_lines(responses_name), source=source, on_error=_ignore):
        custom_id = numbered.record.get("custom_id")
        if isinstance(custom_id, str):
            latest[custom_id] = line_fingerprints(numbered.record)[0] or ""
    differing = [cid for cid, fingerprint in latest.items() if fingerprint and expected.get(cid) != fingerprint]
    if not differing:
        return None
    mismatch = Mismatch(len(differing), differing[0])
    if policy is not MismatchPolicy.ACCEPT:
        raise FingerprintMismatchError(
            f"{source}: {mismatch.count} answer(s) there were made for other requests than "
            f"{requests.uri(requests_name)} holds (first: {mismatch.first_id!r}): it is another run's response "
            "file, or the requests were written over since; --accept-existing processes it anyway"
        )
    return mismatch


def _ignore(error: MalformedLineError) -> None:
    """Unreadable lines are the reading stage's to report; the comparison skips them."""
