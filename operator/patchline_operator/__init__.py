"""The patchline Kubernetes operator: InferenceRun and Rollout resources, their SGLang / llama.cpp servers and children.

``builders`` holds the pure object builders (no Kopf, no API calls); the Kopf handlers import them.
"""

from __future__ import annotations

from patchline_operator.builders import (
    GPU_RESOURCE,
    LLAMACPP_PORT,
    SGLANG_PORT,
    endpoint_urls,
    headless_service_name,
    llamacpp_command,
    llamacpp_deployment,
    llamacpp_objects,
    ready_addresses,
    server_labels,
    server_name,
    server_objects,
    service_url,
    sglang_command,
    sglang_deployment,
    sglang_headless_service,
    sglang_objects,
    sglang_service,
)

__all__ = [
    "GPU_RESOURCE",
    "LLAMACPP_PORT",
    "SGLANG_PORT",
    "endpoint_urls",
    "headless_service_name",
    "llamacpp_command",
    "llamacpp_deployment",
    "llamacpp_objects",
    "ready_addresses",
    "server_labels",
    "server_name",
    "server_objects",
    "service_url",
    "sglang_command",
    "sglang_deployment",
    "sglang_headless_service",
    "sglang_objects",
    "sglang_service",
]
