"""The structure-JSON entry of one file, recorded as Agentless' ``parse_python_file`` records it.

A ``.py`` file is ``{"classes", "functions", "text"}``; any other file is ``{}``. The rules are the
original's, quirks included, so a structure written by patchline equals the one its users download:

- the file is read as ``open(path).read()`` reads it: UTF-8, with universal newlines (``\\r\\n`` and
  ``\\r`` become ``\\n``); ``text`` is ``content.splitlines()``, which also breaks lines at form feeds
  and the other separators of ``str.splitlines``;
- a file that cannot be read (not UTF-8) or does not parse (``ast.parse`` fails, a NUL byte included)
  is ``{"classes": [], "functions": [], "text": ""}``;
- definitions come from ``ast.walk`` (breadth first): every ``class`` at any depth, with the plain
  ``def`` statements directly in its body as ``methods``; every plain ``def`` at any depth (nested
  functions too) whose name is not the name of a method seen earlier in the walk is a ``function``;
  ``async def`` is never listed;
- each definition has ``name``, ``start_line`` (the ``class``/``def`` line, decorators excluded),
  ``end_line`` and ``text`` (its lines from ``content.splitlines()``).
"""

from __future__ import annotations

import ast
from typing import Any

from patchline.core.pydefs import PythonSyntaxError, parse_python

__all__ = ["is_python_path", "original_file_entry", "read_as_python_text", "unreadable_python_entry"]


def unreadable_python_entry() -> dict[str, Any]:
    """What the original records for a ``.py`` file it cannot read or parse."""
    return {"classes": [], "functions": [], "text": ""}


def is_python_path(path: str) -> bool:
    """A file the original parses: its name ends with ``.py``."""
    return path.endswith(".py")


def read_as_python_text(text: str) -> str:
    """``text`` as Python's text mode reads it (universal newlines)."""
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _span(node: ast.ClassDef | ast.FunctionDef, lines: list[str]) -> dict[str, Any]:
    end = node.end_lineno if node.end_lineno is not None else node.lineno
    return {"name": node.name, "start_line": node.lineno, "end_line": end, "text": lines[node.lineno - 1 : end]}


def original_file_entry(path: str, text: str | None) -> dict[str, Any]:
    """The entry of ``path`` with content ``text`` (None: not readable as UTF-8) as the original writes it."""
    if not is_python_path(path):
        return {}
    if text is None:
        return unreadable_python_entry()
    content = read_as_python_text(text)
    try:
        tree = parse_python(content, filename=path)
    except PythonSyntaxError:
        return unreadable_python_entry()
    lines = content.splitlines()
    classes: list[dict[str, Any]] = []
    functions: list[dict[str, Any]] = []
    method_names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ClassDef):
            methods = [_span(child, lines) for child in node.body if isinstance(child, ast.FunctionDef)]
            method_names.update(method["name"] for method in methods)
            classes.append({**_span(node, lines), "methods": methods})
        elif isinstance(node, ast.FunctionDef) and node.name not in method_names:
            functions.append(_span(node, lines))
    return {"classes": classes, "functions": functions, "text": lines}
