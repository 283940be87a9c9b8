"""A pool of model endpoints: least-outstanding balancing, prompt and instance affinity, and cooldowns.

Affinity sends every sample of one instance (``"{iid}|{i}"`` or ``"{iid}__pass{k}"``) to the same
replica, so the shared prompt prefix is served from that replica's cache. It uses rendezvous hashing:
each instance ranks the endpoints by a hash of (instance, endpoint), and takes the first one that is not
cooling down, so removing or cooling one replica only moves that replica's instances.

Prompt affinity (a ``key`` per attempt: the executor's prompt groups) ranks the same way by the prompt's
key, with bounded loads: the first-ranked replica whose outstanding requests stay within
``affinity_load_factor`` times the mean takes it, so a skewed hash never leaves a replica idle while another
queues. A ``prefer`` index (where the prompt's last request went) wins while that replica is ready;
instance affinity, when switched on, wins over the prompt key.

An endpoint that fails ``cooldown_after_failures`` times in a row is cooled down for an exponentially growing
period; a success resets it. When every endpoint is cooling, the one whose cooldown ends first is used,
so a batch never stalls forever.
"""

from __future__ import annotations

import hashlib
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from patchline.core.batch import CHAT_COMPLETIONS_URL
from patchline.core.custom_id import SAMPLE_SEPARATOR, decode_pass_id, decode_sample_id
from patchline.core.errors import InputError
from patchline.core.spec import ExecutorSettings

__all__ = ["Endpoint", "EndpointPool", "instance_key", "join_url", "normalise_base_url"]

_API_SUFFIXES = ("/v1/chat/completions", "/chat/completions", "/v1")


def normalise_base_url(url: str) -> str:
    """A base URL from what a user passed: ``http://h:p``, ``http://h:p/v1`` or ``.../v1/chat/completions``."""
    base = url.strip().rstrip("/")
    if not base.startswith(("http://", "https://")):
        raise InputError(f"endpoint {url!r} is not an http(s) URL")
    for suffix in _API_SUFFIXES:
        if base.endswith(suffix):
            return base[: -len(suffix)].rstrip("/")
    return base


def join_url(base_url: str, path: str) -> str:
    """The request URL: the base URL plus the line's path (``/v1/chat/completions`` when empty)."""
    rel = (path or CHAT_COMPLETIONS_URL).strip()
    if "://" in rel:
        raise InputError(f"request url {path!r} must be a path such as {CHAT_COMPLETIONS_URL}")
    return base_url + ("" if rel.startswith("/") else "/") + rel


def instance_key(custom_id: str) -> str:
    """The instance a custom_id belongs to, under either custom_id convention (else the id itself)."""
    if SAMPLE_SEPARATOR in custom_id:
        try:
            return decode_sample_id(custom_id).instance_id
        except InputError:
            return custom_id
    return decode_pass_id(custom_id).instance_id


@dataclass
class Endpoint:
    """One replica and its live counters (mutated only by its pool, on the event loop)."""

    index: int
    base_url: str
    outstanding: int = 0
    sent: int = 0
    failures_in_row: int = 0
    cooldowns: int = 0
    cooled_until: float = 0.0


class EndpointPool:
    """Chooses an endpoint per attempt and learns from each attempt's outcome."""

    def __init__(
        self,
        urls: Sequence[str],
        settings: ExecutorSettings | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """``settings``: the run's executor settings (affinity, cooldowns, load bound); default: the defaults."""
        bases = [normalise_base_url(u) for u in urls]
        if not bases:
            raise InputError("at least one endpoint URL is required")
        self.endpoints = [Endpoint(i, b) for i, b in enumerate(bases)]
        self._settings = settings or ExecutorSettings()
        self._clock = clock

    def __len__(self) -> int:
        return len(self.endpoints)

    def acquire(self, custom_id: str, *, key: str | None = None, prefer: int | None = None) -> Endpoint:
        """The endpoint for the next attempt of ``custom_id``; counted as outstanding until released.

        ``key``: the request's prompt key (bounded-load affinity); ``prefer``: the index of the endpoint
        that served the prompt last, kept while it is ready.
        """
        if len(self.endpoints) == 1:  # the only choice, cooling or not (see the module's docstring)
            chosen = self.endpoints[0]
            chosen.outstanding += 1
            chosen.sent += 1
            return chosen
        now = self._clock()
        ready = [e for e in self.endpoints if e.cooled_until <= now]
        if not ready:
            ready = [min(self.endpoints, key=lambda e: e.cooled_until)]
        preferred = [e for e in ready if e.index == prefer] if prefer is not None else []
        if preferred:
            chosen = preferred[0]
        elif self._settings.affinity and len(ready) > 1:  # asked for: strict, the instance's replica whatever its load
            instance = instance_key(custom_id)
            chosen = max(ready, key=lambda e: _rendezvous(instance, e.base_url))
        elif key is not None and len(ready) > 1:
            chosen = self._bounded_rendezvous(key, ready)
        else:
            chosen = min(ready, key=lambda e: (e.outstanding, e.sent, e.index))
        chosen.outstanding += 1
        chosen.sent += 1
        return chosen

    def _bounded_rendezvous(self, key: str, ready: list[Endpoint]) -> Endpoint:
        """The first replica in ``key``'s rendezvous order whose load stays within the bound."""
        load = sum(e.outstanding for e in ready) + 1
        bound = math.ceil(load * self._settings.affinity_load_factor / len(ready))
        ranked = sorted(ready, key=lambda e: _rendezvous(key, e.base_url), reverse=True)
        return next((e for e in ranked if e.outstanding < bound), ranked[0])

    def release(self, endpoint: Endpoint, *, healthy: bool) -> None:
        """Record an attempt's end; ``healthy`` is False for a transport error or a 5xx/429 answer."""
        endpoint.outstanding -= 1
        if healthy:
            endpoint.failures_in_row = 0
            endpoint.cooldowns = 0
            return
        endpoint.failures_in_row += 1
        s = self._settings
        if endpoint.failures_in_row >= s.cooldown_after_failures:
            period = min(s.cooldown_cap_seconds, s.cooldown_base_seconds * 2.0**endpoint.cooldowns)
            endpoint.cooldowns += 1
            endpoint.failures_in_row = 0
            endpoint.cooled_until = self._clock() + period


def _rendezvous(key: str, endpoint_id: str) -> int:
    digest = hashlib.blake2b(f"{key}\x00{endpoint_id}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big")
