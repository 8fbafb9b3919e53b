"""TaskRouter's expression language: parse once, evaluate often.

The syntax is https://www.twilio.com/docs/taskrouter/expression-syntax.

A small hand-written recursive-descent parser rather than a parsing library such as lark: the
grammar is six rules, ``taskrouter_async.testing`` needs no extra installed today and should not
start to, and a hand-written parser points at the offending token in its error message, which
the issue asks for, without translating a library's exceptions.

Grammar (keywords are case-insensitive)::

    expression := disjunction
    disjunction := conjunction ("OR" conjunction)*
    conjunction := negation ("AND" negation)*
    negation    := "NOT" negation | comparison
    comparison  := operand [operator operand]
    operator    := "==" | "=" | "!=" | "<" | ">" | "<=" | ">=" | "HAS" | "IN" | "NOT IN" | "CONTAINS"
    operand     := "(" expression ")" | string | number | "true" | "false" | "null" | list | key
    list        := "[" [operand ("," operand)*] "]"
    key         := name ("." name | "[" integer "]")*

A key is looked up in the JSON document (task or worker attributes); a missing key is NULL.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import attrs

__all__ = ["Expression", "ExpressionError", "parse_expression"]


class ExpressionError(ValueError):
    """An expression that does not parse; ``position`` is the offending token's offset in ``source``."""

    def __init__(self, source: str, position: int, problem: str) -> None:
        self.source = source
        self.position = position
        self.problem = problem
        super().__init__(f"Invalid expression {source!r}: {problem} at position {position}")


_TOKEN = re.compile(
    r"""
    (?P<space>\s+)
    | (?P<string>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')
    | (?P<number>-?(?:\d+\.\d*|\.\d+|\d+))
    | (?P<op>==|!=|<=|>=|<|>|=)
    | (?P<punct>[()\[\],.])
    | (?P<name>[A-Za-z_][A-Za-z0-9_]*)
    """,
    re.VERBOSE,
)

_KEYWORDS = {"and", "or", "not", "has", "in", "contains", "true", "false", "null"}


@attrs.frozen
class _Token:
    kind: str  # string, number, op, punct, name, keyword, end
    text: str
    position: int


def _tokenize(source: str) -> list[_Token]:
    tokens: list[_Token] = []
    position = 0
    while position < len(source):
        match = _TOKEN.match(source, position)
        if match is None:
            raise ExpressionError(source, position, f"unexpected character {source[position]!r}")
        kind = match.lastgroup
        assert kind is not None
        if kind != "space":
            text = match.group()
            if kind == "name" and text.lower() in _KEYWORDS:
                tokens.append(_Token("keyword", text.lower(), position))
            else:
                tokens.append(_Token(kind, text, position))
        position = match.end()
    tokens.append(_Token("end", "", len(source)))
    return tokens


#: What an operand evaluates to, given the document.
_Operand = Callable[[Mapping[str, Any]], Any]

_MISSING = object()


def _compare(operator: str, left: Any, right: Any) -> bool:
    """One comparison with the documented meaning; comparisons between different types are false."""
    if operator in ("==", "="):
        return _same_type(left, right) and left == right
    if operator == "!=":
        return not (_same_type(left, right) and left == right)
    if operator in ("<", ">", "<=", ">="):
        if not (_is_number(left) and _is_number(right)) and not (isinstance(left, str) and isinstance(right, str)):
            return False
        return bool({"<": left < right, ">": left > right, "<=": left <= right, ">=": left >= right}[operator])
    if operator == "has":
        return isinstance(left, list) and any(_same_type(item, right) and item == right for item in left)
    if operator in ("in", "not in"):
        found = isinstance(right, list) and (
            any(_same_type(item, left) and item == left for item in right)
            if not isinstance(left, list)
            else any(_same_type(a, b) and a == b for a in left for b in right)
        )
        return found if operator == "in" else not found
    # CONTAINS: a substring of a string, or of any string in a list.
    if not isinstance(right, str):
        return False
    if isinstance(left, str):
        return right in left
    return isinstance(left, list) and any(isinstance(item, str) and right in item for item in left)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _same_type(left: Any, right: Any) -> bool:
    if _is_number(left) and _is_number(right):
        return True
    return type(left) is type(right) and left is not None


def _truthy(value: Any) -> bool:
    return value is True


@attrs.frozen
class Expression:
    """A parsed expression: ``matches(document)`` says whether a JSON document satisfies it."""

    source: str
    _evaluate: _Operand = attrs.field(repr=False, eq=False)

    def matches(self, document: Mapping[str, Any]) -> bool:
        return _truthy(self._evaluate(document))


class _Parser:
    def __init__(self, source: str) -> None:
        self.source = source
        self.tokens = _tokenize(source)
        self.index = 0

    @property
    def token(self) -> _Token:
        return self.tokens[self.index]

    def advance(self) -> _Token:
        token = self.tokens[self.index]
        self.index += 1
        return token

    def fail(self, problem: str, token: _Token | None = None) -> ExpressionError:
        token = token or self.token
        found = "the end of the expression" if token.kind == "end" else repr(token.text)
        return ExpressionError(self.source, token.position, f"{problem}, found {found}")

    def expect(self, kind: str, text: str) -> None:
        if self.token.kind != kind or self.token.text != text:
            raise self.fail(f"expected {text!r}")
        self.advance()

    def parse(self) -> Expression:
        if self.token.kind == "end":
            raise self.fail("expected an expression")
        evaluate = self.disjunction()
        if self.token.kind != "end":
            raise self.fail("expected AND, OR or the end of the expression")
        return Expression(self.source, evaluate)

    def disjunction(self) -> _Operand:
        parts = [self.conjunction()]
        while self.token.kind == "keyword" and self.token.text == "or":
            self.advance()
            parts.append(self.conjunction())
        if len(parts) == 1:
            return parts[0]
        return lambda doc: any(_truthy(part(doc)) for part in parts)

    def conjunction(self) -> _Operand:
        parts = [self.negation()]
        while self.token.kind == "keyword" and self.token.text == "and":
            self.advance()
            parts.append(self.negation())
        if len(parts) == 1:
            return parts[0]
        return lambda doc: all(_truthy(part(doc)) for part in parts)

    def negation(self) -> _Operand:
        if self.token.kind == "keyword" and self.token.text == "not":
            self.advance()
            inner = self.negation()
            return lambda doc: not _truthy(inner(doc))
        return self.comparison()

    def comparison(self) -> _Operand:
        left = self.operand()
        token = self.token
        if token.kind == "op" or (token.kind == "keyword" and token.text in ("has", "in", "contains")):
            operator = self.advance().text
        elif token.kind == "keyword" and token.text == "not" and self.tokens[self.index + 1].text == "in":
            self.index += 2
            operator = "not in"
        else:
            return left
        right = self.operand()
        return lambda doc: _compare(operator, left(doc), right(doc))

    def operand(self) -> _Operand:
        token = self.token
        if token.kind == "punct" and token.text == "(":
            self.advance()
            inner = self.disjunction()
            self.expect("punct", ")")
            return inner
        if token.kind == "punct" and token.text == "[":
            return self.list_literal()
        if token.kind in ("string", "number") or (token.kind == "keyword" and token.text in ("true", "false", "null")):
            value = self.constant()
            return lambda doc: value
        if token.kind == "name":
            return self.key()
        raise self.fail("expected a value, a key or '('")

    def constant(self) -> Any:
        token = self.advance()
        if token.kind == "string":
            return re.sub(r"\\(.)", r"\1", token.text[1:-1])
        if token.kind == "number":
            return float(token.text) if "." in token.text else int(token.text)
        return {"true": True, "false": False, "null": None}[token.text]

    def list_literal(self) -> _Operand:
        self.expect("punct", "[")
        items: list[Any] = []
        while not (self.token.kind == "punct" and self.token.text == "]"):
            if items:
                self.expect("punct", ",")
            token = self.token
            if not (token.kind in ("string", "number") or token.text in ("true", "false", "null")):
                raise self.fail("expected a constant in the list")
            items.append(self.constant())
        self.advance()
        return lambda doc: items

    def key(self) -> _Operand:
        path: list[str | int] = [self.advance().text]
        while self.token.kind == "punct" and self.token.text in (".", "["):
            if self.advance().text == ".":
                if self.token.kind not in ("name", "keyword"):
                    raise self.fail("expected a key after '.'")
                path.append(self.advance().text)
            else:
                if self.token.kind != "number" or not self.token.text.isdigit():
                    raise self.fail("expected an array index")
                path.append(int(self.advance().text))
                self.expect("punct", "]")
        return lambda doc: _resolve(doc, path)


def _resolve(document: Any, path: Sequence[str | int]) -> Any:
    value = document
    for step in path:
        if isinstance(step, int):
            value = value[step] if isinstance(value, list) and -len(value) <= step < len(value) else None
        else:
            value = value.get(step) if isinstance(value, Mapping) else None
        if value is None:
            return None
    return value


def parse_expression(source: str) -> Expression:
    """Parse ``source`` or raise ``ExpressionError`` naming the offending token and its position."""
    return _Parser(source).parse()
