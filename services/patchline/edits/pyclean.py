"""The tokenizer rule of SPEC §6b decided from the AST, for code ``ast.unparse`` wrote (the fast path).

Unparsed code has no comments, puts one statement per line, breaks lines only inside docstrings, and spaces
its tokens with single spaces. So on it the rule "a STRING token whose previous token is INDENT or NEWLINE, or
that starts at column 0, is dropped; blank lines are dropped" comes down to: an expression statement that is
only a string literal loses its lines when it is at module level, first in its block, or after a simple
statement (after a compound statement the previous token is a DEDENT: it stays); everything else is kept as
written. The result no longer parses exactly when a block (not the module) loses all its statements.

Where this reading is not certain, :func:`clean_unparsed` returns None and the caller tokenizes: a statement
that starts with a string but is more than it (``"a".join(x)``), an f-string statement (tokenized differently
by newer Pythons), or line breaks other than ``\\n`` (``str.splitlines`` splits on more).
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from dataclasses import dataclass

__all__ = ["COMPOUND", "CleanText", "blocks", "clean_unparsed", "functions_in"]

COMPOUND = (
    ast.FunctionDef,
    ast.AsyncFunctionDef,
    ast.ClassDef,
    ast.If,
    ast.For,
    ast.AsyncFor,
    ast.While,
    ast.With,
    ast.AsyncWith,
    ast.Try,
    ast.TryStar,
    ast.Match,
)
_STRING_START = re.compile(r"[rRbBuUfF]{0,2}['\"]")
_ODD_LINE_BREAKS = re.compile("[\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029]")


@dataclass(frozen=True, slots=True)
class CleanText:
    """The clean lines of a text and whether they still parse."""

    lines: list[str]
    parses: bool


def blocks(statement: ast.stmt) -> Iterator[list[ast.stmt]]:
    """The statement lists directly inside a statement, in field order (an ``elif`` is one ``If`` in ``orelse``)."""
    for name in ("body", "handlers", "orelse", "finalbody", "cases"):
        value = getattr(statement, name, None)
        if not isinstance(value, list) or not value:
            continue
        if name in ("handlers", "cases"):
            for part in value:
                yield part.body
        else:
            yield value


def _all_blocks(body: list[ast.stmt]) -> Iterator[list[ast.stmt]]:
    for statement in body:
        for block in blocks(statement):
            yield block
            yield from _all_blocks(block)


def functions_in(body: list[ast.stmt]) -> Iterator[ast.FunctionDef | ast.AsyncFunctionDef]:
    """Functions not inside a class, in the order a NodeVisitor meets them (a function before its inner ones)."""
    for statement in body:
        if isinstance(statement, ast.ClassDef):
            continue
        if isinstance(statement, ast.FunctionDef | ast.AsyncFunctionDef):
            yield statement
        for block in blocks(statement):
            yield from functions_in(block)


def _is_literal(statement: ast.Expr) -> bool:
    value = statement.value
    return isinstance(value, ast.Constant) and isinstance(value.value, str | bytes)


def clean_unparsed(unparsed: str, tree: ast.Module, *, keep_top_block: bool = False) -> CleanText | None:
    """The clean lines of ``unparsed`` (``tree``: it parsed), or None when the tokenizer must decide.

    ``keep_top_block``: the first statement's body is a stand-in's (a class member unparsed inside a class
    written around it): emptying it does not count as a parse failure.
    """
    if _ODD_LINE_BREAKS.search(unparsed):
        return None
    lines = unparsed.split("\n")
    dropped: set[int] = set()
    parses = True
    stand_in = tree.body[0].body if keep_top_block and tree.body and isinstance(tree.body[0], ast.ClassDef) else None
    for block, top in [(tree.body, True), *((b, False) for b in _all_blocks(tree.body))]:
        kept = False
        for position, statement in enumerate(block):
            first = lines[statement.lineno - 1][statement.col_offset :]  # indentation is ASCII: bytes == characters
            if not isinstance(statement, ast.Expr) or not _STRING_START.match(first):
                kept = True
                continue
            if isinstance(statement.value, ast.JoinedStr) or not _is_literal(statement):
                return None  # an f-string, or a statement a leading string is only part of
            if not (top or position == 0 or not isinstance(block[position - 1], COMPOUND)):
                kept = True  # after a compound statement the token before is a DEDENT: the string stays
                continue
            dropped.update(range(statement.lineno - 1, statement.end_lineno or statement.lineno))
        if not top and not kept and block is not stand_in:
            parses = False
    return CleanText([line for n, line in enumerate(lines) if n not in dropped and line.strip()], parses)
