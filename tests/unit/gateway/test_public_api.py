"""The public surface of patchline.gateway is pinned."""

from __future__ import annotations

import pytest

import patchline.gateway as gateway

pytestmark = pytest.mark.unit


def test_public_names() -> None:
    assert set(gateway.__all__) == {
        "Artifact",
        "CompactionReport",
        "EndpointPool",
        "EngineFlavor",
        "ModelEndpoints",
        "ExecutionSummary",
        "ExecutorSettings",
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
    }
    for name in gateway.__all__:
        assert getattr(gateway, name) is not None
