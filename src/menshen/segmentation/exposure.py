"""Exposure: which assets the internet, partners, contractors and workstations can get to.

The blast radius (``blast``) of a whole class of starting points at once — NIST SP 800-207
§2.1 tenet 7 and §3.1.2, CISA Zero Trust Maturity Model v2 (Networks): an asset is as
exposed as the least trusted place that reaches it, and the fewer hops, the more exposed.
One multi-source breadth-first search per class, over the same allowed connections as the
blast radius (rules and active exceptions, and monitor mode between inventory assets), so
every asset comes with its nearest starting point and the path to it:

* **internet** — rules whose sources include a wide block outside the firm (a /8 or wider
  for IPv4, /32 or wider for IPv6, e.g. ``0.0.0.0/0``);
* **partner** — rules from any other CIDR zone outside the firm (parties outside the
  inventory), and the assets of kind ``partner_api``, ``third_party_api`` and ``saas``;
* **contractor** — workstations carrying a contractor label (any label whose value is
  ``contractor``, or the labels given);
* **workstation** — every workstation (kind ``workstation`` or label ``role=workstation``).

Monitor mode counts between inventory assets, as in the blast radius; the first hop from
outside counts only rules that name outside networks.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from ipaddress import IPv4Network, IPv6Network

from menshen.inventory.fields import Network
from menshen.inventory.model import Asset, AssetKind
from menshen.segmentation.blast import Hop, spread
from menshen.segmentation.reach import rule_grant
from menshen.segmentation.resolve import Segmentation

OUTSIDE_KINDS = frozenset({AssetKind.PARTNER_API, AssetKind.THIRD_PARTY_API, AssetKind.SAAS})
INTERNAL: tuple[Network, ...] = tuple(
    ipaddress.ip_network(block)
    for block in (
        "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10", "169.254.0.0/16",
        "127.0.0.0/8", "fc00::/7", "fe80::/10", "::1/128",
    )
)  # fmt: skip
Paths = dict[str, tuple[Hop, ...]]


class Source(StrEnum):
    INTERNET = "internet"
    PARTNER = "partner"
    CONTRACTOR = "contractor"
    WORKSTATION = "workstation"


@dataclass(frozen=True, slots=True)
class Exposure:
    """How ``source`` reaches an asset: ``hops`` connections along ``path`` from ``origin``."""

    source: Source
    origin: str
    path: tuple[Hop, ...]

    @property
    def hops(self) -> int:
        return len(self.path)

    @property
    def rules(self) -> tuple[str, ...]:
        return tuple(str(hop.grant) for hop in self.path)

    def route(self) -> str:
        """``laptop-17 → contractor-gateway → wiki``."""
        return " → ".join([self.origin, *(hop.destination for hop in self.path)])


def is_internal(net: Network) -> bool:
    """Inside the firm's private address space (RFC 1918, RFC 6598, RFC 4193, link-local)."""
    return any(_within(net, block) for block in INTERNAL)


def _within(inner: Network, outer: Network) -> bool:
    if isinstance(inner, IPv4Network) and isinstance(outer, IPv4Network):
        return inner.subnet_of(outer)
    if isinstance(inner, IPv6Network) and isinstance(outer, IPv6Network):
        return inner.subnet_of(outer)
    return False


def is_internet(net: Network) -> bool:
    """A wide block outside the firm: the internet, not one party's network."""
    wide = net.prefixlen <= (8 if net.version == 4 else 32)
    return wide and not is_internal(net)


def is_workstation(asset: Asset) -> bool:
    return asset.kind is AssetKind.WORKSTATION or asset.labels.get("role") == "workstation"


def is_contractor(asset: Asset, labels: Sequence[tuple[str, str]] = ()) -> bool:
    """A workstation with one of ``labels`` (default: any label whose value is contractor)."""
    if not is_workstation(asset):
        return False
    if labels:
        return any(asset.labels.get(key) == value for key, value in labels)
    return "contractor" in asset.labels.values()


def _outside_entries(seg: Segmentation, at: datetime, internet: bool) -> dict[str, tuple[Hop, ...]]:
    """One-hop paths into the inventory from outside networks (wide ones, or the others)."""
    entries: dict[str, tuple[Hop, ...]] = {}
    for rule in seg.rules:
        if not rule.active(at) or not rule.src_cidrs:
            continue
        nets = [n for n in rule.src_cidrs if not is_internal(n) and is_internet(n) == internet]
        if not nets:
            continue
        origin = _zone_of(seg, rule.src_zones, nets[0])
        grant = rule_grant(rule)
        for target in rule.dst_assets:
            entries.setdefault(target, (Hop(origin, target, grant),))
    return entries


def _zone_of(seg: Segmentation, zones: tuple[str, ...], net: Network) -> str:
    for name in zones:
        zone = seg.policy.zone(name)
        if zone is not None and net in zone.cidrs:
            return name
    return str(net)


def exposures(
    seg: Segmentation, at: datetime, contractor_labels: Sequence[tuple[str, str]] = ()
) -> dict[str, dict[Source, Exposure]]:
    """For each reachable asset, its nearest exposure to each source class."""
    assets = seg.inventory.assets
    seeds: dict[Source, dict[str, tuple[Hop, ...]]] = {
        Source.INTERNET: _outside_entries(seg, at, internet=True),
        Source.PARTNER: {
            **_outside_entries(seg, at, internet=False),
            **{asset.id: () for asset in assets if asset.kind in OUTSIDE_KINDS},
        },
        Source.CONTRACTOR: {a.id: () for a in assets if is_contractor(a, contractor_labels)},
        Source.WORKSTATION: {asset.id: () for asset in assets if is_workstation(asset)},
    }
    found: dict[str, dict[Source, Exposure]] = {}
    for source, start in seeds.items():
        if not start:
            continue
        for asset_id, path in spread(seg, at, start).items():
            if path:  # the starting points themselves are not "reached"
                origin = path[0].source
                found.setdefault(asset_id, {})[source] = Exposure(source, origin, path)
    return found
