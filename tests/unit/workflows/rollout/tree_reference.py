"""Reference models of the seed's structure printer and of Agentless' structure generator, from their rules.

``printed`` follows ``show_project_structure`` as issue and SPEC describe it; ``walked`` follows
``create_structure`` with ``os.walk`` made deterministic (folders and files visited in sorted order,
which is the order patchline states it uses). Both are independent of patchline's code.
"""

from __future__ import annotations

import ast
import os
from typing import Any

__all__ = ["printed", "walked"]


def printed(structure: dict[str, Any], *, test_flag: bool, spacing: int = 0) -> str:
    """The printer's output before the caller's ``.strip()``."""
    text = ""
    for key, value in structure.items():
        if "." in key and ".py" not in key:
            continue
        if not test_flag and key.startswith("test"):
            continue
        text += " " * spacing + key + ("\n" if "." in key else "/\n")
        if isinstance(value, dict) and "classes" not in value:
            text += printed(value, test_flag=test_flag, spacing=spacing + 4)
    return text


def _parsed(path: str) -> dict[str, Any]:
    try:
        with open(path, encoding="utf-8") as handle:
            content = handle.read()
        tree = ast.parse(content)
    except Exception:
        return {"classes": [], "functions": [], "text": ""}
    lines = content.splitlines()
    classes, functions, seen_methods = [], [], set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ClassDef):
            methods = []
            for item in node.body:
                if isinstance(item, ast.FunctionDef):
                    methods.append(
                        {
                            "name": item.name,
                            "start_line": item.lineno,
                            "end_line": item.end_lineno,
                            "text": lines[item.lineno - 1 : item.end_lineno],
                        }
                    )
                    seen_methods.add(item.name)
            classes.append(
                {
                    "name": node.name,
                    "start_line": node.lineno,
                    "end_line": node.end_lineno,
                    "text": lines[node.lineno - 1 : node.end_lineno],
                    "methods": methods,
                }
            )
        elif type(node) is ast.FunctionDef and node.name not in seen_methods:
            functions.append(
                {
                    "name": node.name,
                    "start_line": node.lineno,
                    "end_line": node.end_lineno,
                    "text": lines[node.lineno - 1 : node.end_lineno],
                }
            )
    return {"classes": classes, "functions": functions, "text": lines}


def walked(directory: str) -> dict[str, Any]:
    """The structure of a checkout folder as the generator builds it, walking in sorted order."""
    structure: dict[str, Any] = {}
    top = os.path.basename(directory)
    for root, folders, files in os.walk(directory):
        folders.sort()
        folders[:] = [f for f in folders if f != ".git"]
        relative = os.path.relpath(root, directory)
        node = structure
        for part in (top if relative == "." else relative).split(os.sep):
            node = node.setdefault(part, {})
        for name in sorted(files):
            node[name] = _parsed(os.path.join(root, name)) if name.endswith(".py") else {}
    return structure
