"""What every compiler needs: the rules in force, address sets per peer, monitored regions.

The compilers translate ``Segmentation.rules`` and must agree with ``Segmentation.allows``
and ``verdict`` (docs/segmentation.md, "Semantics of a decision"). The facts they rely on:

* The addresses in a zone are its CIDRs plus the networks of its member assets: a zone may
  not cover part of an asset, so an address is in a zone exactly when its owner is, or (for
  an address no asset owns) when a zone CIDR contains it. A label set's addresses are the
  networks of the assets it selects.
* An address no rule allows is let through (``MONITOR``) when it belongs to a monitored
  asset, or — owned by no asset — lies in a CIDR of a zone watched by a monitor rule set and
  in no CIDR of a zone an enforce rule set covers. ``monitored_regions`` computes exactly
  that set, per watching rule set, as disjoint networks.

Address arithmetic works on inclusive integer ranges and gives back CIDR blocks
(RFC 4632 §3.1), collapsed and sorted, so the output is the same for the same input.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from hashlib import sha256
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network, summarize_address_range

from menshen.inventory.fields import Network, network_key
from menshen.inventory.model import PortRange, Protocol
from menshen.segmentation.labels import Selector
from menshen.segmentation.model import Mode, Peer
from menshen.segmentation.resolve import ResolvedRule, Segmentation

GENERATOR = "menshen segment compile"
Span = tuple[int, int]  # first and last address, inclusive


def rules_in_force(seg: Segmentation, at: datetime) -> tuple[ResolvedRule, ...]:
    """Rules and the exceptions still valid at ``at``, in ``allows`` order."""
    return tuple(rule for rule in seg.rules if rule.active(at))


def merged_ports(ports: Iterable[PortRange]) -> dict[Protocol, tuple[Span, ...]]:
    """Port ranges per protocol, overlapping and touching ranges merged, sorted."""
    found: dict[Protocol, list[Span]] = {}
    for item in ports:
        found.setdefault(item.protocol, []).append((item.first, item.last))
    return {protocol: _merge(spans) for protocol, spans in sorted(found.items())}


def _merge(spans: Iterable[Span]) -> tuple[Span, ...]:
    merged: list[Span] = []
    for first, last in sorted(spans):
        if merged and first <= merged[-1][1] + 1:
            merged[-1] = (merged[-1][0], max(merged[-1][1], last))
        else:
            merged.append((first, last))
    return tuple(merged)


# -- address sets ---------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class AddressSet:
    """Disjoint, sorted address ranges of each family (4 and 6)."""

    v4: tuple[Span, ...] = ()
    v6: tuple[Span, ...] = ()

    @classmethod
    def of(cls, networks: Iterable[Network]) -> AddressSet:
        spans: dict[int, list[Span]] = {4: [], 6: []}
        for net in networks:
            first = int(net.network_address)
            spans[net.version].append((first, first + net.num_addresses - 1))
        return cls(_merge(spans[4]), _merge(spans[6]))

    def __or__(self, other: AddressSet) -> AddressSet:
        return AddressSet(_merge(self.v4 + other.v4), _merge(self.v6 + other.v6))

    def __sub__(self, other: AddressSet) -> AddressSet:
        return AddressSet(_subtract(self.v4, other.v4), _subtract(self.v6, other.v6))

    def __bool__(self) -> bool:
        return bool(self.v4 or self.v6)

    def networks(self, version: int) -> tuple[Network, ...]:
        """The set as CIDR blocks of one family, in address order."""
        found: list[Network] = []
        if version == 4:
            for first, last in self.v4:
                found.extend(summarize_address_range(IPv4Address(first), IPv4Address(last)))
        else:
            for first, last in self.v6:
                found.extend(summarize_address_range(IPv6Address(first), IPv6Address(last)))
        return tuple(sorted(found, key=network_key))

    def all_networks(self) -> tuple[Network, ...]:
        return self.networks(4) + self.networks(6)


def _subtract(spans: Sequence[Span], minus: Sequence[Span]) -> tuple[Span, ...]:
    result: list[Span] = []
    for first, last in spans:
        start = first
        for low, high in minus:
            if high < start or low > last:
                continue
            if low > start:
                result.append((start, low - 1))
            start = max(start, high + 1)
            if start > last:
                break
        if start <= last:
            result.append((start, last))
    return tuple(result)


def asset_networks(seg: Segmentation, asset_ids: Iterable[str]) -> tuple[Network, ...]:
    """The networks of the given assets (assets with only host names have none)."""
    found: list[Network] = []
    for asset_id in asset_ids:
        asset = seg.inventory.asset(asset_id)
        if asset is not None:
            found.extend(asset.networks)
    return tuple(found)


def peer_assets(seg: Segmentation, peer: Peer) -> frozenset[str]:
    """Ids of the assets in a peer: a zone's members, or a label set's matches."""
    return seg.zone_assets(peer) if isinstance(peer, str) else seg.select(peer)


def peer_cidrs(seg: Segmentation, peer: Peer) -> tuple[Network, ...]:
    """The CIDRs a peer names itself (a zone's; a label set has none)."""
    if isinstance(peer, Selector):
        return ()
    zone = seg.policy.zone(peer)
    return () if zone is None else zone.cidrs


def peer_addresses(seg: Segmentation, peer: Peer) -> AddressSet:
    """Every address in a peer: its CIDRs and the networks of its assets."""
    members = sorted(peer_assets(seg, peer))
    return AddressSet.of((*peer_cidrs(seg, peer), *asset_networks(seg, members)))


@dataclass(frozen=True, slots=True)
class MonitoredRegion:
    """Where a monitor rule set lets unmatched traffic through: its assets and addresses."""

    rule_set: str
    assets: tuple[str, ...]
    addresses: AddressSet


def monitored_regions(seg: Segmentation) -> tuple[MonitoredRegion, ...]:
    """Per monitor rule set (by name), the destinations ``verdict`` calls ``MONITOR``."""
    policy = seg.policy
    enforced = [
        cidr
        for rule_set in policy.rule_sets
        if rule_set.mode is Mode.ENFORCE
        for zone in rule_set.scope
        for cidr in peer_cidrs(seg, zone)
    ]
    owned = AddressSet.of(net for asset in seg.inventory.assets for net in asset.networks)
    claimed = AddressSet.of(enforced) | owned
    watched = seg.monitored_assets()
    regions: list[MonitoredRegion] = []
    for rule_set in policy.rule_sets:
        if rule_set.mode is not Mode.MONITOR:
            continue
        scope = AddressSet.of(cidr for zone in rule_set.scope for cidr in peer_cidrs(seg, zone))
        unowned = scope - claimed
        claimed = claimed | unowned
        assets = tuple(sorted(a for a, name in watched.items() if name == rule_set.name))
        addresses = unowned | AddressSet.of(asset_networks(seg, assets))
        if assets or addresses:
            regions.append(MonitoredRegion(rule_set.name, assets, addresses))
    return tuple(regions)


# -- names ----------------------------------------------------------------------------------
_NOT_DNS = re.compile(r"[^a-z0-9-]+")


def dns_slugs(names: Iterable[str]) -> dict[str, str]:
    """A lower-case DNS label (RFC 1123 §2.1) for each name, unique among them: where two
    names give one slug (``SET-1`` and ``set-1``), each gets a short hash of itself added."""
    plain: dict[str, str] = {name: _slug(name) for name in names}
    counts: dict[str, int] = {}
    for slug in plain.values():
        counts[slug] = counts.get(slug, 0) + 1
    return {
        name: slug if counts[slug] == 1 else f"{slug[:40].strip('-')}-{short_hash(name)}"
        for name, slug in plain.items()
    }


def _slug(text: str) -> str:
    return _NOT_DNS.sub("-", text.lower()).strip("-")[:48].strip("-") or "x"


def short_hash(text: str) -> str:
    """Eight hex digits naming ``text`` stably across runs."""
    return sha256(text.encode("utf-8")).hexdigest()[:8]


def is_v4(net: Network) -> bool:
    return isinstance(net, IPv4Network)


def is_v6(net: Network) -> bool:
    return isinstance(net, IPv6Network)
