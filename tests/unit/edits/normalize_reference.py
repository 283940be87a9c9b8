"""A reference model of the original Agentless normalisation (SPEC.md §6b), with real ``git`` doing apply and diff.

Written from the rule as SPEC.md states it, independently of ``patchline.edits.normalize``: the patch is
applied with ``git apply`` in a scratch repository holding only the first file, and the normal form is what
``git diff`` prints there, so the differential tests compare two readings of one specification and check
the pure-Python rendering against git itself.
"""

from __future__ import annotations

import ast
import io
import re
import tokenize
import uuid
from pathlib import Path

from tests.fixtures.gitrepos import run_git

__all__ = ["reference_normalize"]


def _scratch(root: Path, path: str, content: str) -> Path:
    repo = root / uuid.uuid4().hex
    (repo / path).parent.mkdir(parents=True, exist_ok=True)
    run_git(root, "init", "-q", str(repo))
    (repo / path).write_text(content, encoding="utf-8", newline="")
    run_git(repo, "add", path)
    run_git(repo, "commit", "-q", "-m", "old")
    return repo


def _first_section(patch: str) -> tuple[str, str]:
    """(path, text) of the first ``diff --git`` section."""
    starts = [m.start() for m in re.finditer(r"^diff --git ", patch, flags=re.MULTILINE)]
    path = re.match(r"diff --git a/(\S+) b/", patch[starts[0] :])
    assert path is not None
    end = starts[1] if len(starts) > 1 else len(patch)
    return path.group(1), patch[starts[0] : end]


def _unparse(code: str) -> str:
    try:
        return ast.unparse(ast.parse(code))
    except SyntaxError:
        return code


def _strip(source: str) -> str:
    # "a STRING token that starts a statement is dropped: one whose previous token is INDENT or NEWLINE,
    # or that starts at column 0"; comments dropped; text between tokens rebuilt from columns; blank
    # lines dropped.
    pieces: list[str] = []
    prev_type, last_row, last_col = tokenize.INDENT, -1, 0
    for tok in tokenize.generate_tokens(io.StringIO(source).readline):
        if tok.start[0] > last_row:
            last_col = 0
        if tok.start[1] > last_col:
            pieces.append(" " * (tok.start[1] - last_col))
        starts_statement = prev_type in (tokenize.INDENT, tokenize.NEWLINE) or tok.start[1] == 0
        if tok.type != tokenize.COMMENT and not (tok.type == tokenize.STRING and starts_statement):
            pieces.append(tok.string)
        prev_type, last_row, last_col = tok.type, tok.end[0], tok.end[1]
    return "\n".join(line for line in "".join(pieces).splitlines() if line.strip())


def _outside_classes(tree: ast.AST) -> dict[str, str]:
    found: dict[str, str] = {}

    def walk(node: ast.AST, in_class: bool) -> None:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and not in_class:
            found[node.name] = ast.unparse(node)
        for child in ast.iter_child_nodes(node):
            walk(child, in_class or isinstance(node, ast.ClassDef))

    walk(tree, False)
    return found


def _just_new(old: str, new: str) -> bool:
    try:
        before, after = _outside_classes(ast.parse(old)), _outside_classes(ast.parse(new))
    except SyntaxError:
        return False
    unchanged = all(after.get(name) == source for name, source in before.items())
    return unchanged and len(set(after) - set(before)) > 0


def reference_normalize(patch: str, files: dict[str, str], scratch: Path) -> str:
    """SPEC §6b's normal form of ``patch`` on ``files`` (path -> content at the base commit)."""
    if not patch.strip():
        return ""
    path, section = _first_section(patch)
    if path not in files:
        return patch
    repo = _scratch(scratch, path, files[path])
    if run_git(repo, "apply", "-", stdin=section, check=False).returncode != 0:
        return patch
    old, new = _unparse(files[path]), _unparse((repo / path).read_text(encoding="utf-8"))
    try:
        old_clean, new_clean = _strip(old), _strip(new)
        ast.parse(old_clean)
        ast.parse(new_clean)
    except (SyntaxError, tokenize.TokenError):
        old_clean, new_clean = old, new
    diff_repo = _scratch(scratch, path, old_clean)
    (diff_repo / path).write_text(new_clean, encoding="utf-8", newline="")
    diff = run_git(diff_repo, "diff", path, check=False).stdout
    if _just_new(old_clean, new_clean):
        return "\n".join(line for line in diff.splitlines() if line.startswith(("-", "+")))
    return diff
