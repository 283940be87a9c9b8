"""The executor's settings, as the gateway sees them: the run-spec models of ``patchline.core.spec.executor``.

They are defined once there (the manifest's ``spec.executor`` section is the same model) and re-exported
here so gateway code and its callers import them from the package they configure.
"""

from __future__ import annotations

from patchline.core.spec.executor import (
    DEFAULT_MISMATCH_POLICY,
    EngineFlavor,
    ExecutorSettings,
    MismatchPolicy,
    ModelEndpoints,
    Price,
    ThinkingProcessor,
)

__all__ = [
    "DEFAULT_MISMATCH_POLICY",
    "EngineFlavor",
    "ExecutorSettings",
    "MismatchPolicy",
    "ModelEndpoints",
    "Price",
    "ThinkingProcessor",
]
