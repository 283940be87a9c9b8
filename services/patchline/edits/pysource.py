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

from patchline.edits.pyclean import COMPOUND, clean_unparsed, functions_in

__all__ = [
    "FunctionText",
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


# What parsing or tokenizing untrusted text may raise; anything else is a bug and propagates.
UNREADABLE = (SyntaxError, ValueError, RecursionError, MemoryError, tokenize.TokenError)

_DEFINITIONS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)
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


class FunctionText:
    """A function's unparsed source, computed when it is first compared (equal ``key``: equal without it)."""

    __slots__ = ("_key", "_make", "_text")

    def __init__(self, make: Callable[[], str], key: object = None) -> None:
        self._key, self._make = key, make
        self._text: str | None = None

    @property
    def text(self) -> str:
        """The source (``ast.unparse`` of the function)."""
        text = self._text
        if text is None:
            text = self._text = self._make()
        return text

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, FunctionText):
            return NotImplemented
        if self._key is not None and self._key == other._key:
            return True
        return self.text == other.text

    __hash__ = None  # type: ignore[assignment]


Functions = dict[str, FunctionText]
"""Functions defined outside classes, by name (a later definition of a name wins)."""


def _named(
    nodes: list[ast.FunctionDef | ast.AsyncFunctionDef], texts: Callable[[], list[str]], key: object
) -> Functions:
    """Functions by name, each text the ``i``-th of ``texts()`` (computed once, when first needed)."""
    memo: list[list[str]] = []

    def text_of(index: int) -> Callable[[], str]:
        def make() -> str:
            if not memo:
                memo.append(texts())
            return memo[0][index]

        return make

    return {node.name: FunctionText(text_of(i), (key, i)) for i, node in enumerate(nodes)}


def functions_outside_classes(source: str) -> Functions:
    """The functions of ``source`` not defined inside a class, by name (raises when it does not parse)."""
    nodes = list(functions_in(quiet_parse(source).body))
    return {node.name: FunctionText(lambda node=node: ast.unparse(node)) for node in nodes}  # type: ignore[misc]


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
    try:
        unparsed = ast.unparse(tree) if tree is not None else content
    except UNREADABLE:  # nested too deeply to unparse: left as it is, as normalize_code leaves it
        unparsed = content
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


def _unparse_all(source: str) -> list[str]:
    return [ast.unparse(node) for node in functions_in(quiet_parse(source).body)]


class _Piece:
    """A top-level statement normalised: its text as the module writes it, that without comments, functions."""

    __slots__ = ("clean", "clean_functions", "separator", "unparsed", "unparsed_functions")

    def __init__(
        self,
        statement: ast.stmt,
        unparsed: str,
        clean: str,
        clean_functions: Functions | None,
        unparsed_functions: Functions | None,
    ) -> None:
        self.unparsed, self.clean, self.clean_functions = unparsed, clean, clean_functions
        self.unparsed_functions = unparsed_functions  # for the fallback to unparsed contents
        self.separator = "\n\n" if isinstance(statement, _DEFINITIONS) else "\n"

    @classmethod
    def of(cls, statement: ast.stmt, *, module_docstring: bool) -> _Piece:
        """A statement normalised as a whole (the module docstring written the way a module writes it)."""
        unparsed = ast.unparse(ast.Module(body=[statement], type_ignores=[]) if module_docstring else statement)
        tree = quiet_parse(unparsed)
        nodes = list(functions_in(tree.body))
        key = object()  # one per piece: a statement unchanged between two contents is this same piece
        unparsed_functions = _named(nodes, lambda: [ast.unparse(node) for node in nodes], (key, "unparsed"))
        fast = clean_unparsed(unparsed, tree)
        functions: Functions | None
        if fast is not None:
            clean = "\n".join(fast.lines)
            functions = _named(nodes, lambda: _unparse_all(clean), (key, "clean")) if fast.parses else None
            return cls(statement, unparsed, clean if fast.parses else "", functions, unparsed_functions)
        try:  # the tokenizer decides (see patchline.edits.pyclean)
            clean = remove_comments_and_docstrings(unparsed)
            functions = functions_outside_classes(clean)
        except UNREADABLE:
            clean, functions = "", None
        return cls(statement, unparsed, clean, functions, unparsed_functions)


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
    skip = 1 + prefix.count("\n")
    fast = clean_unparsed(text, quiet_parse(text), keep_top_block=True)
    if fast is not None:
        return _Member(unparsed, tuple(fast.lines[skip:]), fast.parses)
    try:
        clean_lines = tuple(remove_comments_and_docstrings(text).split("\n")[skip:])
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
        try:
            pieces = [self._piece(lines, stmt, first=i == 0) for i, stmt in enumerate(tree.body)]
        except UNREADABLE:  # a statement nested too deeply to unparse: the definition decides for the file
            return whole_file_source(content, tree)
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
            after_block = i > 0 and isinstance(cls.body[i - 1], COMPOUND)
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
        return _Piece(cls, unparsed, clean if parses else "", {} if parses else None, {})


def _header(cls: ast.ClassDef) -> ast.ClassDef:
    header = copy.copy(cls)
    header.body = [ast.Pass()]
    return header
