"""The executor's settings, as the gateway sees them: the run-spec models of ``patchline.core.spec.executor``.

They are defined once there (the manifest's ``spec.executor`` section is the same model) and re-exported
here so gateway code and its callers import them from the package they configure.
"""

from __future__ import annotations

from patchline.core.spec.executor import EngineFlavor, ExecutorSettings, ModelEndpoints, Price, ThinkingProcessor

__all__ = ["EngineFlavor", "ExecutorSettings", "ModelEndpoints", "Price", "ThinkingProcessor"]
