"""The operations table: every stage operation patchline can run, by name. Read-only.

Explicit imports (mypy checks each table entry): the table is built by the processes that run stages
(``patchline serve``, ``patchline run`` in process); planners and the operator never import it.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from patchline.pipeline.adapters import agentless, editbench, gateway, retrieval, rollout
from patchline.pipeline.operations import Operation

__all__ = ["OPERATIONS", "default_operations"]

OPERATIONS: Mapping[str, Operation[Any]] = MappingProxyType(
    {
        op.ref.name: op
        for op in (
            *agentless.OPERATIONS,
            *rollout.OPERATIONS,
            *editbench.OPERATIONS,
            *gateway.OPERATIONS,
            *retrieval.OPERATIONS,
        )
    }
)


def default_operations() -> Mapping[str, Operation[Any]]:
    """All operations, keyed by name."""
    return OPERATIONS
