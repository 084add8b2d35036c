"""The segmentation policy: zones, an allow-list of flows between them, default deny.

NIST SP 800-207 §3.1.2 (micro-segmentation: "placing individual or groups of resources on a
unique network segment protected by a gateway security component"), §2.1 tenets 3 and 6
(per-session access, enforced dynamically). The model follows the shapes the reference
products share: zones chosen by labels (Illumio, Kubernetes selectors) or by CIDR for parties
outside the inventory (a Kubernetes ``ipBlock``); rules are additive allows, as in
NetworkPolicy and security groups, so their order never changes *whether* a flow passes,
only which rule is named for it; a temporary exception carries an owner and an expiry.

``mode`` belongs to a rule set and says what happens to traffic *into its scope* that no
rule allows: ``enforce`` drops it; ``monitor`` logs it and lets it through (Illumio's test
mode, Cilium's audit mode, Calico's staged policies), so a firm sees what enforcement would
break before it enforces. Where a zone is in the scope of both, enforce wins.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Protocol

from menshen.inventory.fields import Network, check_id, check_rule_id, check_text, network_key
from menshen.inventory.model import PortRange
from menshen.inventory.problems import Origin, Problem, problem, raise_if_any
from menshen.segmentation.labels import Expanded, LabelGroup, Selector, expand

Peer = str | Selector
"""One side of a rule: a zone (by name) or a label set (a ``Selector``)."""


class Mode(StrEnum):
    MONITOR = "monitor"
    ENFORCE = "enforce"


def _peers(peers: Iterable[Peer]) -> tuple[Peer, ...]:
    unique = set(peers)
    return tuple(sorted(unique, key=lambda p: (0, p) if isinstance(p, str) else (1, str(p))))


def _set(owner: object, name: str, value: object) -> None:
    object.__setattr__(owner, name, value)


@dataclass(frozen=True, slots=True)
class Zone:
    """A segment: the assets a selector chooses, and/or CIDR blocks (parties outside)."""

    name: str
    selector: Selector | None = None
    cidrs: tuple[Network, ...] = ()
    description: str = ""
    origin: Origin | None = field(default=None, compare=False, repr=False)

    def __post_init__(self) -> None:
        check_id(self.name, "zone name")
        _set(self, "cidrs", tuple(sorted(set(self.cidrs), key=network_key)))
        check_text(self.description, "description")
        if self.selector is None and not self.cidrs:
            raise ValueError(f"zone {self.name!r} needs a selector, CIDRs, or both")


@dataclass(frozen=True, slots=True)
class Rule:
    """Allow ``ports`` from any of ``sources`` to any of ``destinations``."""

    id: str
    sources: tuple[Peer, ...]
    destinations: tuple[Peer, ...]
    ports: tuple[PortRange, ...]
    description: str = ""
    owner: str = ""
    origin: Origin | None = field(default=None, compare=False, repr=False)

    def __post_init__(self) -> None:
        check_rule_id(self.id)
        _check_sides(self.id, self.sources, self.destinations, self.ports)
        _set(self, "sources", _peers(self.sources))
        _set(self, "destinations", _peers(self.destinations))
        _set(self, "ports", tuple(sorted(set(self.ports))))
        check_text(self.description, "description")
        check_text(self.owner, "owner")


@dataclass(frozen=True, slots=True)
class FlowException:
    """A temporary allow with an owner, ignored from ``expires`` on (an aware datetime)."""

    id: str
    sources: tuple[Peer, ...]
    destinations: tuple[Peer, ...]
    ports: tuple[PortRange, ...]
    owner: str
    expires: datetime
    reason: str = ""
    origin: Origin | None = field(default=None, compare=False, repr=False)

    def __post_init__(self) -> None:
        check_rule_id(self.id)
        _check_sides(self.id, self.sources, self.destinations, self.ports)
        _set(self, "sources", _peers(self.sources))
        _set(self, "destinations", _peers(self.destinations))
        _set(self, "ports", tuple(sorted(set(self.ports))))
        if not self.owner.strip():
            raise ValueError(f"exception {self.id!r} needs an owner")
        check_text(self.owner, "owner")
        check_text(self.reason, "reason")
        if self.expires.tzinfo is None or self.expires.utcoffset() is None:
            raise ValueError(f"exception {self.id!r}: expires needs a time zone")

    def active(self, at: datetime) -> bool:
        return at < self.expires


def _check_sides(
    rule_id: str,
    sources: tuple[Peer, ...],
    destinations: tuple[Peer, ...],
    ports: tuple[PortRange, ...],
) -> None:
    if not sources or not destinations:
        raise ValueError(f"rule {rule_id!r} needs at least one source and one destination")
    if not ports:
        raise ValueError(f"rule {rule_id!r} needs at least one port (e.g. tcp/443)")
    for peer in (*sources, *destinations):
        if isinstance(peer, str):
            check_id(peer, "zone name")


@dataclass(frozen=True, slots=True)
class RuleSet:
    """Rules and exceptions under one mode; ``scope`` is the zones whose traffic it watches."""

    name: str
    mode: Mode = Mode.ENFORCE
    scope: tuple[str, ...] = ()
    rules: tuple[Rule, ...] = ()
    exceptions: tuple[FlowException, ...] = ()
    description: str = ""
    origin: Origin | None = field(default=None, compare=False, repr=False)

    def __post_init__(self) -> None:
        check_id(self.name, "rule set name")
        _set(self, "mode", Mode(self.mode))
        _set(self, "scope", tuple(sorted({check_id(zone, "zone name") for zone in self.scope})))
        check_text(self.description, "description")


@dataclass(frozen=True, slots=True)
class SegmentationPolicy:
    """Label groups, zones and rule sets, checked as a whole; rule sets ordered by name.

    Construction raises ``InvalidModel`` listing every problem: duplicate names or rule ids,
    rules naming undefined zones or label groups, cycles among label groups, a monitor rule
    set without a scope.
    """

    label_groups: tuple[LabelGroup, ...] = ()
    zones: tuple[Zone, ...] = ()
    rule_sets: tuple[RuleSet, ...] = ()
    expanded: dict[str, Expanded] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        groups = tuple(sorted(self.label_groups, key=lambda group: group.name))
        zones = tuple(sorted(self.zones, key=lambda zone: zone.name))
        rule_sets = tuple(sorted(self.rule_sets, key=lambda rule_set: rule_set.name))
        problems: list[Problem] = []
        group_names = _names(groups, "label group", problems)
        zone_names = _names(zones, "zone", problems)
        _names(rule_sets, "rule set", problems)
        expanded = expand({group.name: group for group in groups}, problems)
        for zone in zones:
            if zone.selector is not None:
                _check_selector(zone.selector, group_names, zone.origin, "select", problems)
        seen: dict[str, Origin | None] = {}
        for rule_set in rule_sets:
            _check_rule_set(rule_set, zone_names, group_names, seen, problems)
        raise_if_any(problems)
        _set(self, "label_groups", groups)
        _set(self, "zones", zones)
        _set(self, "rule_sets", rule_sets)
        _set(self, "expanded", expanded)

    def zone(self, name: str) -> Zone | None:
        return next((zone for zone in self.zones if zone.name == name), None)

    def rule(self, rule_id: str) -> tuple[RuleSet, Rule | FlowException] | None:
        """The rule or exception with this id, and its rule set."""
        for rule_set in self.rule_sets:
            items: tuple[Rule | FlowException, ...] = (*rule_set.rules, *rule_set.exceptions)
            for item in items:
                if item.id == rule_id:
                    return rule_set, item
        return None


class _Named(Protocol):
    @property
    def name(self) -> str: ...
    @property
    def origin(self) -> Origin | None: ...


def _names(items: Sequence[_Named], what: str, problems: list[Problem]) -> set[str]:
    seen: set[str] = set()
    for item in items:
        if item.name in seen:
            problems.append(problem(f"duplicate {what} {item.name!r}", item.origin, "name"))
        seen.add(item.name)
    return seen


def _check_selector(
    selector: Selector,
    groups: Collection[str],
    origin: Origin | None,
    key: str,
    problems: list[Problem],
) -> None:
    for name in selector.groups:
        if name not in groups:
            problems.append(problem(f"unknown label group {name!r}", origin, key))


def _check_rule_set(
    rule_set: RuleSet,
    zones: Collection[str],
    groups: Collection[str],
    seen: dict[str, Origin | None],
    problems: list[Problem],
) -> None:
    if rule_set.mode is Mode.MONITOR and not rule_set.scope:
        problems.append(
            problem(
                f"rule set {rule_set.name!r} is in monitor mode but has no scope: list the "
                "zones whose traffic it lets through and logs",
                rule_set.origin,
                "mode",
            )
        )
    for zone in rule_set.scope:
        if zone not in zones:
            problems.append(
                problem(
                    f"rule set {rule_set.name!r}: scope names undefined zone {zone!r}",
                    rule_set.origin,
                    "scope",
                )
            )
    items: tuple[Rule | FlowException, ...] = (*rule_set.rules, *rule_set.exceptions)
    for item in items:
        if item.id in seen:
            first = seen[item.id]
            where = "" if first is None else f" (first at {first})"
            problems.append(problem(f"duplicate rule id {item.id!r}{where}", item.origin, "id"))
        seen.setdefault(item.id, item.origin)
        for side, peers in (("from", item.sources), ("to", item.destinations)):
            for peer in peers:
                if isinstance(peer, str) and peer not in zones:
                    problems.append(
                        problem(
                            f"rule {item.id!r}: {side} names undefined zone {peer!r}",
                            item.origin,
                            side,
                        )
                    )
                elif isinstance(peer, Selector):
                    _check_selector(peer, groups, item.origin, side, problems)
