"""The condition language of policy rules, as plain values (NIST SP 800-207 §3.3.1 attributes).

A condition is a tree: ``AllOf``/``AnyOf``/``Not`` combinators over leaves that test one
attribute of the request (who is asking is the rule's own ``users``/``groups``/``clients``;
MFA is the rule's own ``mfa``, because only it can be cured by a step-up). ``Use`` names a
reusable block of the same Policy, resolved at compile time (cycles are refused).
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

TRUST_LEVELS = ("unknown", "registered", "managed", "compliant")
"""Device trust, weakest first; ``device: {trust: managed}`` accepts managed and compliant."""

SENSITIVITY = ("public", "internal", "confidential", "restricted")
"""Data sensitivity, least sensitive first (FSC / ISO 27001 style four-level scheme)."""

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DEFAULT_ZONE = "Asia/Taipei"
MINUTES_PER_DAY = 1440

PostureValue = str | int | float | bool


@dataclass(frozen=True, slots=True)
class AllOf:
    items: tuple[Condition, ...]


@dataclass(frozen=True, slots=True)
class AnyOf:
    items: tuple[Condition, ...]


@dataclass(frozen=True, slots=True)
class Not:
    item: Condition


@dataclass(frozen=True, slots=True)
class Use:
    """A reference to a named condition block of the same Policy."""

    name: str


@dataclass(frozen=True, slots=True)
class SourceIn:
    """The client address is in one of ``networks`` or of the named IP ``lists``."""

    networks: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...] = ()
    lists: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class CountryIn:
    """The geo-IP country (ISO 3166-1 alpha-2) is one of ``countries``; unknown never is."""

    countries: frozenset[str]


@dataclass(frozen=True, slots=True)
class DeviceTrust:
    """A known device at least this trusted (one of ``TRUST_LEVELS``)."""

    minimum: str


@dataclass(frozen=True, slots=True)
class DeviceTags:
    """A known device carrying every one of ``tags``."""

    tags: frozenset[str]


@dataclass(frozen=True, slots=True)
class DevicePosture:
    """A known device whose posture attribute ``attribute`` equals ``value``."""

    attribute: str
    value: PostureValue


@dataclass(frozen=True, slots=True)
class TimeWindow:
    """Weekly hours in a named time zone: ``days`` (0 = Monday) from ``start`` to ``end``.

    Minutes of the day; start inclusive, end exclusive (``end`` may be 1440, midnight).
    ``overnight`` windows end on the next day, and ``days`` name the day they open.
    """

    days: frozenset[int]
    start: int
    end: int
    zone: str = DEFAULT_ZONE
    overnight: bool = False


@dataclass(frozen=True, slots=True)
class RiskBelow:
    """The subject's live risk score is strictly below ``limit``."""

    limit: float


@dataclass(frozen=True, slots=True)
class RiskAbove:
    """The subject's live risk score is strictly above ``limit``."""

    limit: float


@dataclass(frozen=True, slots=True)
class MethodIn:
    """The HTTP method is one of ``methods`` (upper-case; request methods are case-sensitive)."""

    methods: frozenset[str]


@dataclass(frozen=True, slots=True)
class PathUnder:
    """The canonical path is under one of ``prefixes``, segment by segment."""

    prefixes: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class HeaderIs:
    """Header ``name`` (lower-case) is present and, when ``values`` is not empty, one of them."""

    name: str
    values: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class HasScopes:
    """The machine client's token carries every one of ``scopes``."""

    scopes: frozenset[str]


@dataclass(frozen=True, slots=True)
class DataIs:
    """The resource's sensitivity is one of ``sensitivity`` (empty: any) and, when ``tags``
    is not empty, it carries at least one of them."""

    sensitivity: frozenset[str] = frozenset()
    tags: frozenset[str] = frozenset()


Condition = (
    AllOf
    | AnyOf
    | Not
    | Use
    | SourceIn
    | CountryIn
    | DeviceTrust
    | DeviceTags
    | DevicePosture
    | TimeWindow
    | RiskBelow
    | RiskAbove
    | MethodIn
    | PathUnder
    | HeaderIs
    | HasScopes
    | DataIs
)
