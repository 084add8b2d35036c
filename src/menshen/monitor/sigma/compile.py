"""Compile a checked ``Rule`` once into closures evaluated per event (no per-event parsing).

Matching follows Sigma's semantics: strings compare case-insensitively (``re`` is
case-sensitive, as the specification says), a list of values matches if any value does (all
with ``|all``), ``null`` matches a missing field, and a selection written as a list of maps
matches if any map matches. A count aggregation keeps, per group, the matching events of the
last ``timeframe`` (bounded: ``_GROUPS`` groups of ``_PER_GROUP`` events) and fires once when
the count passes the threshold, then stays quiet for one timeframe.
"""

from __future__ import annotations

import fnmatch
import ipaddress
import re
from collections import deque
from collections.abc import Callable
from enum import Enum

from menshen.monitor.baselines import EventContext
from menshen.monitor.sigma.condition import Aggregation, And, Expr, Name, Not, Or
from menshen.monitor.sigma.rule import FieldTest, Rule, Scalar

__all__ = ["CompiledRule", "compile_rule"]

Predicate = Callable[[EventContext], bool]
Getter = Callable[[EventContext], object]
_GROUPS = 50_000
_PER_GROUP = 4_096


def _getter(field: str) -> Getter:
    if field == "network":
        return lambda ctx: ctx.network
    if field == "agent":
        return lambda ctx: ctx.agent
    if field == "country":
        return lambda ctx: None if ctx.place is None else ctx.place.country
    if field == "asn":
        return lambda ctx: None if ctx.place is None else ctx.place.asn
    return lambda ctx: getattr(ctx.event, field)


def _text(value: object) -> str:
    if isinstance(value, Enum):
        return str(value.value).lower()
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value).lower()


def _value_test(modifiers: tuple[str, ...], expected: Scalar) -> Callable[[object], bool]:
    if expected is None:
        return lambda actual: actual is None or actual == ""
    if "cidr" in modifiers:
        network = ipaddress.ip_network(str(expected), strict=False)

        def in_network(actual: object) -> bool:
            try:
                return ipaddress.ip_address(str(actual)) in network
            except ValueError:
                return False

        return in_network
    for name in ("gt", "gte", "lt", "lte"):
        if name in modifiers:
            return _numeric(name, float(str(expected)))
    if "re" in modifiers:
        pattern = re.compile(str(expected))
        return lambda actual: pattern.search(str(actual)) is not None
    text = _text(expected)
    if "contains" in modifiers:
        return lambda actual: text in _text(actual)
    if "startswith" in modifiers:
        return lambda actual: _text(actual).startswith(text)
    if "endswith" in modifiers:
        return lambda actual: _text(actual).endswith(text)
    if isinstance(expected, str) and ("*" in expected or "?" in expected):
        wildcard = re.compile(fnmatch.translate(text), re.IGNORECASE | re.DOTALL)
        return lambda actual: wildcard.match(_text(actual)) is not None
    return lambda actual: _text(actual) == text


def _numeric(name: str, bound: float) -> Callable[[object], bool]:
    def compare(actual: object) -> bool:
        if not isinstance(actual, int | float) or isinstance(actual, bool):
            return False
        value = float(actual)
        if name == "gt":
            return value > bound
        if name == "gte":
            return value >= bound
        if name == "lt":
            return value < bound
        return value <= bound

    return compare


def _field_predicate(test: FieldTest) -> Predicate:
    get = _getter(test.field)
    checks = tuple(_value_test(test.modifiers, value) for value in test.values)
    needs_value = all(value is not None for value in test.values)
    combine = all if "all" in test.modifiers else any

    def predicate(ctx: EventContext) -> bool:
        actual = get(ctx)
        if actual is None and needs_value:
            return False
        return combine(check(actual) for check in checks)

    return predicate


def _selection_predicate(alternatives: tuple[tuple[FieldTest, ...], ...]) -> Predicate:
    compiled = tuple(tuple(_field_predicate(test) for test in tests) for tests in alternatives)
    return lambda ctx: any(all(p(ctx) for p in tests) for tests in compiled)


def _expr_predicate(expr: Expr, selections: dict[str, Predicate]) -> Predicate:
    if isinstance(expr, Name):
        return selections[expr.name]
    if isinstance(expr, Not):
        inner = _expr_predicate(expr.operand, selections)
        return lambda ctx: not inner(ctx)
    parts = tuple(_expr_predicate(operand, selections) for operand in expr.operands)
    if isinstance(expr, And):
        return lambda ctx: all(p(ctx) for p in parts)
    assert isinstance(expr, Or)
    return lambda ctx: any(p(ctx) for p in parts)


class CompiledRule:
    """A rule ready to run: ``check(ctx)`` is the count that fired, or None."""

    __slots__ = ("_aggregation", "_alerted", "_group", "_groups", "_matches", "_value", "rule")

    def __init__(self, rule: Rule) -> None:
        self.rule = rule
        selections = {name: _selection_predicate(alts) for name, alts in rule.selections.items()}
        matches = _expr_predicate(rule.condition, selections)
        category = rule.category
        if category is not None:
            inner = matches
            matches = lambda ctx: ctx.event.category is category and inner(ctx)  # noqa: E731
        self._matches = matches
        self._aggregation: Aggregation | None = rule.aggregation
        self._value = (
            None
            if not rule.aggregation or not rule.aggregation.field
            else _getter(rule.aggregation.field)
        )
        self._group = (
            None
            if not rule.aggregation or not rule.aggregation.group
            else _getter(rule.aggregation.group)
        )
        self._groups: dict[str, deque[tuple[float, object]]] = {}
        self._alerted: dict[str, float] = {}

    def check(self, ctx: EventContext) -> int | None:
        if not self._matches(ctx):
            return None
        aggregation = self._aggregation
        if aggregation is None:
            return 1
        window = self.rule.timeframe_seconds or 0.0
        key = "" if self._group is None else _text(self._group(ctx))
        events = self._groups.get(key)
        if events is None:
            if len(self._groups) >= _GROUPS:
                del self._groups[next(iter(self._groups))]
            events = self._groups[key] = deque(maxlen=_PER_GROUP)
        events.append((ctx.epoch, None if self._value is None else self._value(ctx)))
        cutoff = ctx.epoch - window
        while events and events[0][0] <= cutoff:
            events.popleft()
        count = len(events) if self._value is None else len({v for _, v in events if v is not None})
        passed = (
            count >= aggregation.threshold
            if aggregation.inclusive
            else count > aggregation.threshold
        )
        if not passed:
            return None
        alerted = self._alerted.get(key)
        if alerted is not None and ctx.epoch - alerted < window:
            return None
        if len(self._alerted) >= _GROUPS:
            self._alerted.clear()
        self._alerted[key] = ctx.epoch
        return count

    def group_of(self, ctx: EventContext) -> str | None:
        return None if self._group is None else _text(self._group(ctx))


def compile_rule(rule: Rule) -> CompiledRule:
    return CompiledRule(rule)
