"""API keys on the wire: round robin over the configured keys, and redaction of keys from any text."""

from __future__ import annotations

from collections.abc import Mapping

from patchline.core.redact import Redactor
from patchline.core.settings import ApiKeys

__all__ = ["KeyRing"]


class KeyRing:
    """Hands out the Authorization header for each attempt, cycling through the keys.

    With no key (a local SGLang or the oracle server) no Authorization header is sent at all.
    """

    def __init__(self, keys: ApiKeys) -> None:
        self._secrets = tuple(k.get_secret_value() for k in keys.keys)
        self._next = 0
        self.redactor = Redactor(keys.keys)

    def __len__(self) -> int:
        return len(self._secrets)

    def __repr__(self) -> str:
        return f"KeyRing(<{len(self._secrets)} keys>)"

    def headers(self, base: Mapping[str, str] | None = None) -> Mapping[str, str]:
        """``base`` plus ``Authorization: Bearer <next key>``; ``base`` itself (or {}) without keys."""
        if not self._secrets:
            return base or {}
        key = self._secrets[self._next % len(self._secrets)]
        self._next += 1
        return {**(base or {}), "Authorization": f"Bearer {key}"}

    def redact(self, text: str) -> str:
        """``text`` with every key replaced (servers and exceptions may echo a key back)."""
        return self.redactor.text(text)
