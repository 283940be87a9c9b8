"""Fixtures of the Agentless unit tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.unit.workflows.agentless.helpers import Scenario, build_scenario


@pytest.fixture
def scenario(tmp_path: Path, shared_data: Path) -> Scenario:
    """The two gold instances with oracle localisation and files from the installed sympy (no git)."""
    return build_scenario(tmp_path, shared_data / "swebench_verified" / "swe_bench_verified.jsonl", git=False)
