"""IdMap: a compact custom_id -> flag map that stands in for sets of millions of strings."""

from __future__ import annotations

import pytest

from patchline.gateway.idmap import IdMap

pytestmark = pytest.mark.unit


def test_put_get_and_growth() -> None:
    ids = IdMap(capacity=8)
    for n in range(5000):
        assert ids.put(f"django__django-{n}|{n % 7}", n % 2) is None
    assert len(ids) == 5000
    assert all(ids.get(f"django__django-{n}|{n % 7}") == n % 2 for n in range(5000))
    assert ids.get("django__django-1|2") is None and "nope" not in ids
    assert ids.put("django__django-0|0", 1) == 0  # a newer value replaces the old one
    assert len(ids) == 5000 and ids.count(1) == 2501
    assert "django__django-0|0" in ids


def test_ids_differing_in_one_character_are_distinct() -> None:
    ids = IdMap()
    ids.put("a|1", 1)
    assert ids.get("a|10") is None and ids.get("a|1 ") is None and ids.get("a|1") == 1


def test_values_are_small() -> None:
    with pytest.raises(ValueError, match="0..127"):
        IdMap().put("x", 300)


def test_tags_are_kept_with_their_ids_through_growth() -> None:
    ids = IdMap(capacity=8)
    assert ids.tag("nothing") == 0
    for n in range(500):
        ids.put(f"id-{n}", n % 2, tag=(n * 2654435761) % 2**64 or 1)
    assert all(ids.tag(f"id-{n}") == ((n * 2654435761) % 2**64 or 1) for n in range(500))
    ids.put("id-7", 1)
    assert ids.tag("id-7") == 0 and ids.tag("never") == 0
