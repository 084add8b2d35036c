"""Conditions and shortfalls in words a user understands, for reasons and explain traces.

"requires group finance-ops; you are in contractors", "requires WebAuthn within 15 minutes;
your last MFA was TOTP 3 h ago": each text states what a rule asks for, then what the
request had (NIST SP 800-207 §3.3: the engine logs the rationale of every decision).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, timedelta
from zoneinfo import ZoneInfo

from menshen.policy.conditions import (
    TRUST_LEVELS,
    WEEKDAYS,
    AllOf,
    AnyOf,
    Condition,
    CountryIn,
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
from menshen.policy.model import AccessRequest, DataLabel, Subject

MFA_NAMES = {"webauthn": "WebAuthn", "totp": "TOTP", "recovery_code": "a recovery code"}
LabelOf = Callable[[str], DataLabel]


def either(items: list[str], joiner: str = "or") -> str:
    if len(items) <= 1:
        return "".join(items)
    return f"{', '.join(items[:-1])} {joiner} {items[-1]}"


def long_duration(value: timedelta) -> str:
    """``15 minutes``, ``12 hours``, ``1 day 6 hours``."""
    seconds = int(value.total_seconds())
    parts = []
    for size, unit in ((86400, "day"), (3600, "hour"), (60, "minute"), (1, "second")):
        count, seconds = divmod(seconds, size)
        if count:
            parts.append(f"{count} {unit}{'' if count == 1 else 's'}")
    return " ".join(parts) or "0 seconds"


def short_age(value: timedelta) -> str:
    """``40 s``, ``12 min``, ``3 h``, ``2 d``: how long ago, roughly."""
    seconds = max(0, int(value.total_seconds()))
    if seconds < 120:
        return f"{seconds} s"
    if seconds < 2 * 3600:
        return f"{seconds // 60} min"
    if seconds < 2 * 86400:
        return f"{seconds // 3600} h"
    return f"{seconds // 86400} d"


def mfa_name(method: str) -> str:
    return MFA_NAMES.get(method, method)


def identity_requirement(
    users: frozenset[str], groups: frozenset[str], clients: frozenset[str]
) -> str:
    wanted = []
    if users:
        wanted.append(f"user {either(sorted(users))}")
    if groups:
        label = "group" if len(groups) == 1 else "one of the groups"
        wanted.append(f"{label} {either(sorted(groups))}")
    if clients:
        wanted.append(f"API client {either(sorted(clients))}")
    return either(wanted) or "a signed-in person"


def who(subject: Subject) -> str:
    if subject.kind == "client":
        return f"you are API client {subject.username}"
    groups = ", ".join(sorted(subject.groups))
    return (
        f"you are {subject.username}, in {groups}"
        if groups
        else f"you are {subject.username}, in no group"
    )


def identity_shortfall(
    users: frozenset[str], groups: frozenset[str], clients: frozenset[str], subject: Subject
) -> str:
    if groups and not users and not clients and subject.kind == "user":
        have = ", ".join(sorted(subject.groups)) or "no group"
        return f"requires {identity_requirement(users, groups, clients)}; you are in {have}"
    return f"requires {identity_requirement(users, groups, clients)}; {who(subject)}"


def mfa_requirement(methods: frozenset[str], max_age: timedelta | None) -> str:
    what = (
        either([mfa_name(method) for method in sorted(methods)]) if methods else "a second factor"
    )
    return what if max_age is None else f"{what} within {long_duration(max_age)}"


def mfa_actual(request: AccessRequest) -> str:
    if request.mfa_method is None or request.mfa_at is None:
        return "this session has no second factor"
    age = short_age(request.now - request.mfa_at)
    return f"your last MFA was {mfa_name(request.mfa_method)} {age} ago"


def days_text(days: frozenset[int]) -> str:
    names = [name.capitalize() for name in WEEKDAYS]
    runs: list[str] = []
    ordered = sorted(days)
    start = previous = ordered[0]
    for day in [*ordered[1:], None]:
        if day is not None and day == previous + 1:
            previous = day
            continue
        runs.append(names[start] if start == previous else f"{names[start]}–{names[previous]}")
        if day is not None:
            start = previous = day
    return ", ".join(runs)


def clock_text(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def requirement(condition: Condition) -> str:
    """What ``condition`` asks for, without "requires"."""
    if isinstance(condition, AllOf):
        return either([requirement(item) for item in condition.items], "and")
    if isinstance(condition, AnyOf):
        return "one of: " + " | ".join(requirement(item) for item in condition.items)
    if isinstance(condition, Not):
        return f"not ({requirement(condition.item)})"
    if isinstance(condition, Use):
        return condition.name
    if isinstance(condition, SourceIn):
        sources = [*condition.lists, *(str(network) for network in condition.networks)]
        return f"a connection from {either(sources)}"
    if isinstance(condition, CountryIn):
        return f"a connection from {either(sorted(condition.countries))}"
    if isinstance(condition, DeviceTrust):
        better = "" if condition.minimum == TRUST_LEVELS[-1] else " (or better)"
        return f"a {condition.minimum}{better} device"
    if isinstance(condition, DeviceTags):
        return f"a device tagged {either(sorted(condition.tags), 'and')}"
    if isinstance(condition, DevicePosture):
        return f"device posture {condition.attribute} = {_value(condition.value)}"
    if isinstance(condition, TimeWindow):
        hours = f"{clock_text(condition.start)}–{clock_text(condition.end)}"
        night = " (overnight)" if condition.overnight else ""
        return f"{days_text(condition.days)} {hours}{night} {condition.zone} time"
    if isinstance(condition, RiskBelow):
        return f"a risk score below {condition.limit:g}"
    if isinstance(condition, RiskAbove):
        return f"a risk score above {condition.limit:g}"
    if isinstance(condition, MethodIn):
        return f"method {either(sorted(condition.methods))}"
    if isinstance(condition, PathUnder):
        return f"a path under {either(list(condition.prefixes))}"
    if isinstance(condition, HeaderIs):
        values = sorted(condition.values)
        return f"header {condition.name}" + (f" equal to {either(values)}" if values else "")
    if isinstance(condition, HasScopes):
        return f"API scope {either(sorted(condition.scopes), 'and')}"
    levels = " or ".join(sorted(condition.sensitivity)) or "any"
    tags = f" tagged {either(sorted(condition.tags))}" if condition.tags else ""
    return f"{levels} data{tags}"


def actual(condition: Condition, request: AccessRequest, label_of: LabelOf) -> str:
    """What the request had, for the attribute ``condition`` tests."""
    if isinstance(condition, AllOf | AnyOf | Not | Use):
        return "it does not hold"
    if isinstance(condition, SourceIn):
        return f"yours came from {request.source_ip}"
    if isinstance(condition, CountryIn):
        return f"yours came from {request.country or 'an unknown country'}"
    device = request.device
    if isinstance(condition, DeviceTrust | DeviceTags | DevicePosture) and device is None:
        return "this request came from no known device"
    if isinstance(condition, DeviceTrust) and device is not None:
        return f"yours is {device.trust}"
    if isinstance(condition, DeviceTags) and device is not None:
        return f"yours has tags {', '.join(sorted(device.tags)) or 'none'}"
    if isinstance(condition, DevicePosture) and device is not None:
        found = device.posture.get(condition.attribute)
        shown = "nothing" if found is None else _value(found)
        return f"yours reports {shown}"
    if isinstance(condition, TimeWindow):
        now = request.now if request.now.tzinfo is not None else request.now.replace(tzinfo=UTC)
        local = now.astimezone(ZoneInfo(condition.zone))
        return f"it is {WEEKDAYS[local.weekday()].capitalize()} {local:%H:%M} there"
    if isinstance(condition, RiskBelow | RiskAbove):
        return f"yours is {request.risk:g}"
    if isinstance(condition, MethodIn):
        return f"this is {request.method}"
    if isinstance(condition, PathUnder):
        return f"this is {request.path}"
    if isinstance(condition, HeaderIs):
        value = request.headers.get(condition.name)
        return "it is missing" if value is None else f"it is {value!r}"
    if isinstance(condition, HasScopes):
        return f"your token has {', '.join(sorted(request.scopes)) or 'no scope'}"
    label = label_of(request.path)
    tags = f" tagged {', '.join(sorted(label.tags))}" if label.tags else ""
    return f"this is {label.sensitivity} data{tags}"


def _value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
