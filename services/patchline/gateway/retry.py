"""The one retry policy of the gateway: what is retried, how long to wait, and when to give up.

Retried: no HTTP answer (connection errors, dropped connections, timeouts, an unreadable body; status 0)
and the statuses of :data:`patchline.core.batch.RETRYABLE_STATUS_CODES` (408, 409, 425, 429, 5xx).
Permanent: every other 4xx (400 context length exceeded, 401, 404 unknown model, ...): recorded once.
Waits use exponential backoff with full jitter; a server's Retry-After (seconds or an HTTP date) is a
floor for the wait, capped so a bogus header cannot park a request for hours.
"""

from __future__ import annotations

import email.utils
import math
import random
import time
from dataclasses import dataclass, field

from patchline.core.batch import is_retryable_status
from patchline.core.spec import ExecutorSettings

__all__ = ["RetryPolicy", "parse_retry_after"]


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or HTTP-date); None if absent or unreadable."""
    if value is None:
        return None
    text = value.strip()
    if not text:
        return None
    try:
        seconds = float(text)
    except ValueError:
        seconds = math.nan
    if math.isfinite(seconds):
        return max(0.0, seconds)
    try:
        moment = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if moment.tzinfo is None:
        return None
    return max(0.0, moment.timestamp() - (time.time() if now is None else now))


@dataclass(frozen=True)
class RetryPolicy:
    """Bounded attempts with full-jitter exponential backoff that honours Retry-After.

    The bounds are the run's executor settings (``max_attempts``, ``backoff_*``, ``retry_after_cap_seconds``).
    """

    settings: ExecutorSettings = field(default_factory=ExecutorSettings)

    @staticmethod
    def is_retryable(status_code: int) -> bool:
        """True when an attempt that ended with this status (0: no HTTP answer) may succeed later."""
        return is_retryable_status(status_code)

    def should_retry(self, status_code: int, attempt: int) -> bool:
        """True when attempt number ``attempt`` (from 1) failed retryably and attempts remain."""
        return attempt < self.settings.max_attempts and self.is_retryable(status_code)

    def delay(self, attempt: int, *, retry_after: float | None = None, rng: random.Random | None = None) -> float:
        """Seconds to wait before attempt ``attempt + 1``: uniform in [0, min(cap, base * 2^(attempt-1))].

        Full jitter spreads the retries of many requests that failed together (one replica restarting)
        instead of sending them back in synchronised waves. A Retry-After is a lower bound.
        """
        s = self.settings
        ceiling = min(s.backoff_cap_seconds, s.backoff_base_seconds * (2.0 ** max(0, attempt - 1)))
        wait = (rng or random).uniform(0.0, ceiling) if ceiling > 0 else 0.0
        if retry_after is not None:
            wait = max(wait, min(retry_after, s.retry_after_cap_seconds))
        return wait
