"""The Sigma condition language, the subset menshen supports (Sigma specification §
"Condition"): selection names, ``and``, ``or``, ``not``, parentheses, ``1 of X*``,
``all of X*``, ``1 of them``, ``all of them``; then optionally one aggregation
``| count([field]) [by field] > N`` (or ``>=``) from the legacy Sigma 1 aggregation syntax.
Precedence: ``not`` binds tighter than ``and``, which binds tighter than ``or``.
"""

from __future__ import annotations

import fnmatch
import re
from dataclasses import dataclass

from menshen.errors import InvalidInput

__all__ = ["Aggregation", "And", "Expr", "Name", "Not", "Or", "parse_condition"]

_TOKEN = re.compile(r"\s*(\(|\)|[A-Za-z_][A-Za-z0-9_*]*|\d+|\S)")
_AGGREGATION = re.compile(
    r"^\s*count\(\s*([A-Za-z_][A-Za-z0-9_.]*)?\s*\)\s*(?:by\s+([A-Za-z_][A-Za-z0-9_.]*)\s*)?"
    r"(>=|>)\s*(\d+)\s*$"
)
_UNSUPPORTED_AGGREGATES = ("min(", "max(", "avg(", "sum(", " near ")


@dataclass(frozen=True, slots=True)
class Name:
    name: str


@dataclass(frozen=True, slots=True)
class Not:
    operand: Expr


@dataclass(frozen=True, slots=True)
class And:
    operands: tuple[Expr, ...]


@dataclass(frozen=True, slots=True)
class Or:
    operands: tuple[Expr, ...]


Expr = Name | Not | And | Or


@dataclass(frozen=True, slots=True)
class Aggregation:
    """``count(field) by group > threshold`` (``field`` None: count events)."""

    field: str | None
    group: str | None
    threshold: int
    inclusive: bool


def parse_condition(text: str, names: list[str]) -> tuple[Expr, Aggregation | None]:
    """Parse ``text`` over the selection ``names``; InvalidInput naming what is wrong."""
    lowered = f" {text.lower()} "
    found = [word.strip() for word in _UNSUPPORTED_AGGREGATES if word in lowered]
    if found:
        raise InvalidInput(f"unsupported Sigma condition feature(s): {', '.join(found)}")
    head, bar, tail = text.partition("|")
    aggregation = None
    if bar:
        if "|" in tail:
            raise InvalidInput("unsupported Sigma condition feature: more than one pipe")
        matched = _AGGREGATION.match(tail)
        if matched is None:
            raise InvalidInput(f"unsupported Sigma aggregation {tail.strip()!r} (only count)")
        field, group, op, number = matched.groups()
        aggregation = Aggregation(field, group, int(number), op == ">=")
    parser = _Parser(_TOKEN.findall(head), names)
    expr = parser.parse_or()
    if parser.position != len(parser.tokens):
        raise InvalidInput(f"unexpected {parser.tokens[parser.position]!r} in condition")
    return expr, aggregation


class _Parser:
    def __init__(self, tokens: list[str], names: list[str]) -> None:
        self.tokens = tokens
        self.names = names
        self.position = 0

    def _peek(self) -> str | None:
        return self.tokens[self.position] if self.position < len(self.tokens) else None

    def _take(self) -> str:
        token = self._peek()
        if token is None:
            raise InvalidInput("condition ends too early")
        self.position += 1
        return token

    def parse_or(self) -> Expr:
        parts = [self.parse_and()]
        while self._peek() == "or":
            self.position += 1
            parts.append(self.parse_and())
        return parts[0] if len(parts) == 1 else Or(tuple(parts))

    def parse_and(self) -> Expr:
        parts = [self.parse_not()]
        while self._peek() == "and":
            self.position += 1
            parts.append(self.parse_not())
        return parts[0] if len(parts) == 1 else And(tuple(parts))

    def parse_not(self) -> Expr:
        if self._peek() == "not":
            self.position += 1
            return Not(self.parse_not())
        return self.parse_atom()

    def parse_atom(self) -> Expr:
        token = self._take()
        if token == "(":  # noqa: S105
            inner = self.parse_or()
            if self._take() != ")":
                raise InvalidInput("unbalanced parentheses in condition")
            return inner
        if token in ("1", "all") and self._peek() == "of":
            self.position += 1
            pattern = self._take()
            matched = self._expand(pattern)
            names = tuple(Name(n) for n in matched)
            if len(names) == 1:
                return names[0]
            return Or(names) if token == "1" else And(names)  # noqa: S105
        if token in ("and", "or", ")", "of") or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", token):
            raise InvalidInput(f"unexpected {token!r} in condition")
        if token not in self.names:
            raise InvalidInput(f"condition names {token!r}, which is not a selection")
        return Name(token)

    def _expand(self, pattern: str) -> list[str]:
        if pattern == "them":
            matched = [n for n in self.names if not n.startswith("_")]
        else:
            matched = [n for n in self.names if fnmatch.fnmatchcase(n, pattern)]
        if not matched:
            raise InvalidInput(f"'of {pattern}' matches no selection")
        return matched
