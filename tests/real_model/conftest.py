"""Two real llama.cpp replicas shared by the executor's real-model tests (started once per session)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.fixtures.llamacpp import RealModel, small_engine


@pytest.fixture(scope="session")
def replicas(tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[str]]:
    """Base URLs of two SmolLM2-135M replicas on 127.0.0.1 (4 slots of 1,024 tokens each)."""
    with RealModel(small_engine(replicas=2), tmp_path_factory.mktemp("llamacpp-logs")) as urls:
        yield urls
