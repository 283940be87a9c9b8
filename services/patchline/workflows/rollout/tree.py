"""The "### Repository Structure ###" block of the rollouts' step-1 prompt, as the seed renders it.

The seed prints the structure JSON with ``show_project_structure(structure, test_flag)`` and strips
the result; this module follows its rules byte for byte (SPEC.md §4), quirks included:

- entries are printed in the structure's key order, four spaces per level;
- a key containing ``.`` but not ``.py`` is skipped (``README.md``, ``.github``); so ``x.pyc`` or a
  folder named ``.pyinstaller`` is printed, and printed without a slash (it contains a dot);
- every other key is printed: with a trailing ``/`` when it has no dot, even for a file (``LICENSE/``)
  and even when nothing below it is shown (a folder of data files, or one whose files all start
  with ``test``);
- without ``test_flag`` (the BugFixer) keys starting with ``test`` are skipped with everything below;
  the TestWriter passes it;
- the printer descends into a value unless it has a key ``classes`` (a Python file entry; also, as
  in the original, a folder holding an entry named ``classes``).

A git snapshot is printed through the same rules over the structure ``patchline repos structure``
writes for it (:func:`patchline.core.structure.structure_layout`), so both sources give one prompt.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from patchline.core.structure import structure_layout
from patchline.core.structure_entry import is_python_path

__all__ = ["INDENT", "render_structure_tree", "render_tree", "structure_python_files"]

INDENT = "    "
_PY_FILE_KEYS = frozenset({"classes", "functions", "text"})


def _shown(key: str, *, show_tests: bool) -> bool:
    if "." in key and ".py" not in key:
        return False
    return show_tests or not key.startswith("test")


def _render(node: Mapping[str, Any], depth: int, show_tests: bool, out: list[str]) -> None:
    for key, value in node.items():
        if not _shown(key, show_tests=show_tests):
            continue
        out.append(f"{INDENT * depth}{key}{'' if '.' in key else '/'}\n")
        if isinstance(value, Mapping) and "classes" not in value:
            _render(value, depth + 1, show_tests, out)


def render_structure_tree(structure: Mapping[str, Any], *, show_tests: bool) -> str:
    """The block for a structure dict (the value of the JSON's ``structure`` key), stripped as the seed does."""
    out: list[str] = []
    _render(structure, 0, show_tests, out)
    return "".join(out).strip()


def _name_leaf(path: str) -> dict[str, Any]:
    return {"classes": []} if is_python_path(path) else {}


def render_tree(paths: Iterable[str], *, show_tests: bool, root_folder: str | None = None) -> str:
    """The block for a snapshot's files (posix, relative), laid out as its structure JSON would be."""
    return render_structure_tree(structure_layout(paths, _name_leaf, root_folder=root_folder), show_tests=show_tests)


def structure_python_files(structure: Mapping[str, Any], prefix: str = "") -> list[str]:
    """Paths of the Python file entries of an Agentless structure dict, in structure order."""
    found: list[str] = []
    for name, value in structure.items():
        if not isinstance(value, Mapping) or not value:
            continue
        path = f"{prefix}{name}"
        if value.keys() == _PY_FILE_KEYS:
            found.append(path)
        else:
            found.extend(structure_python_files(value, f"{path}/"))
    return found
