"""The endpoint pool: URL normalisation, least-outstanding balancing, affinity, cooldowns."""

from __future__ import annotations

from collections import Counter

import pytest

from patchline.core.errors import InputError
from patchline.core.spec import ExecutorSettings
from patchline.gateway.endpoints import Endpoint, EndpointPool, instance_key, join_url, normalise_base_url

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    "given",
    [
        "http://127.0.0.1:30000",
        "http://127.0.0.1:30000/",
        "http://127.0.0.1:30000/v1",
        "http://127.0.0.1:30000/v1/",
        "http://127.0.0.1:30000/v1/chat/completions",
    ],
)
def test_base_url_forms_are_tolerated(given: str) -> None:
    base = normalise_base_url(given)
    assert base == "http://127.0.0.1:30000"
    assert join_url(base, "/v1/chat/completions") == "http://127.0.0.1:30000/v1/chat/completions"


def test_base_url_keeps_a_path_prefix_and_refuses_non_http() -> None:
    assert normalise_base_url("https://api.example.test/openai/v1") == "https://api.example.test/openai"
    with pytest.raises(InputError):
        normalise_base_url("ftp://x")
    with pytest.raises(InputError):
        join_url("http://h", "http://elsewhere/v1/chat/completions")
    assert join_url("http://h", "") == "http://h/v1/chat/completions"


def test_instance_key_knows_both_conventions() -> None:
    assert instance_key("django__django-11099|3") == "django__django-11099"
    assert instance_key("a|b|0") == "a|b"
    assert instance_key("astropy__astropy-12907__pass2") == "astropy__astropy-12907"
    assert instance_key("sympy__sympy-20590") == "sympy__sympy-20590"
    assert instance_key("weird|x") == "weird|x"


def test_least_outstanding_balancing() -> None:
    pool = EndpointPool(["http://a", "http://b", "http://c"])
    held = [pool.acquire(f"id{i}") for i in range(6)]
    assert Counter(e.index for e in held) == {0: 2, 1: 2, 2: 2}
    for endpoint in held[:2]:
        pool.release(endpoint, healthy=True)
    freed = {held[0].index, held[1].index}
    assert pool.acquire("next").index in freed


def test_affinity_keeps_an_instance_on_one_endpoint_and_spreads_instances() -> None:
    pool = EndpointPool(["http://a", "http://b", "http://c", "http://d"], ExecutorSettings(affinity=True))
    chosen: dict[str, set[int]] = {}
    for n in range(200):
        for k in range(5):
            endpoint = pool.acquire(f"inst-{n}|{k}")
            chosen.setdefault(f"inst-{n}", set()).add(endpoint.index)
            pool.release(endpoint, healthy=True)
    assert all(len(indices) == 1 for indices in chosen.values())
    spread = Counter(next(iter(v)) for v in chosen.values())
    assert len(spread) == 4 and min(spread.values()) > 20


def test_failing_endpoint_is_cooled_down_then_recovers() -> None:
    now = [0.0]
    rest = ExecutorSettings(cooldown_after_failures=3, cooldown_base_seconds=10.0, cooldown_cap_seconds=40.0)
    pool = EndpointPool(["http://a", "http://b"], rest, clock=lambda: now[0])
    bad = pool.endpoints[0]
    for _ in range(3):
        pool.release(_hold(pool, bad), healthy=False)
    assert bad.cooled_until == 10.0
    assert all(pool.acquire(f"r{i}").index == 1 for i in range(5))
    now[0] = 10.0
    assert any(pool.acquire(f"s{i}").index == 0 for i in range(10))
    for _ in range(3):
        pool.release(_hold(pool, bad), healthy=False)
    assert bad.cooled_until == 30.0  # second cooldown doubles
    pool.release(_hold(pool, bad), healthy=True)
    assert bad.cooldowns == 0 and bad.failures_in_row == 0


def test_all_cooled_still_serves_the_soonest() -> None:
    now = [0.0]
    pool = EndpointPool(["http://a", "http://b"], _rest_after_one(5.0), clock=lambda: now[0])
    pool.release(_hold(pool, pool.endpoints[0]), healthy=False)
    now[0] = 1.0
    pool.release(_hold(pool, pool.endpoints[1]), healthy=False)
    assert pool.acquire("x").index == 0  # cooled until 5.0, before b's 6.0


def test_affinity_avoids_a_cooled_endpoint() -> None:
    pool = EndpointPool(
        ["http://a", "http://b"], ExecutorSettings(affinity=True, cooldown_after_failures=1, cooldown_base_seconds=60.0)
    )
    home = pool.acquire("inst|0")
    pool.release(home, healthy=False)
    assert pool.acquire("inst|1").index != home.index


def test_pool_needs_an_endpoint() -> None:
    with pytest.raises(InputError):
        EndpointPool([])


def _rest_after_one(base_seconds: float) -> ExecutorSettings:
    """Settings that rest an endpoint after one failure, first for ``base_seconds``."""
    return ExecutorSettings(cooldown_after_failures=1, cooldown_base_seconds=base_seconds)


def _hold(pool: EndpointPool, endpoint: Endpoint) -> Endpoint:
    """Count an attempt on ``endpoint`` as outstanding (as acquire would) and return it."""
    endpoint.outstanding += 1
    return endpoint


def test_prompt_key_is_sticky_while_loads_are_even() -> None:
    pool = EndpointPool(["http://a", "http://b"])
    homes: dict[str, set[int]] = {}
    for n in range(100):
        for _ in range(3):
            endpoint = pool.acquire(f"x{n}", key=f"prompt-{n}")
            homes.setdefault(f"prompt-{n}", set()).add(endpoint.index)
            pool.release(endpoint, healthy=True)
    assert all(len(indices) == 1 for indices in homes.values())
    assert set(Counter(next(iter(v)) for v in homes.values())) == {0, 1}


def test_prompt_key_affinity_is_bounded_by_load() -> None:
    pool = EndpointPool(["http://a", "http://b"], ExecutorSettings(affinity_load_factor=1.25))
    # Prompts whose hash prefers endpoint 0, held in flight: the bound moves the later ones to endpoint 1.
    keys = [f"p{n}" for n in range(400) if EndpointPool(["http://a", "http://b"]).acquire("c", key=f"p{n}").index == 0]
    held = [pool.acquire("c", key=key) for key in keys[:8]]
    loads = Counter(e.index for e in held)
    assert loads[1] >= 3 and loads[0] <= 5


def test_prefer_wins_while_ready_and_falls_back_when_cooling() -> None:
    now = [0.0]
    pool = EndpointPool(["http://a", "http://b"], _rest_after_one(1.0), clock=lambda: now[0])
    assert all(pool.acquire("c", key="k", prefer=1).index == 1 for _ in range(5))
    target = pool.endpoints[1]
    for _ in range(5):
        pool.release(target, healthy=True)
    pool.release(pool.acquire("c", prefer=1), healthy=False)  # endpoint 1 cools down
    assert pool.acquire("c", key="k", prefer=1).index == 0
