"""The Agentless unit tests' scenario: two Verified sympy instances with their gold files, as structure JSON."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.unit.workflows.agentless.helpers import Scenario, build_scenario


@pytest.fixture
def scenario(tmp_path: Path, shared_data: Path) -> Scenario:
    return build_scenario(tmp_path, shared_data / "swebench_verified" / "swe_bench_verified.jsonl", git=False)
