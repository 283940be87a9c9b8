"""Is a sample's patch usable? The verdict ``git apply --check`` gives at the base commit, and a syntax check.

One checker for every workflow: the repository content comes from the workflow's own source (Agentless'
shown files, a rollout's structure file or checkout, EditBench's prompt code), handed in as a
:data:`~patchline.edits.normalize.FileReader`. Both verdicts are columns of the sample table; nothing is
dropped because of them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from patchline.edits.checks import parses_ok
from patchline.edits.errors import PatchApplyError
from patchline.edits.normalize import FileReader
from patchline.edits.unified import diff_file_paths
from patchline.edits.verdict import apply_checked

__all__ = ["Validity", "check_validity"]


@dataclass(frozen=True, slots=True)
class Validity:
    """The verdicts of one patch: applies (None: no patch), git's reason, syntax (None: nothing to parse)."""

    applies: bool | None = None
    apply_error: str = ""
    syntax_ok: bool | None = None
    syntax_errors: list[str] = field(default_factory=list)
    after: dict[str, str | None] = field(default_factory=dict)  # the files after applying (when it applies)

    @property
    def valid(self) -> bool:
        """A patch that applies and whose edited Python files parse."""
        return bool(self.applies) and self.syntax_ok is not False


def check_validity(patch: str, read: FileReader, *, parses: Callable[[str, str], bool] = parses_ok) -> Validity:
    """Check ``patch`` against the files ``read`` gives at the base commit (``parses``: the syntax check)."""
    if not patch.strip():
        return Validity()
    try:
        paths = diff_file_paths(patch)
    except PatchApplyError as exc:  # a path that leaves the repository
        return Validity(applies=False, apply_error=str(exc))
    files: dict[str, str] = {}
    for source, _ in paths:
        content = read(source) if source is not None else None
        if content is not None:
            files[source or ""] = content
    verdict, state = apply_checked(files, patch)
    if not verdict.applies:
        return Validity(applies=False, apply_error=verdict.reason)
    edited = [
        path
        for path, content in state.items()
        if content is not None and content != files.get(path) and path.endswith(".py")
    ]
    errors = [path for path in edited if not parses(path, state[path] or "")]
    return Validity(applies=True, syntax_ok=not errors if edited else None, syntax_errors=errors, after=state)
