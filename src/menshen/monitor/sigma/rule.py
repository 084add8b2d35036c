"""A firm rule in the Sigma subset, checked: what it matches and how bad a match is.

Supported (Sigma specification v2, detection section): ``logsource.category`` (one of the
``Category`` values), ``detection`` selections as a map (fields ANDed) or a list of maps
(ORed), values as a scalar or a list (ORed, or ANDed with ``|all``), the modifiers
``contains``, ``startswith``, ``endswith``, ``re``, ``cidr``, ``all``, ``gt``, ``gte``,
``lt``, ``lte``, the wildcards ``*`` and ``?`` in plain strings, ``null``; a ``condition``
(``menshen.monitor.sigma.condition``); ``timeframe`` (``30s``, ``10m``, ``1h``, ``1d``) with a
count aggregation; ``level`` → severity (informational/low → LOW, medium, high, critical).
Metadata keys (title, id, status, description, author, references, tags, falsepositives, ...)
are kept or ignored. Anything else — keyword lists, other modifiers, ``logsource.product``,
correlation documents — is refused with an error that names every unsupported feature.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from menshen.errors import InvalidInput
from menshen.monitor.model import Category, Severity
from menshen.monitor.sigma.condition import Aggregation, Expr, parse_condition

__all__ = ["FIELDS", "FieldTest", "Rule", "SigmaUnsupported", "rule_from_mapping"]

FIELDS = frozenset(
    {
        "source", "action", "outcome", "category", "user", "client_id", "device_id",
        "session_id", "src_ip", "src_host", "dst_host", "app", "resource", "user_agent",
        "bytes_out", "auth_type", "logon_type", "is_mfa", "network", "country", "asn", "agent",
    }
)  # fmt: skip
MODIFIERS = frozenset(
    {"contains", "startswith", "endswith", "re", "cidr", "all", "gt", "gte", "lt", "lte"}
)
_LEVELS = {
    "informational": Severity.LOW,
    "low": Severity.LOW,
    "medium": Severity.MEDIUM,
    "high": Severity.HIGH,
    "critical": Severity.CRITICAL,
}
_METADATA = frozenset(
    {
        "title", "id", "name", "status", "description", "author", "date", "modified",
        "references", "tags", "falsepositives", "fields", "related", "license", "level",
        "logsource", "detection", "scope", "taxonomy",
    }
)  # fmt: skip
_TIMEFRAME = re.compile(r"^(\d+)([smhd])$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}

Scalar = str | int | float | bool | None


class SigmaUnsupported(InvalidInput):
    """The rule uses Sigma features outside menshen's subset (named in the message)."""


@dataclass(frozen=True, slots=True)
class FieldTest:
    field: str
    modifiers: tuple[str, ...]
    values: tuple[Scalar, ...]


@dataclass(frozen=True, slots=True)
class Rule:
    title: str
    rule_id: str
    severity: Severity
    category: Category | None
    selections: Mapping[str, tuple[tuple[FieldTest, ...], ...]]  # name -> OR of ANDs
    condition: Expr
    aggregation: Aggregation | None
    timeframe_seconds: float | None


def rule_from_mapping(document: Any, origin: str = "rule") -> Rule:
    """Check one parsed YAML document; SigmaUnsupported / InvalidInput name the problem."""
    if not isinstance(document, dict):
        raise InvalidInput(f"{origin}: a Sigma rule is a mapping")
    unsupported: list[str] = []
    unsupported += [
        f"top-level key {key!r}" for key in document if key not in _METADATA | {"timeframe"}
    ]
    title = str(document.get("title") or "").strip()
    if not title:
        raise InvalidInput(f"{origin}: a rule needs a title")
    level = str(document.get("level") or "medium").lower()
    if level not in _LEVELS:
        raise InvalidInput(f"{origin}: unknown level {level!r}")
    category = _category(document.get("logsource") or {}, unsupported)
    detection = document.get("detection")
    if not isinstance(detection, dict) or "condition" not in detection:
        raise InvalidInput(f"{origin}: detection needs selections and a condition")
    condition_text = detection["condition"]
    if isinstance(condition_text, list):
        unsupported.append("a list of conditions")
        condition_text = " or ".join(str(c) for c in condition_text)
    selections = {
        str(name): _selection(str(name), body, unsupported)
        for name, body in detection.items()
        if name != "condition"
    }
    timeframe = _timeframe(document.get("timeframe") or detection.get("timeframe"), origin)
    selections.pop("timeframe", None)
    if unsupported:
        raise SigmaUnsupported(f"{origin}: unsupported Sigma feature(s): {'; '.join(unsupported)}")
    try:
        expr, aggregation = parse_condition(str(condition_text), list(selections))
    except SigmaUnsupported:
        raise
    except InvalidInput as exc:
        raise SigmaUnsupported(f"{origin}: {exc}") from None
    for name in (aggregation.field, aggregation.group) if aggregation else ():
        if name is not None and name not in FIELDS:
            raise InvalidInput(f"{origin}: aggregation over unknown field {name!r}")
    if aggregation is not None and timeframe is None:
        raise InvalidInput(f"{origin}: a count aggregation needs a timeframe")
    return Rule(
        title=title,
        rule_id=str(document.get("id") or title),
        severity=_LEVELS[level],
        category=category,
        selections=selections,
        condition=expr,
        aggregation=aggregation,
        timeframe_seconds=timeframe,
    )


def _category(logsource: Any, unsupported: list[str]) -> Category | None:
    if not isinstance(logsource, dict):
        raise InvalidInput("logsource must be a mapping")
    for key in logsource:
        if key not in ("category", "definition"):
            unsupported.append(f"logsource.{key}")
    value = logsource.get("category")
    if value is None:
        return None
    try:
        return Category(str(value).lower())
    except ValueError:
        unsupported.append(
            f"logsource.category {value!r} (known: {', '.join(c.value for c in Category)})"
        )
        return None


def _selection(name: str, body: Any, unsupported: list[str]) -> tuple[tuple[FieldTest, ...], ...]:
    if name == "timeframe":
        return ()
    maps = body if isinstance(body, list) else [body]
    alternatives = []
    for item in maps:
        if not isinstance(item, dict):
            unsupported.append(f"keyword search in selection {name!r}")
            continue
        alternatives.append(
            tuple(_field_test(name, key, value, unsupported) for key, value in item.items())
        )
    return tuple(alternatives)


def _field_test(selection: str, key: Any, value: Any, unsupported: list[str]) -> FieldTest:
    field, *modifiers = str(key).split("|")
    for modifier in modifiers:
        if modifier not in MODIFIERS:
            unsupported.append(f"modifier {modifier!r} in {selection}.{key}")
    if field not in FIELDS:
        unsupported.append(
            f"field {field!r} in selection {selection!r} (known: {', '.join(sorted(FIELDS))})"
        )
    values = tuple(value) if isinstance(value, list) else (value,)
    for item in values:
        if isinstance(item, dict | list):
            unsupported.append(f"nested value in {selection}.{key}")
    if "re" in modifiers:
        for item in values:
            try:
                re.compile(str(item))
            except re.error as exc:
                raise InvalidInput(f"{selection}.{key}: bad regular expression: {exc}") from None
    return FieldTest(field, tuple(modifiers), values)


def _timeframe(value: Any, origin: str) -> float | None:
    if value is None:
        return None
    matched = _TIMEFRAME.match(str(value).strip())
    if matched is None:
        raise InvalidInput(f"{origin}: timeframe {value!r} is not like 30s, 10m, 1h or 1d")
    return float(int(matched.group(1)) * _UNITS[matched.group(2)])
