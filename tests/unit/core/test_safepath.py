"""Path components from data never leave the folder they are joined to."""

from __future__ import annotations

import pytest

from patchline.core.errors import UnsafePathError
from patchline.core.safepath import item_file_name, safe_component, safe_relpath

pytestmark = pytest.mark.unit

ATTACKS = ["..", ".", "", "../etc/passwd", "a/../../b", "/etc/passwd", "a\\..\\b", "nul\x00byte", "line\nbreak"]


@pytest.mark.parametrize("value", ATTACKS + ["a/b"])
def test_components_refuse_traversal(value: str) -> None:
    with pytest.raises(UnsafePathError):
        safe_component(value)


@pytest.mark.parametrize("value", ["..", "../x", "a/../../b", "/abs", "\\\\server\\share", "a\x00", "C:\\x", "a/./.."])
def test_relative_paths_refuse_traversal(value: str) -> None:
    with pytest.raises(UnsafePathError):
        safe_relpath(value)


@pytest.mark.parametrize(
    ("value", "expected"),
    [("a/b.py", "a/b.py"), ("./a//b", "a/b"), ("deepseek-ai/DeepSeek-V3", "deepseek-ai/DeepSeek-V3"), ("x", "x")],
)
def test_relative_paths_are_normalised(value: str, expected: str) -> None:
    assert safe_relpath(value) == expected


@pytest.mark.parametrize(
    "value", ["django__django-11099", "psf__requests-2317__pass3", "sympy__sympy-20590|0", "T=0.8"]
)
def test_real_names_are_accepted(value: str) -> None:
    assert safe_component(value) == value


@pytest.mark.parametrize("value", ["django__django-11099", "psf__requests-2317__pass3", "a.b_c-1"])
def test_plain_item_keys_keep_their_name(value: str) -> None:
    assert item_file_name(value, suffix=".jsonl") == f"{value}.jsonl"


@pytest.mark.parametrize(
    "value", [*ATTACKS[:2], *ATTACKS[3:], "x" * 300, "é" * 200, "id|0", "a b", ".tmp-abcdefgh-x", "a" * 151]
)
def test_other_item_keys_get_a_safe_bounded_hashed_name(value: str) -> None:
    name = item_file_name(value, suffix=".log")
    assert safe_component(name) == name and not name.startswith(".")
    assert len(name.encode()) <= 97 + len(".log") and name.endswith(".log")
    assert name != item_file_name(value + "!", suffix=".log")


def test_a_key_shaped_like_a_hashed_name_cannot_take_another_keys_name() -> None:
    hashed = item_file_name("a/b")
    assert item_file_name(hashed) != hashed
    with pytest.raises(UnsafePathError):
        item_file_name("")
