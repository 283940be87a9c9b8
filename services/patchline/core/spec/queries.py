"""The parameters of a Retrieval Index or Search call, validated and checked like stage settings."""

from __future__ import annotations

from pydantic import Field

from patchline.core.spec.access import ReadUri
from patchline.core.spec.base import SpecModel

__all__ = ["SearchQuery"]


class SearchQuery(SpecModel):
    """One repository snapshot and what to look for in it (an Index call has no query, top_n or exclude)."""

    repo: ReadUri = Field(min_length=1, description="A folder or git repository the server can read.")
    commit: str | None = Field(default=None, description="Commit to read; unset: the folder as it is.")
    query: str = Field(default="", max_length=1_000_000, description="Text to rank the files against.")
    top_n: int = Field(default=10, ge=1, le=1000, description="Files to return, best first.")
    extensions: list[str] = Field(
        default_factory=lambda: [".py"], max_length=64, description="File name endings to index."
    )
    exclude: list[str] = Field(default_factory=list, max_length=100_000, description="Files left out of the corpus.")
