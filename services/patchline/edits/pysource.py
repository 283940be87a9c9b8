"""Python source in the original Agentless' normal form (SPEC.md §6b): unparsed, then without comments and docstrings.

The whole-file functions are the rule's definition:

- :func:`normalize_code`: ``ast.unparse(ast.parse(code))``, or the code itself when it does not parse;
- :func:`remove_comments_and_docstrings`: the tokenizer rule (a COMMENT is dropped, a STRING token whose
  previous token is INDENT or NEWLINE or that starts at column 0 is dropped, blank lines are dropped);
- :func:`functions_outside_classes` / :func:`only_new_functions`: the "only new functions" test.

:class:`SourceNormalizer` gives the same results with a cache, because samples of one instance share almost
every statement with the base file. ``ast.unparse`` writes a module as its top-level statements joined (a
blank line before each ``def``/``class``) and a class as its header and its members joined the same way one
level deeper; the tokenizer rule and the parse checks act on whole statements (only a member that starts
with a string token depends on what precedes it: a DEDENT keeps it, an INDENT or NEWLINE drops it). So each
top-level statement, and each member of a top-level class, is normalised once per distinct text and the
file is assembled from the pieces. ``tests/unit/edits/test_normalize.py`` checks the two agree on real code.
Nothing here compiles or runs the text: it is only parsed and tokenized.
"""

from __future__ import annotations

import ast
import copy
import io
import tokenize
import warnings
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

__all__ = [
    "Functions",
    "NormalSource",
    "SourceNormalizer",
    "functions_outside_classes",
    "normalize_code",
    "only_new",
    "only_new_functions",
    "remove_comments_and_docstrings",
    "whole_file_source",
]

Functions = dict[str, str]
"""Functions defined outside classes, by name, as unparsed source (a later definition of a name wins)."""

# What parsing or tokenizing untrusted text may raise; anything else is a bug and propagates.
UNREADABLE = (SyntaxError, ValueError, RecursionError, MemoryError, tokenize.TokenError)

_DEFINITIONS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)
_COMPOUND = (
    *_DEFINITIONS,
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
_WRAPPER = "class _:"
_AFTER_SIMPLE = "\n    pass"
_AFTER_BLOCK = "\n    if _:\n        pass"


def quiet_parse(source: str) -> ast.Module:
    """``ast.parse`` without the syntax warnings old code gives (invalid escape sequences)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return ast.parse(source)


def normalize_code(code: str) -> str:
    """``ast.unparse(ast.parse(code))``, or ``code`` itself when it does not parse."""
    try:
        return ast.unparse(quiet_parse(code))
    except UNREADABLE:
        return code


def _tokens_kept(source: str) -> Iterable[str]:
    previous = tokenize.INDENT
    last_line, last_col = -1, 0
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        kind, text, (start_line, start_col), (end_line, end_col) = token[0], token[1], token[2], token[3]
        if start_line > last_line:
            last_col = 0
        if start_col > last_col:
            yield " " * (start_col - last_col)
        if kind == tokenize.STRING:
            if previous not in (tokenize.INDENT, tokenize.NEWLINE) and start_col > 0:
                yield text
        elif kind != tokenize.COMMENT:
            yield text
        previous = kind
        last_line, last_col = end_line, end_col


def remove_comments_and_docstrings(source: str) -> str:
    """``source`` without comments, statement-starting strings (docstrings) and blank lines (SPEC §6b).

    Token for token as the original: the text between tokens is rebuilt from their columns, a COMMENT
    is dropped, and a STRING is kept only when the previous token is neither INDENT nor NEWLINE and it
    does not start at column 0. Raises :class:`tokenize.TokenError` (or a SyntaxError) on text that
    does not tokenize.
    """
    return "\n".join(line for line in "".join(_tokens_kept(source)).splitlines() if line.strip())


class _FunctionCollector(ast.NodeVisitor):
    """Functions not defined inside a class (at any depth), in visiting order."""

    def __init__(self) -> None:
        self.functions: Functions = {}
        self._class_depth = 0

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        self._class_depth += 1
        self.generic_visit(node)
        self._class_depth -= 1

    def _function(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        if not self._class_depth:
            self.functions[node.name] = ast.unparse(node)
        self.generic_visit(node)

    visit_FunctionDef = _function
    visit_AsyncFunctionDef = _function


def functions_outside_classes(source: str) -> Functions:
    """The functions of ``source`` not defined inside a class, by name (raises when it does not parse)."""
    collector = _FunctionCollector()
    collector.visit(quiet_parse(source))
    return collector.functions


def only_new(before: Functions, after: Functions) -> bool:
    """No function of ``before`` removed or changed in ``after``, and at least one added."""
    if any(name not in after or after[name] != source for name, source in before.items()):
        return False
    return bool(after.keys() - before.keys())


def only_new_functions(old: str, new: str) -> bool:
    """True when no function outside a class is removed or changed from ``old`` to ``new`` and one is added.

    Classes and module statements may change too (SPEC §6b). Contents that do not parse answer False.
    """
    try:
        return only_new(functions_outside_classes(old), functions_outside_classes(new))
    except UNREADABLE:
        return False


@dataclass
class NormalSource:
    """One content normalised: unparsed, without comments (None: it no longer parses), and their functions."""

    unparsed: str
    clean: str | None
    clean_functions: Functions | None
    unparsed_functions: Callable[[], Functions | None]


def _functions_or_none(source: str) -> Functions | None:
    try:
        return functions_outside_classes(source)
    except UNREADABLE:
        return None


def whole_file_source(content: str, tree: ast.Module | None) -> NormalSource:
    """The definition applied to the whole text (``tree``: the content parsed, None when it does not parse)."""
    unparsed = ast.unparse(tree) if tree is not None else content
    try:
        clean: str | None = remove_comments_and_docstrings(unparsed)
        clean_functions = functions_outside_classes(clean or "")
    except UNREADABLE:
        clean, clean_functions = None, None
    return NormalSource(unparsed, clean, clean_functions, lambda: _functions_or_none(unparsed))


def _merged(parts: Iterable[Functions | None]) -> Functions | None:
    merged: Functions = {}
    for part in parts:
        if part is None:
            return None
        merged.update(part)  # a later definition of a name wins, as in one walk of the whole file
    return merged


class _Piece:
    """A top-level statement normalised: its text as the module writes it, that without comments, functions."""

    __slots__ = ("_unparsed_functions", "clean", "clean_functions", "separator", "unparsed")

    def __init__(self, statement: ast.stmt, unparsed: str, clean: str, clean_functions: Functions | None) -> None:
        self.unparsed, self.clean, self.clean_functions = unparsed, clean, clean_functions
        self.separator = "\n\n" if isinstance(statement, _DEFINITIONS) else "\n"
        self._unparsed_functions: tuple[Functions | None] | None = None  # computed on first use

    @classmethod
    def of(cls, statement: ast.stmt, *, module_docstring: bool) -> _Piece:
        """A statement normalised as a whole (the module docstring written the way a module writes it)."""
        unparsed = ast.unparse(ast.Module(body=[statement], type_ignores=[]) if module_docstring else statement)
        try:
            clean = remove_comments_and_docstrings(unparsed)
            functions: Functions | None = functions_outside_classes(clean)
        except UNREADABLE:
            clean, functions = "", None
        return cls(statement, unparsed, clean, functions)

    def known_unparsed_functions(self, functions: Functions) -> None:
        """Set what :attr:`unparsed_functions` is without parsing the text again."""
        self._unparsed_functions = (functions,)

    @property
    def unparsed_functions(self) -> Functions | None:
        """The functions outside classes of the unparsed statement (for the fallback to unparsed contents)."""
        if self._unparsed_functions is None:
            self._unparsed_functions = (_functions_or_none(self.unparsed),)
        return self._unparsed_functions[0]


@dataclass(frozen=True, slots=True)
class _Member:
    """A member of a top-level class normalised: its text (leading newlines included), clean lines, checked."""

    unparsed: str
    clean_lines: tuple[str, ...]
    parses: bool


def _is_docstring(statement: ast.stmt) -> bool:
    return (
        isinstance(statement, ast.Expr)
        and isinstance(statement.value, ast.Constant)
        and isinstance(statement.value.value, str)
    )


def _wrapper(body: list[ast.stmt], like: ast.ClassDef) -> ast.ClassDef:
    wrapper = copy.copy(like)
    wrapper.name, wrapper.bases, wrapper.keywords, wrapper.decorator_list, wrapper.body = "_", [], [], [], body
    return wrapper


def _member(statement: ast.stmt, cls: ast.ClassDef, *, first_docstring: bool, after_block: bool) -> _Member:
    """A class member unparsed one level deep (inside a stand-in class), and cleaned in the same context.

    The stand-in puts before the member what decides a leading string's fate: nothing for the docstring
    (INDENT), a ``pass`` (NEWLINE) or, after a compound statement, an ``if`` block (DEDENT).
    """
    if first_docstring:
        prefix, body = "", [statement]
    elif after_block:
        prefix, body = _AFTER_BLOCK, [quiet_parse("if _:\n    pass").body[0], statement]
    else:
        prefix, body = _AFTER_SIMPLE, [ast.Pass(), statement]
    text = ast.unparse(_wrapper(body, cls))
    unparsed = text[len(_WRAPPER) + len(prefix) :]
    try:
        lines = remove_comments_and_docstrings(text).split("\n")
        clean_lines = tuple(lines[1 + prefix.count("\n") :])
        parses = not clean_lines or _parses(_WRAPPER + "\n" + "\n".join(clean_lines))
    except UNREADABLE:
        clean_lines, parses = (), False
    return _Member(unparsed, clean_lines, parses)


def _parses(source: str) -> bool:
    try:
        quiet_parse(source)
    except UNREADABLE:
        return False
    return True


@dataclass
class SourceNormalizer:
    """:class:`NormalSource` of contents, sharing parses and unchanged statements (the module docstring)."""

    _trees: dict[str, ast.Module | None] = field(default_factory=dict)
    _pieces: dict[tuple[str, int, int, bool], _Piece] = field(default_factory=dict)
    _members: dict[tuple[str, int, int, bool, bool], _Member] = field(default_factory=dict)
    _sources: dict[str, NormalSource] = field(default_factory=dict)

    def tree(self, content: str) -> ast.Module | None:
        """``ast.parse(content)`` (None when it does not parse), once per distinct content."""
        if content not in self._trees:
            try:
                self._trees[content] = quiet_parse(content)
            except UNREADABLE:
                self._trees[content] = None
        return self._trees[content]

    def source(self, content: str) -> NormalSource:
        """``content`` normalised (see the module docstring)."""
        found = self._sources.get(content)
        if found is None:
            found = self._sources[content] = self._normalise(content)
        return found

    def _normalise(self, content: str) -> NormalSource:
        tree = self.tree(content)
        if tree is None or "\r" in content:  # lone CRs end lines for the parser, not for str.split
            return whole_file_source(content, tree)
        lines = content.split("\n")
        pieces = [self._piece(lines, stmt, first=i == 0) for i, stmt in enumerate(tree.body)]
        unparsed = "".join((piece.separator if i else "") + piece.unparsed for i, piece in enumerate(pieces))
        clean = "\n".join(piece.clean for piece in pieces if piece.clean)
        parsed = all(piece.clean_functions is not None for piece in pieces)
        return NormalSource(
            unparsed,
            clean if parsed else None,
            _merged(piece.clean_functions for piece in pieces),
            lambda: _merged(piece.unparsed_functions for piece in pieces),
        )

    @staticmethod
    def _key(lines: list[str], statement: ast.stmt) -> tuple[str, int, int]:
        """The statement's own text (decorators included) and columns: equal keys, equal statements."""
        start = min([statement.lineno, *(d.lineno for d in getattr(statement, "decorator_list", ()))])
        end = statement.end_lineno or statement.lineno
        return "\n".join(lines[start - 1 : end]), statement.col_offset, statement.end_col_offset or 0

    def _piece(self, lines: list[str], statement: ast.stmt, *, first: bool) -> _Piece:
        docstring = first and _is_docstring(statement)
        key = (*self._key(lines, statement), docstring)
        piece = self._pieces.get(key)
        if piece is None:
            if isinstance(statement, ast.ClassDef) and statement.body:
                piece = self._class_piece(lines, statement)
            else:
                piece = _Piece.of(statement, module_docstring=docstring)
            self._pieces[key] = piece
        return piece

    def _class_piece(self, lines: list[str], cls: ast.ClassDef) -> _Piece:
        """A top-level class assembled from its header and its members (a class holds no counted function)."""
        header_text = ast.unparse(_header(cls))
        header = header_text[: -len(_AFTER_SIMPLE)]
        members: list[_Member] = []
        for i, statement in enumerate(cls.body):
            first_docstring = i == 0 and _is_docstring(statement)
            after_block = i > 0 and isinstance(cls.body[i - 1], _COMPOUND)
            key = (*self._key(lines, statement), first_docstring, after_block)
            member = self._members.get(key)
            if member is None:
                member = _member(statement, cls, first_docstring=first_docstring, after_block=after_block)
                self._members[key] = member
            members.append(member)
        unparsed = header + "".join(member.unparsed for member in members)
        header_clean = remove_comments_and_docstrings(header_text).split("\n")[:-1]
        body_clean = [line for member in members for line in member.clean_lines]
        clean = "\n".join([*header_clean, *body_clean])
        parses = bool(body_clean) and all(member.parses for member in members)
        piece = _Piece(cls, unparsed, clean if parses else "", {} if parses else None)
        piece.known_unparsed_functions({})  # everything a class defines is inside a class
        return piece


def _header(cls: ast.ClassDef) -> ast.ClassDef:
    header = copy.copy(cls)
    header.body = [ast.Pass()]
    return header
