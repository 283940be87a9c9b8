"""The schemas docs/samples.md shows are the ones the sample-file models render (one definition)."""

from __future__ import annotations

import pytest

from patchline.devtools.gen_docs import main, render_page

pytestmark = pytest.mark.unit


def test_schema_tables_are_fresh() -> None:
    assert main(["--check"]) == 0, "docs/samples.md is stale: run `make docs` and commit it"


def test_a_page_without_a_schema_region_is_refused() -> None:
    with pytest.raises(ValueError, match="schema:SampleRecord"):
        render_page("no regions here")
