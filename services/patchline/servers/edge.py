"""What every servicer checks a request against and redacts its answer with: one object, built at start."""

from __future__ import annotations

from dataclasses import dataclass

from patchline.core.access import AccessPolicy
from patchline.core.redact import Redactor
from patchline.retrieval import IndexLimits

__all__ = ["Edge"]


@dataclass(frozen=True)
class Edge:
    """The server's allowlists (roots, buckets, endpoints, key sets), its secrets, and its per-request limits."""

    policy: AccessPolicy
    redactor: Redactor
    index_limits: IndexLimits
