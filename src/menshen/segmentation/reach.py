"""Reachability: everything one asset can open a connection to, and by which rule.

The question Batfish answers on router configurations ("what can this host reach?"),
answered on menshen's own model (NIST SP 800-207 §3.1.2: the segment an attacker lands in
bounds what they can touch). A destination is reachable through a rule or an active
exception whose sides hold both ends, or because monitor mode lets any traffic into it;
ports are those the policy allows (whether something listens there is the network's
business: the analysis over-approximates on purpose).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from menshen.inventory.fields import Network
from menshen.inventory.model import PortRange
from menshen.segmentation.resolve import ResolvedRule, Segmentation

ALL_PORTS = (PortRange("tcp", 1, 65535), PortRange("udp", 1, 65535))
"""What monitor mode lets through: anything."""


class GrantKind(StrEnum):
    RULE = "rule"
    EXCEPTION = "exception"
    MONITOR = "monitor"


@dataclass(frozen=True, slots=True)
class Grant:
    """Why one asset reaches another: a rule, an exception, or monitor mode (any port)."""

    kind: GrantKind
    rule_set: str
    ports: tuple[PortRange, ...]
    rule_id: str | None = None
    expires: datetime | None = None

    def __str__(self) -> str:
        return self.rule_id if self.rule_id is not None else f"monitor:{self.rule_set}"


def rule_grant(rule: ResolvedRule) -> Grant:
    kind = GrantKind.EXCEPTION if rule.expires is not None else GrantKind.RULE
    return Grant(kind, rule.rule_set, rule.ports, rule.rule_id, rule.expires)


def monitor_grant(rule_set: str) -> Grant:
    return Grant(GrantKind.MONITOR, rule_set, ALL_PORTS)


@dataclass(frozen=True, slots=True)
class ReachedAsset:
    """An inventory asset the source reaches, with every grant that lets it (rule order)."""

    asset: str
    grants: tuple[Grant, ...]


@dataclass(frozen=True, slots=True)
class ReachedNetwork:
    """A zone of CIDRs (a party outside the inventory) the source reaches."""

    zone: str
    cidrs: tuple[Network, ...]
    grants: tuple[Grant, ...]


@dataclass(frozen=True, slots=True)
class Reach:
    """``reach`` of one asset at one time: assets by id, networks by zone name."""

    source: str
    at: datetime
    assets: tuple[ReachedAsset, ...]
    networks: tuple[ReachedNetwork, ...]

    def asset_ids(self) -> tuple[str, ...]:
        return tuple(item.asset for item in self.assets)


def reach(seg: Segmentation, asset_id: str, at: datetime) -> Reach:
    """Everything ``asset_id`` can reach at ``at``; ``NotFound`` for an unknown asset."""
    seg.zones_of(asset_id)  # raises NotFound for an unknown asset
    assets: dict[str, list[Grant]] = {}
    networks: dict[str, list[Grant]] = {}
    for rule in seg.rules_from(asset_id):
        if not rule.active(at):
            continue
        grant = rule_grant(rule)
        for target in rule.dst_assets:
            if target != asset_id:
                assets.setdefault(target, []).append(grant)
        for zone in rule.dst_zones:
            if _cidrs(seg, zone):
                networks.setdefault(zone, []).append(grant)
    for target, rule_set in seg.monitored_assets().items():
        if target != asset_id:
            assets.setdefault(target, []).append(monitor_grant(rule_set))
    for zone, _, rule_set in seg.monitored_networks():
        networks.setdefault(zone, []).append(monitor_grant(rule_set))
    return Reach(
        source=asset_id,
        at=at,
        assets=tuple(ReachedAsset(key, tuple(assets[key])) for key in sorted(assets)),
        networks=tuple(
            ReachedNetwork(key, _cidrs(seg, key), tuple(networks[key])) for key in sorted(networks)
        ),
    )


def _cidrs(seg: Segmentation, zone: str) -> tuple[Network, ...]:
    found = seg.policy.zone(zone)
    return () if found is None else found.cidrs
