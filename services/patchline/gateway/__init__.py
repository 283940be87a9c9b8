"""The inference gateway: send batch request files to model endpoints and write response lines, resumably."""

from __future__ import annotations

from patchline.core.spec import EngineFlavor, ExecutorSettings, ModelEndpoints, Price, ThinkingProcessor
from patchline.gateway.accounting import ExecutionSummary, parse_price_table
from patchline.gateway.endpoints import EndpointPool, instance_key, normalise_base_url
from patchline.gateway.executor import Artifact, Target, execute_file, run_file
from patchline.gateway.output import CompactionReport, ResumeState, compact_output, scan_output
from patchline.gateway.retry import RetryPolicy, parse_retry_after
from patchline.gateway.thinking import prepare_body

__all__ = [
    "Artifact",
    "CompactionReport",
    "EndpointPool",
    "EngineFlavor",
    "ExecutionSummary",
    "ExecutorSettings",
    "ModelEndpoints",
    "Price",
    "ResumeState",
    "RetryPolicy",
    "Target",
    "ThinkingProcessor",
    "compact_output",
    "execute_file",
    "instance_key",
    "normalise_base_url",
    "parse_price_table",
    "parse_retry_after",
    "prepare_body",
    "run_file",
    "scan_output",
]
