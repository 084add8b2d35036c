"""The ``when`` condition language of a Policy rule: parse YAML into condition values and back.

Each condition is a mapping; several keys in one mapping mean all of them. Problems raise
``SpecProblem`` with the location inside ``spec`` (for file:line:column), saying what is
expected. The rendering (``to_json``) is canonical and parses back to an equal value, so
``apply`` is idempotent and ``export`` round-trips. Times follow ISO 8601 ``hh:mm``; zones
are IANA names (RFC 8536); CIDRs RFC 4632 §3.1; countries ISO 3166-1 alpha-2.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Mapping
from typing import Any

from menshen.errors import InvalidInput
from menshen.policy.closures import check_window
from menshen.policy.conditions import (
    SENSITIVITY,
    TRUST_LEVELS,
    WEEKDAYS,
    AllOf,
    AnyOf,
    Condition,
    CountryIn,
    DataIs,
    DevicePosture,
    DeviceTags,
    DeviceTrust,
    HasScopes,
    HeaderIs,
    MethodIn,
    Not,
    PathUnder,
    RiskAbove,
    RiskBelow,
    SourceIn,
    TimeWindow,
    Use,
)

Loc = tuple[str | int, ...]
_TIME = re.compile(r"^([01]\d|2[0-4]):([0-5]\d)$")
_COUNTRY = re.compile(r"^[A-Z]{2}$")
_TOKEN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:/+-]{0,127}$")
_HEADER = re.compile(r"^[a-z0-9!#$%&'*+.^_`|~-]{1,64}$")
KEYS = [
    "all",
    "any",
    "not",
    "use",
    "source",
    "country",
    "device",
    "time",
    "risk",
    "method",
    "path",
    "header",
    "scopes",
    "data",
]


MAX_DEPTH = 64
"""Deepest location a condition may sit at (a policy is read by people)."""


class SpecProblem(ValueError):
    """A problem at ``loc`` inside a spec (e.g. ``("rules", 2, "when", "time", "from")``)."""

    def __init__(self, loc: Loc, message: str) -> None:
        super().__init__(message)
        self.loc = loc
        self.message = message


def parse_condition(body: Any, loc: Loc, zone: str, check_name: Callable[[str], str]) -> Condition:
    """A condition value from YAML; ``zone`` is the default time zone of windows."""
    if len(loc) > MAX_DEPTH:
        raise SpecProblem(loc, f"conditions nested more than {MAX_DEPTH} levels deep")
    if not isinstance(body, Mapping) or not body:
        raise SpecProblem(loc, f"a condition must be a mapping with one of: {', '.join(KEYS)}")
    items = [_one(key, value, (*loc, key), zone, check_name) for key, value in body.items()]
    return items[0] if len(items) == 1 else AllOf(tuple(items))


def _one(key: str, value: Any, loc: Loc, zone: str, check_name: Callable[[str], str]) -> Condition:
    if key in ("all", "any"):
        parts = _list(value, loc, minimum=1)
        items = tuple(
            parse_condition(part, (*loc, index), zone, check_name)
            for index, part in enumerate(parts)
        )
        return AllOf(items) if key == "all" else AnyOf(items)
    if key == "not":
        return Not(parse_condition(value, loc, zone, check_name))
    if key == "use":
        return Use(_name(value, loc, check_name))
    if key == "source":
        return _source(value, loc, check_name)
    if key == "country":
        countries = [
            _match(_COUNTRY, item, (*loc, i), "an ISO country code like TW")
            for i, item in enumerate(_list(value, loc, 1))
        ]
        return CountryIn(frozenset(countries))
    if key == "device":
        return _device(value, loc)
    if key == "time":
        return _time(value, loc, zone)
    if key == "risk":
        return _risk(value, loc)
    if key == "method":
        methods = [
            _match(re.compile(r"^[A-Za-z]{1,20}$"), m, (*loc, i), "an HTTP method").upper()
            for i, m in enumerate(_list(value, loc, 1))
        ]
        return MethodIn(frozenset(methods))
    if key == "path":
        return PathUnder(
            tuple(sorted({_path(p, (*loc, i)) for i, p in enumerate(_list(value, loc, 1))}))
        )
    if key == "header":
        return _header(value, loc)
    if key == "scopes":
        scopes = [
            _match(_TOKEN, s, (*loc, i), "an API scope") for i, s in enumerate(_list(value, loc, 1))
        ]
        return HasScopes(frozenset(scopes))
    if key == "data":
        return _data(value, loc)
    if key == "mfa":
        raise SpecProblem(loc, "mfa belongs on the rule (it asks for a step-up), not inside when")
    raise SpecProblem(loc, f"unknown condition {key!r} (expected one of: {', '.join(KEYS)})")


def _list(value: Any, loc: Loc, minimum: int = 0) -> list[Any]:
    if not isinstance(value, list):
        raise SpecProblem(loc, f"expected a list, not {type(value).__name__}")
    if len(value) < minimum:
        raise SpecProblem(loc, "expected a non-empty list")
    return value


def _mapping(value: Any, loc: Loc, allowed: tuple[str, ...]) -> Mapping[str, Any]:
    if not isinstance(value, Mapping) or not value:
        raise SpecProblem(loc, f"expected a mapping with {', '.join(allowed)}")
    for key in value:
        if key not in allowed:
            raise SpecProblem((*loc, key), f"unknown field (expected {', '.join(allowed)})")
    return value


def _string(value: Any, loc: Loc) -> str:
    if not isinstance(value, str):
        raise SpecProblem(loc, f"expected a string, not {type(value).__name__}")
    return value


def _match(pattern: re.Pattern[str], value: Any, loc: Loc, what: str) -> str:
    text = _string(value, loc)
    if not pattern.match(text):
        raise SpecProblem(loc, f"{text!r} is not {what}")
    return text


def _name(value: Any, loc: Loc, check_name: Callable[[str], str]) -> str:
    try:
        return check_name(_string(value, loc))
    except ValueError as exc:
        raise SpecProblem(loc, str(exc)) from None


def _path(value: Any, loc: Loc) -> str:
    from menshen.manifest.schema import check_path_prefix

    try:
        return check_path_prefix(_string(value, loc))
    except ValueError as exc:
        raise SpecProblem(loc, str(exc)) from None


def _source(value: Any, loc: Loc, check_name: Callable[[str], str]) -> SourceIn:
    networks: set[ipaddress.IPv4Network | ipaddress.IPv6Network] = set()
    lists: set[str] = set()
    for index, item in enumerate(_list(value, loc, 1)):
        text = _string(item, (*loc, index))
        if text[:1].isdigit() or ":" in text:
            try:
                networks.add(ipaddress.ip_network(text, strict=True))
            except ValueError as exc:
                raise SpecProblem((*loc, index), f"invalid CIDR {text!r}: {exc}") from None
        else:
            lists.add(_name(text, (*loc, index), check_name))
    ordered = sorted(
        networks, key=lambda net: (net.version, int(net.network_address), net.prefixlen)
    )
    return SourceIn(tuple(ordered), tuple(sorted(lists)))


def _device(value: Any, loc: Loc) -> Condition:
    body = _mapping(value, loc, ("trust", "tags", "posture"))
    items: list[Condition] = []
    if "trust" in body:
        trust = _string(body["trust"], (*loc, "trust"))
        if trust not in TRUST_LEVELS:
            raise SpecProblem(
                (*loc, "trust"),
                f"unknown trust level {trust!r} (expected {', '.join(TRUST_LEVELS)})",
            )
        items.append(DeviceTrust(trust))
    if "tags" in body:
        tags = [
            _match(_TOKEN, t, (*loc, "tags", i), "a tag")
            for i, t in enumerate(_list(body["tags"], (*loc, "tags"), 1))
        ]
        items.append(DeviceTags(frozenset(tags)))
    if "posture" in body:
        posture = body["posture"]
        if not isinstance(posture, Mapping) or not posture:
            raise SpecProblem(
                (*loc, "posture"), "expected a mapping of posture attributes to values"
            )
        for attribute, wanted in sorted(posture.items()):
            if not isinstance(wanted, str | int | float | bool):
                raise SpecProblem(
                    (*loc, "posture", attribute), "expected a string, number or true/false"
                )
            items.append(DevicePosture(attribute, wanted))
    return items[0] if len(items) == 1 else AllOf(tuple(items))


def _clock(value: Any, loc: Loc) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        raise SpecProblem(
            loc,
            f"write the time in quotes ('18:30'): YAML reads unquoted 18:30 as the number {value}",
        )
    text = _string(value, loc)
    found = _TIME.match(text)
    if not found or (found.group(1) == "24" and found.group(2) != "00"):
        raise SpecProblem(loc, f"{text!r} is not a time of day hh:mm (00:00 to 24:00)")
    return int(found.group(1)) * 60 + int(found.group(2))


def _days(value: Any, loc: Loc) -> frozenset[int]:
    items = value if isinstance(value, list) else [value]
    days: set[int] = set()
    for index, item in enumerate(items):
        where = (*loc, index) if isinstance(value, list) else loc
        text = _string(item, where).lower()
        first, _, last = text.partition("-")
        if first not in WEEKDAYS or (last and last not in WEEKDAYS):
            raise SpecProblem(
                where, f"bad weekday {text!r} (expected mon … sun, or a range like mon-fri)"
            )
        start, end = WEEKDAYS.index(first), WEEKDAYS.index(last or first)
        if end < start:
            raise SpecProblem(where, f"weekday range {text!r} runs backwards")
        days.update(range(start, end + 1))
    if not days:
        raise SpecProblem(loc, "expected at least one weekday")
    return frozenset(days)


def _time(value: Any, loc: Loc, zone: str) -> TimeWindow:
    body = _mapping(value, loc, ("days", "from", "to", "zone", "overnight"))
    for required in ("days", "from", "to"):
        if required not in body:
            raise SpecProblem(loc, f"a time window needs {required!r}")
    overnight = body.get("overnight", False)
    if not isinstance(overnight, bool):
        raise SpecProblem((*loc, "overnight"), "expected true or false")
    window = TimeWindow(
        days=_days(body["days"], (*loc, "days")),
        start=_clock(body["from"], (*loc, "from")),
        end=_clock(body["to"], (*loc, "to")),
        zone=_string(body.get("zone", zone), (*loc, "zone")),
        overnight=overnight,
    )
    try:
        check_window(window)
    except InvalidInput as exc:
        where = (*loc, "zone") if "zone" in str(exc) else (*loc, "to")
        raise SpecProblem(where, str(exc)) from None
    return window


def _risk(value: Any, loc: Loc) -> Condition:
    body = _mapping(value, loc, ("below", "above"))
    items: list[Condition] = []
    for key, kind in (("above", RiskAbove), ("below", RiskBelow)):
        if key in body:
            limit = body[key]
            if (
                isinstance(limit, bool)
                or not isinstance(limit, int | float)
                or not 0 <= limit <= 100
            ):
                raise SpecProblem((*loc, key), "expected a risk score from 0 to 100")
            items.append(kind(float(limit)))
    return items[0] if len(items) == 1 else AllOf(tuple(items))


def _header(value: Any, loc: Loc) -> HeaderIs:
    body = _mapping(value, loc, ("name", "in"))
    name = _match(
        _HEADER, _string(body.get("name"), (*loc, "name")).lower(), (*loc, "name"), "a header name"
    )
    values = [
        _string(v, (*loc, "in", i)) for i, v in enumerate(_list(body.get("in", []), (*loc, "in")))
    ]
    return HeaderIs(name, frozenset(values))


def _data(value: Any, loc: Loc) -> DataIs:
    body = _mapping(value, loc, ("sensitivity", "atLeast", "tags"))
    levels: set[str] = set()
    for index, item in enumerate(_list(body.get("sensitivity", []), (*loc, "sensitivity"))):
        levels.add(_level(item, (*loc, "sensitivity", index)))
    if "atLeast" in body:
        lowest = _level(body["atLeast"], (*loc, "atLeast"))
        levels.update(SENSITIVITY[SENSITIVITY.index(lowest) :])
    tags = [
        _match(_TOKEN, t, (*loc, "tags", i), "a tag")
        for i, t in enumerate(_list(body.get("tags", []), (*loc, "tags")))
    ]
    return DataIs(frozenset(levels), frozenset(tags))


def _level(value: Any, loc: Loc) -> str:
    level = _string(value, loc)
    if level not in SENSITIVITY:
        raise SpecProblem(loc, f"unknown sensitivity {level!r} (expected {', '.join(SENSITIVITY)})")
    return level


def to_json(condition: Condition) -> dict[str, Any]:
    """The canonical form, which ``parse_condition`` reads back to an equal value."""
    if isinstance(condition, AllOf):
        return {"all": [to_json(item) for item in condition.items]}
    if isinstance(condition, AnyOf):
        return {"any": [to_json(item) for item in condition.items]}
    if isinstance(condition, Not):
        return {"not": to_json(condition.item)}
    if isinstance(condition, Use):
        return {"use": condition.name}
    if isinstance(condition, SourceIn):
        return {"source": [*(str(n) for n in condition.networks), *condition.lists]}
    if isinstance(condition, CountryIn):
        return {"country": sorted(condition.countries)}
    if isinstance(condition, DeviceTrust):
        return {"device": {"trust": condition.minimum}}
    if isinstance(condition, DeviceTags):
        return {"device": {"tags": sorted(condition.tags)}}
    if isinstance(condition, DevicePosture):
        return {"device": {"posture": {condition.attribute: condition.value}}}
    if isinstance(condition, TimeWindow):
        body: dict[str, Any] = {
            "days": [WEEKDAYS[day] for day in sorted(condition.days)],
            "from": f"{condition.start // 60:02d}:{condition.start % 60:02d}",
            "to": f"{condition.end // 60:02d}:{condition.end % 60:02d}",
            "zone": condition.zone,
        }
        if condition.overnight:
            body["overnight"] = True
        return {"time": body}
    if isinstance(condition, RiskBelow):
        return {"risk": {"below": condition.limit}}
    if isinstance(condition, RiskAbove):
        return {"risk": {"above": condition.limit}}
    if isinstance(condition, MethodIn):
        return {"method": sorted(condition.methods)}
    if isinstance(condition, PathUnder):
        return {"path": list(condition.prefixes)}
    if isinstance(condition, HeaderIs):
        header: dict[str, Any] = {"name": condition.name}
        if condition.values:
            header["in"] = sorted(condition.values)
        return {"header": header}
    if isinstance(condition, HasScopes):
        return {"scopes": sorted(condition.scopes)}
    data: dict[str, Any] = {}
    if condition.sensitivity:
        data["sensitivity"] = [level for level in SENSITIVITY if level in condition.sensitivity]
    if condition.tags:
        data["tags"] = sorted(condition.tags)
    return {"data": data}
