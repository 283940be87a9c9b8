"""Hostile request bodies against the HTTP servers patchline and its tests run: a 400, never a 500.

A body nested 100,000 levels deep (and one just below the JSON parser's own limit), a body that is not
UTF-8 and one that is JSON but not an object, against the oracle server, the fault-injecting server and
the Batch API test server, each on 127.0.0.1.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from patchline.oracle import OracleServer
from tests.fixtures.batch_api_server import BatchApiServer
from tests.fixtures.fault_server import FaultServer

pytestmark = pytest.mark.integration

DEEP = b'{"model": "m", "messages": [{"role": "user", "content": "x"}], "extra": ' + b"[" * 100_000 + b"]" * 100_000
HOSTILE = {
    "deep": DEEP + b"}",
    "just_parsable": b'{"model": "m", "messages": ' + b"[" * 900 + b"]" * 900 + b"}",
    "not_utf8": b'{"model": "\xff\xfe"}',
    "not_an_object": b"[1, 2, 3]",
    "messages_not_a_list": b'{"model": "m", "messages": {"role": "user"}}',
}


@pytest.fixture(params=["oracle", "fault", "batch_api"])
def endpoint(request: pytest.FixtureRequest, lite_test_path: Path) -> Iterator[str]:
    """The URL of a POST route that reads a JSON body, on each kind of server."""
    if request.param == "oracle":
        with OracleServer(lite_test_path) as oracle:
            yield f"{oracle.base_url}/v1/chat/completions"
    elif request.param == "fault":
        with FaultServer() as fault:
            yield f"{fault.base_url}/v1/chat/completions"
    else:
        with BatchApiServer() as api:
            yield f"{api.base_url}/v1/batches"


@pytest.mark.parametrize("body", list(HOSTILE), ids=list(HOSTILE))
def test_hostile_bodies_get_a_400_with_a_json_error(endpoint: str, body: str) -> None:
    reply = httpx.post(endpoint, content=HOSTILE[body], headers={"content-type": "application/json"}, timeout=30)
    assert reply.status_code == 400, reply.text[:300]
    assert "Traceback" not in reply.text
    assert isinstance(reply.json()["error"]["message"], str)
