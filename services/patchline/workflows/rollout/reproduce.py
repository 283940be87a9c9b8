"""The TestWriter's ``reproduce_bug.py``: an edited test file made standalone, and its new-file patch.

Relative imports become absolute by editing the source text at the positions ``ast`` and ``tokenize``
report, so comments, blank lines and formatting survive (the original ``ast.unparse``s the whole file
and loses them). A ``__main__`` block that runs the tests and prints ``Issue reproduced`` /
``Issue resolved`` / ``Other issues`` is appended when the file has none.
"""

from __future__ import annotations

import ast
import io
import re

from patchline.edits import render_file_diff

__all__ = [
    "ERROR_GUARD",
    "REPRODUCE_FILE",
    "absolutize_imports",
    "has_main_block",
    "main_block",
    "make_reproduce_script",
    "new_file_patch",
    "new_test_function",
]

REPRODUCE_FILE = "reproduce_bug.py"
_SOURCE_ROOTS = ("src", "lib")


def _package_parts(file_path: str) -> list[str]:
    parts = file_path.split("/")[:-1]
    if parts and parts[0] in _SOURCE_ROOTS:
        parts = parts[1:]
    return parts


def _absolute_module(node: ast.ImportFrom, package: list[str]) -> str | None:
    if node.level - 1 > len(package):
        return None
    base = package[: len(package) - (node.level - 1)]
    parts = [*base, *([node.module] if node.module else [])]
    return ".".join(parts) if parts else None


def _line_offsets(lines: list[str]) -> list[int]:
    offsets = [0]
    for line in lines:
        offsets.append(offsets[-1] + len(line))
    return offsets


_IMPORT_KEYWORD = re.compile(r"\bimport\b")
_MODULE_TEXT = re.compile(r"[\s.\w\\]*")
_MODULE_NAME = re.compile(r"[.\w](?:[.\w \t]*[.\w])?")


def absolutize_imports(source: str, file_path: str, *, tree: ast.Module | None = None) -> str:
    """``from .x import y`` -> ``from pkg.x import y`` for a file at ``file_path``; other text unchanged.

    Only the text between ``from`` and ``import`` of each relative import is replaced, at the position
    ``ast`` reports. Returns ``source`` as it is when it does not parse (the script is still written:
    running it then reports the syntax error, which is the honest outcome). ``tree`` is ``source`` parsed,
    when the caller has it already.
    """
    if tree is None:
        tree = _parse(source)
    if tree is None:
        return source
    package = _package_parts(file_path)
    lines = io.StringIO(source).readlines()
    offsets = _line_offsets(lines)
    replacements: list[tuple[int, int, str]] = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.ImportFrom) or node.level == 0:
            continue
        module = _absolute_module(node, package)
        line = lines[node.lineno - 1]
        column = len(line.encode("utf-8")[: node.col_offset].decode("utf-8", "replace"))
        begin = offsets[node.lineno - 1] + column
        keyword = _IMPORT_KEYWORD.search(source, begin + len("from"))
        if module is None or not source.startswith("from", begin) or keyword is None:
            continue
        name = _MODULE_NAME.search(source, begin + len("from"), keyword.start())
        if name is None or not _MODULE_TEXT.fullmatch(source, begin + len("from"), keyword.start()):
            continue
        replacements.append((name.start(), name.end(), module))
    for start, stop, text in sorted(replacements, reverse=True):
        source = source[:start] + text + source[stop:]
    return source


def _is_main_test(test: ast.expr) -> bool:
    if not isinstance(test, ast.Compare) or len(test.ops) != 1 or not isinstance(test.ops[0], ast.Eq):
        return False
    sides = [test.left, *test.comparators]
    names = [s for s in sides if isinstance(s, ast.Name) and s.id == "__name__"]
    constants = [s for s in sides if isinstance(s, ast.Constant) and s.value == "__main__"]
    return bool(names and constants)


def _parse(source: str) -> ast.Module | None:
    try:
        return ast.parse(source)
    except (SyntaxError, ValueError):
        return None


def has_main_block(source: str, *, tree: ast.Module | None = None) -> bool:
    """True when the module has a top-level ``if __name__ == "__main__":``."""
    tree = tree if tree is not None else _parse(source)
    if tree is None:
        return "__main__" in source
    return any(isinstance(node, ast.If) and _is_main_test(node.test) for node in tree.body)


def _test_functions(source: str) -> dict[str, str]:
    """``qualified name -> source lines`` of every ``test*`` function (``Class::method`` inside a class)."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return {}
    lines = io.StringIO(source).readlines()

    def text(node: ast.stmt) -> str:
        return "".join(lines[node.lineno - 1 : node.end_lineno])

    found: dict[str, str] = {}
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name.startswith("test"):
            found[node.name] = text(node)
        elif isinstance(node, ast.ClassDef):
            for item in node.body:
                if isinstance(item, ast.FunctionDef | ast.AsyncFunctionDef) and item.name.startswith("test"):
                    found[f"{node.name}::{item.name}"] = text(item)
    return found


def new_test_function(old: str, new: str) -> str | None:
    """The test the edit added (the last one), else the last one it changed; ``Class::method`` in classes."""
    before, after = _test_functions(old), _test_functions(new)
    added = [name for name in after if name not in before]
    if added:
        return added[-1]
    changed = [name for name in after if name in before and before[name] != after[name]]
    return changed[-1] if changed else None


def main_block(node_id: str | None) -> str:
    """The ``__main__`` block: run the test with pytest and print the outcome line."""
    target = f'__file__ + "::{node_id}"' if node_id else "__file__"
    return (
        'if __name__ == "__main__":\n'
        "    import sys\n"
        "\n"
        "    try:\n"
        "        import pytest\n"
        "    except ImportError:\n"
        '        print("Other issues")\n'
        "        sys.exit(2)\n"
        f'    _code = pytest.main(["-q", "-p", "no:cacheprovider", {target}])\n'
        "    if _code == 0:\n"
        '        print("Issue resolved")\n'
        "    elif _code == 1:\n"
        '        print("Issue reproduced")\n'
        "    else:\n"
        '        print("Other issues")\n'
        "    sys.exit(int(_code))\n"
    )


# Installed at the top of a script that gets patchline's ``__main__`` block: an error before the test
# runs (typically a module-level import the bug breaks) still ends with an outcome line.
ERROR_GUARD = (
    "import sys as _reproduce_sys\n"
    "\n"
    "\n"
    "def _other_issues_on_error(kind, value, traceback):  # an error before the test runs, e.g. an import\n"
    "    _reproduce_sys.__excepthook__(kind, value, traceback)\n"
    '    print("Other issues")\n'
    "\n"
    "\n"
    "_reproduce_sys.excepthook = _other_issues_on_error\n"
)


def make_reproduce_script(content: str, file_path: str, *, node_id: str | None = None) -> str:
    """The standalone script: absolute imports, plus a ``__main__`` block (and :data:`ERROR_GUARD`) when the
    file has no ``__main__`` block of its own."""
    tree = _parse(content)
    script = absolutize_imports(content, file_path, tree=tree)
    if has_main_block(script, tree=tree):
        return script if script.endswith("\n") else script + "\n"
    script = _with_error_guard(script)
    return script.rstrip("\n") + "\n\n\n" + main_block(node_id)


def _with_error_guard(script: str) -> str:
    """``script`` with :data:`ERROR_GUARD` after its docstring and ``__future__`` imports (which must lead)."""
    tree = _parse(script)
    if tree is None:
        return script  # a file that does not compile fails before any guard could run
    after = 0
    for index, node in enumerate(tree.body):
        docstring = index == 0 and isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant)
        future = isinstance(node, ast.ImportFrom) and node.module == "__future__"
        if not (docstring or future):
            break
        after = node.end_lineno or node.lineno
    lines = script.splitlines(keepends=True)
    head, rest = "".join(lines[:after]), "".join(lines[after:])
    if head and not head.endswith("\n"):
        head += "\n"
    return head + ("\n" if head else "") + ERROR_GUARD + ("\n\n" if rest.strip() else "") + rest.lstrip("\n")


def new_file_patch(script: str) -> str:
    """A git patch creating ``reproduce_bug.py`` with ``script``."""
    return render_file_diff(REPRODUCE_FILE, None, script)
