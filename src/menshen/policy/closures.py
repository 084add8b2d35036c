"""Compile condition trees into closures, so deciding never walks YAML or dataclass trees.

Each condition becomes a ``Node``: the closure that tests it and, for explain, the
condition and its compiled children. Named blocks are inlined once (a cycle is an
``InvalidInput``), IP lists and networks become integer masks, time windows a
minute-of-week table (IANA time zones through ``zoneinfo``, RFC 8536 data).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC
from zoneinfo import ZoneInfo

from menshen.errors import InvalidInput
from menshen.policy.conditions import (
    MINUTES_PER_DAY,
    SENSITIVITY,
    TRUST_LEVELS,
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
from menshen.policy.model import AccessRequest, DataLabel, Network

Check = Callable[[AccessRequest], bool]
AddressKey = tuple[int, int]
ADDRESS_MEMO = 4096
MINUTES_PER_WEEK = 7 * MINUTES_PER_DAY


def always(request: AccessRequest) -> bool:
    return True


@dataclass(frozen=True, slots=True)
class Node:
    """A compiled condition: its test, what it says, and its compiled parts (for explain)."""

    condition: Condition
    check: Check
    children: tuple[Node, ...] = ()


class AddressCache:
    """Client addresses parsed once: (version, integer), IPv4-mapped IPv6 counted as IPv4."""

    __slots__ = ("memo",)

    def __init__(self) -> None:
        self.memo: dict[str, AddressKey] = {}

    def key(self, text: str) -> AddressKey:
        found = self.memo.get(text)
        if found is None:
            found = address_key(text)
            if len(self.memo) >= ADDRESS_MEMO:
                self.memo.clear()
            self.memo[text] = found
        return found


def address_key(text: str) -> AddressKey:
    """Parse an IP address; ``ValueError`` if it is not one."""
    address = ipaddress.ip_address(text)
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        # ::ffff:10.0.0.1 is 10.0.0.1 on a dual-stack socket; a deny rule must see it so.
        return (4, int(address.ipv4_mapped))
    return (address.version, int(address))


def network_key(network: Network) -> tuple[int, int, int]:
    """(version, network, mask); ``::ffff:10.0.0.0/104`` is compared as ``10.0.0.0/8``."""
    if isinstance(network, ipaddress.IPv6Network) and network.prefixlen >= 96:
        mapped = ipaddress.IPv6Address(int(network.network_address)).ipv4_mapped
        if mapped is not None:
            network = ipaddress.IPv4Network((int(mapped), network.prefixlen - 96))
    return (network.version, int(network.network_address), int(network.netmask))


def networks_check(networks: tuple[Network, ...], addresses: AddressCache) -> Check:
    keys = tuple(network_key(network) for network in networks)
    parse = addresses.key

    def check(request: AccessRequest) -> bool:
        version, value = parse(request.source_ip)
        for wanted, network, mask in keys:  # noqa: SIM110 - a loop beats any() here
            if wanted == version and value & mask == network:
                return True
        return False

    return check


def path_check(prefixes: tuple[str, ...]) -> Check:
    """Segment-wise prefixes: ``/admin`` covers ``/admin`` and ``/admin/x``, not ``/adminx``."""
    if any(prefix == "/" for prefix in prefixes):
        return always
    exact = frozenset(prefixes)
    starts = tuple(f"{prefix}/" for prefix in prefixes)

    def check(request: AccessRequest) -> bool:
        path = request.path
        return path in exact or path.startswith(starts)

    return check


def window_table(window: TimeWindow) -> bytes:
    """One byte per minute of the week: 1 inside the window."""
    table = bytearray(MINUTES_PER_WEEK)
    for day in window.days:
        first = day * MINUTES_PER_DAY + window.start
        last = day * MINUTES_PER_DAY + window.end + (MINUTES_PER_DAY if window.overnight else 0)
        for minute in range(first, last):
            table[minute % MINUTES_PER_WEEK] = 1
    return bytes(table)


def check_window(window: TimeWindow) -> ZoneInfo:
    """Refuse impossible windows; return the zone."""
    if not window.days or not window.days <= set(range(7)):
        raise InvalidInput("a time window needs weekdays (0 = Monday … 6 = Sunday)")
    if not 0 <= window.start < MINUTES_PER_DAY or not 0 < window.end <= MINUTES_PER_DAY:
        raise InvalidInput("a time window runs from 00:00 to at most 24:00")
    if not window.overnight and window.end <= window.start:
        raise InvalidInput("the time window ends before it starts (set overnight: true?)")
    if window.overnight and window.end > window.start:
        raise InvalidInput("an overnight time window must end (next day) before it starts")
    try:
        return ZoneInfo(window.zone)
    except (ValueError, KeyError):
        raise InvalidInput(f"unknown time zone {window.zone!r}") from None


@dataclass(slots=True)
class Compiler:
    """Compiles the conditions of one Policy (its named blocks and the tenant's IP lists)."""

    blocks: Mapping[str, Condition]
    ip_lists: Mapping[str, tuple[Network, ...]]
    addresses: AddressCache
    label_of: Callable[[str], DataLabel]
    resolved: dict[str, Node] = field(default_factory=dict)
    resolving: list[str] = field(default_factory=list)

    def compile(self, condition: Condition) -> Node:
        if isinstance(condition, AllOf | AnyOf):
            children = tuple(self.compile(item) for item in condition.items)
            checks = tuple(child.check for child in children)
            combine = all_of if isinstance(condition, AllOf) else any_of
            return Node(condition, combine(checks), children)
        if isinstance(condition, Not):
            inner = self.compile(condition.item)
            test = inner.check
            return Node(condition, lambda request: not test(request), (inner,))
        if isinstance(condition, Use):
            inner = self.use(condition.name)
            return Node(condition, inner.check, (inner,))
        return Node(condition, self.leaf(condition))

    def use(self, name: str) -> Node:
        found = self.resolved.get(name)
        if found is not None:
            return found
        if name in self.resolving:
            cycle = " → ".join([*self.resolving[self.resolving.index(name) :], name])
            raise InvalidInput(f"named conditions form a cycle: {cycle}")
        block = self.blocks.get(name)
        if block is None:
            raise InvalidInput(f"unknown named condition {name!r}")
        self.resolving.append(name)
        try:
            node = self.compile(block)
        finally:
            self.resolving.pop()
        self.resolved[name] = node
        return node

    def leaf(self, condition: Condition) -> Check:
        if isinstance(condition, SourceIn):
            return networks_check(self.networks(condition), self.addresses)
        if isinstance(condition, CountryIn):
            countries = condition.countries
            return lambda request: request.country in countries
        if isinstance(condition, DeviceTrust | DeviceTags | DevicePosture):
            return device_check(condition)
        if isinstance(condition, TimeWindow):
            return time_check(condition)
        if isinstance(condition, RiskBelow | RiskAbove):
            return risk_check(condition)
        if isinstance(condition, MethodIn):
            methods = condition.methods
            return lambda request: request.method in methods
        if isinstance(condition, PathUnder):
            for prefix in condition.prefixes:
                if not prefix.startswith("/"):
                    raise InvalidInput(f"path prefix {prefix!r} must start with '/'")
            return path_check(tuple(p.rstrip("/") or "/" for p in condition.prefixes))
        if isinstance(condition, HeaderIs):
            return header_check(condition)
        if isinstance(condition, HasScopes):
            scopes = condition.scopes
            return lambda request: scopes <= request.scopes
        if isinstance(condition, DataIs):
            return self.data_check(condition)
        raise InvalidInput(f"not a condition: {condition!r}")

    def networks(self, condition: SourceIn) -> tuple[Network, ...]:
        found = list(condition.networks)
        for name in condition.lists:
            listed = self.ip_lists.get(name)
            if listed is None:
                raise InvalidInput(f"unknown IP list {name!r}")
            found.extend(listed)
        return tuple(found)

    def data_check(self, condition: DataIs) -> Check:
        unknown = condition.sensitivity - set(SENSITIVITY)
        if unknown:
            raise InvalidInput(f"unknown sensitivity {sorted(unknown)[0]!r}")
        levels, tags, label_of = condition.sensitivity, condition.tags, self.label_of

        def check(request: AccessRequest) -> bool:
            label = label_of(request.path)
            return (not levels or label.sensitivity in levels) and (
                not tags or not tags.isdisjoint(label.tags)
            )

        return check


def all_of(checks: tuple[Check, ...]) -> Check:
    if len(checks) == 1:
        return checks[0]
    if len(checks) == 2:
        first, second = checks
        return lambda request: first(request) and second(request)
    if len(checks) == 3:
        one, two, three = checks
        return lambda request: one(request) and two(request) and three(request)
    # A chain of closures: a generator expression costs more than the calls it saves.
    head, rest = checks[0], all_of(checks[1:])
    return lambda request: head(request) and rest(request)


def any_of(checks: tuple[Check, ...]) -> Check:
    if len(checks) == 1:
        return checks[0]
    if len(checks) == 2:
        first, second = checks
        return lambda request: first(request) or second(request)
    if len(checks) == 3:
        one, two, three = checks
        return lambda request: one(request) or two(request) or three(request)
    head, rest = checks[0], any_of(checks[1:])
    return lambda request: head(request) or rest(request)


def device_check(condition: DeviceTrust | DeviceTags | DevicePosture) -> Check:
    if isinstance(condition, DeviceTrust):
        if condition.minimum not in TRUST_LEVELS:
            raise InvalidInput(f"unknown device trust level {condition.minimum!r}")
        accepted = frozenset(TRUST_LEVELS[TRUST_LEVELS.index(condition.minimum) :])
        return lambda r: r.device is not None and r.device.trust in accepted
    if isinstance(condition, DeviceTags):
        tags = condition.tags
        return lambda r: r.device is not None and tags <= r.device.tags
    attribute, value = condition.attribute, condition.value

    def posture(request: AccessRequest) -> bool:
        device = request.device
        if device is None:
            return False
        found = device.posture.get(attribute)
        # ``True == 1`` in Python; a posture of 1 is not a posture of true.
        return type(found) is type(value) and found == value

    return posture


def time_check(window: TimeWindow) -> Check:
    zone = check_window(window)
    table = window_table(window)

    def check(request: AccessRequest) -> bool:
        now = request.now
        local = (now if now.tzinfo is not None else now.replace(tzinfo=UTC)).astimezone(zone)
        return table[local.weekday() * MINUTES_PER_DAY + local.hour * 60 + local.minute] == 1

    return check


def risk_check(condition: RiskBelow | RiskAbove) -> Check:
    limit = condition.limit
    if limit != limit:
        raise InvalidInput("a risk limit must be a number")
    below = isinstance(condition, RiskBelow)

    def check(request: AccessRequest) -> bool:
        risk = request.risk
        if risk != risk:
            raise ValueError("risk score is not a number")  # fail closed: evaluation error
        return risk < limit if below else risk > limit

    return check


def header_check(condition: HeaderIs) -> Check:
    name, values = condition.name.lower(), condition.values
    if values:
        return lambda request: request.headers.get(name) in values
    return lambda request: name in request.headers
