"""Prompt-cache-aware sending: the samples of one prompt go one after another, to one replica.

Model servers reuse a prompt prefix only for a request that arrives after another with that prefix has
finished: llama.cpp never shares a prefix between requests in flight, and SGLang or vLLM cache a prefix
once its prefill is done. Measured with llama.cpp on 2 cores, 11 samples of one ~2,000-token prompt took
13.3 s one after another (0.91 of the prompt tokens cached) and 49.9 s all at once (0.28). So the
executor puts requests with the same prompt into one :class:`Lane`: a worker sends a lane's requests
one at a time, and the concurrency is spread across prompts, never within one.

The prompt of a request is what the server evaluates before sampling: the line's url and the body's
``model``, ``messages`` / ``prompt``, ``tools`` and chat-template keys. Sampling keys (``seed``,
``temperature``, ``top_p``, ``max_tokens``, ``n``) are not part of it, so the greedy sample and the
sampled ones of an instance share a lane. The key is also the endpoint affinity of the lane: the pool
ranks replicas by a hash of it (:meth:`EndpointPool.acquire`), so a later lane of the same prompt, and
a rerun, find the replica whose cache holds it.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections import deque
from typing import NamedTuple

import msgspec

from patchline.core.batch import RawRequestLine

__all__ = ["PROMPT_KEY_FIELDS", "Lane", "QueuedRequest", "prompt_key"]

_ABSENT = msgspec.Raw(b"")


class _PromptFields(msgspec.Struct):
    """The body keys that decide the tokens a server evaluates before it samples, as raw JSON (the rest of
    the body is skipped without being built)."""

    model: msgspec.Raw = _ABSENT
    messages: msgspec.Raw = _ABSENT
    prompt: msgspec.Raw = _ABSENT
    tools: msgspec.Raw = _ABSENT
    chat_template_kwargs: msgspec.Raw = _ABSENT
    enable_thinking: msgspec.Raw = _ABSENT


_PROMPT_FIELDS = msgspec.json.Decoder(_PromptFields)
PROMPT_KEY_FIELDS: tuple[str, ...] = _PromptFields.__struct_fields__


def prompt_key(request: RawRequestLine) -> str:
    """A digest of the request's prompt: equal for the samples of one prompt, different across prompts.

    Raw JSON is compared as written: two bodies whose prompts differ only in spacing or key order get
    different keys (they are then sent as two prompts, which costs cache hits, never correctness).
    A body this reader cannot take is its own prompt (keyed by its custom_id).
    """
    try:
        f = _PROMPT_FIELDS.decode(request.body)
    except (msgspec.DecodeError, msgspec.ValidationError):
        return hashlib.blake2b(b"\x00id\x00" + request.custom_id.encode(), digest_size=12).hexdigest()
    # NUL never occurs in JSON text, so joining on it keeps the fields apart (an absent field is empty).
    parts = (request.url.encode(), *msgspec.structs.astuple(f))
    return hashlib.blake2b(b"\x00".join(parts), digest_size=12).hexdigest()


class QueuedRequest(NamedTuple):
    """A request waiting to be sent, with its fingerprint (what the answer line records it answers)."""

    request: RawRequestLine
    fingerprint: str


class Lane:
    """The pending requests of one prompt, sent one after another by the worker that holds the lane.

    ``endpoint`` is the replica its last request went to, preferred for the next one (its cache has the
    prompt). The reader waits in :meth:`wait_for_space` while the lane holds ``limit`` requests, so
    memory stays bounded when many samples of one prompt come in a row.
    """

    __slots__ = ("_space", "endpoint", "key", "limit", "pending")

    def __init__(self, key: str | None, first: QueuedRequest, *, limit: int) -> None:
        self.key = key
        self.pending: deque[QueuedRequest] = deque((first,))
        self.limit = limit
        self.endpoint: int | None = None
        self._space: asyncio.Future[None] | None = None

    def __len__(self) -> int:
        return len(self.pending)

    def add(self, queued: QueuedRequest) -> None:
        """Queue one more request of this prompt."""
        self.pending.append(queued)

    def take(self) -> QueuedRequest:
        """The next request to send (the lane must not be empty); wakes a reader waiting for space."""
        queued = self.pending.popleft()
        space = self._space
        if space is not None and not space.done():
            space.set_result(None)
        return queued

    async def wait_for_space(self) -> None:
        """Return once the lane holds fewer than ``limit`` requests."""
        while len(self.pending) >= self.limit:
            self._space = asyncio.get_running_loop().create_future()
            await self._space
        self._space = None
