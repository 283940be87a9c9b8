"""The files one model answer changed: each path with its content before and after, in the order changed.

Agentless samples and BugFixer fixes both keep them; processed records write them as three parallel lists
(``edited_files``, ``original_file_content``, ``new_file_content``), which this type keeps in step.
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["ChangedFiles"]


@dataclass(slots=True)
class ChangedFiles:
    """Old and new content per changed path, in the order the paths were changed."""

    contents: dict[str, tuple[str, str]] = field(default_factory=dict)

    def add(self, path: str, old: str, new: str) -> None:
        """Record that ``path`` went from ``old`` to ``new``."""
        self.contents[path] = (old, new)

    @property
    def paths(self) -> list[str]:
        """The changed paths (a processed record's ``edited_files``)."""
        return list(self.contents)

    @property
    def originals(self) -> list[str]:
        """Their content before the edits (``original_file_content``), path by path."""
        return [old for old, _ in self.contents.values()]

    @property
    def new_contents(self) -> list[str]:
        """Their content after the edits (``new_file_content``), path by path."""
        return [new for _, new in self.contents.values()]
