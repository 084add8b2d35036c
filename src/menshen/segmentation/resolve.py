"""An inventory under a policy: zone memberships resolved once, and the one decision.

``Segmentation.allows(src, dst, port, protocol, at)`` is the single source of truth for
what the policy permits: the compilers (nftables, Kubernetes, security groups) and the
property tests compare against it, and ``reach``, ``blast_radius`` and ``check`` are built
on the same resolved rules. Semantics, in full:

* An endpoint is an asset id or an IP address. An address belongs to the asset owning it
  (if any) and to every zone whose CIDRs contain it. An asset belongs to every zone whose
  selector matches its labels, and to every zone whose CIDRs cover all its networks.
  A zone CIDR may not cover part of an asset (checked here), so an asset and each of its
  addresses are always in the same zones.
* A rule or an active exception matches when the source is in one of its ``from`` peers,
  the destination in one of its ``to`` peers and (protocol, port) in one of its ports.
  The answer names the first match in order: rule sets by name, rules as written, then
  exceptions as written. No match: ``None`` — default deny.
* ``verdict`` adds the mode: no match into a zone watched by a monitor rule set (and by no
  enforce rule set) is ``MONITOR`` (logged, let through); otherwise ``DROP``.

Speed, not semantics: candidate rules come from indexes (by destination asset, and by
address block through ``cidrindex.CidrIndex`` for CIDR peers), which give exactly the rules
that testing each one would; tests/segmentation/test_cidrindex.py compares the two.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from ipaddress import IPv4Network, IPv6Network, collapse_addresses

from menshen.errors import NotFound
from menshen.inventory.bulk import paused_gc
from menshen.inventory.catalog import Inventory
from menshen.inventory.fields import IPAddress, Network, format_network
from menshen.inventory.model import Asset, Endpoint, PortRange
from menshen.inventory.problems import Problem, problem, raise_if_any
from menshen.segmentation.cidrindex import CidrIndex
from menshen.segmentation.labels import Selector
from menshen.segmentation.model import FlowException, Mode, Peer, Rule, SegmentationPolicy, Zone


class Action(StrEnum):
    ALLOW = "allow"
    DROP = "drop"
    MONITOR = "monitor"


@dataclass(frozen=True, slots=True)
class Match:
    """The rule (or exception) that allows a flow."""

    rule_id: str
    rule_set: str
    mode: Mode
    exception: bool = False
    expires: datetime | None = None


@dataclass(frozen=True, slots=True)
class Verdict:
    """What happens to a flow: allowed by ``match``, dropped, or let through by a monitor set."""

    action: Action
    match: Match | None = None
    monitored_by: str | None = None


@dataclass(frozen=True, slots=True)
class ResolvedRule:
    """A rule with its peers resolved to assets and CIDRs: what the compilers translate.

    ``src_peers``/``dst_peers`` are the sides as written (zone names and label selectors, for
    compilers that keep labels, like Kubernetes); ``src_zones``/``dst_zones`` the zones named
    on each side; ``src_cidrs``/``dst_cidrs`` the CIDRs of those zones; ``src_assets``/
    ``dst_assets`` every asset on each side (zone members and label-set matches), by id.
    ``expires`` is set for exceptions only.
    """

    index: int
    rule_id: str
    rule_set: str
    mode: Mode
    ports: tuple[PortRange, ...]
    src_zones: tuple[str, ...]
    dst_zones: tuple[str, ...]
    src_cidrs: tuple[Network, ...]
    dst_cidrs: tuple[Network, ...]
    src_assets: tuple[str, ...]
    dst_assets: tuple[str, ...]
    src_peers: tuple[Peer, ...] = ()
    dst_peers: tuple[Peer, ...] = ()
    expires: datetime | None = None
    owner: str = ""

    @property
    def exception(self) -> bool:
        return self.expires is not None

    def active(self, at: datetime) -> bool:
        return self.expires is None or at < self.expires

    def allows_port(self, protocol: str, port: int) -> bool:
        for item in self.ports:  # PortRange.covers, inlined: this runs for every probe
            if item.protocol == protocol and item.first <= port <= item.last:
                return True
        return False

    @property
    def match(self) -> Match:
        return Match(self.rule_id, self.rule_set, self.mode, self.expires is not None, self.expires)


class Segmentation:
    """The resolved model. Build with ``Segmentation(inventory, policy)``; immutable after."""

    __slots__ = (
        "_asset_zones",
        "_cidr_rules",
        "_cidr_zone_index",
        "_cidr_zones",
        "_dst_index",
        "_dst_members",
        "_enforced",
        "_monitored",
        "_monitors",
        "_selected",
        "_src_cidr_rules",
        "_src_index",
        "_src_members",
        "_zone_assets",
        "inventory",
        "policy",
        "rules",
    )

    def __init__(self, inventory: Inventory, policy: SegmentationPolicy) -> None:
        with paused_gc():  # many small frozensets and tuples, no cycles among them
            self._build(inventory, policy)

    def _build(self, inventory: Inventory, policy: SegmentationPolicy) -> None:
        self.inventory = inventory
        self.policy = policy
        problems: list[Problem] = []
        zone_assets: dict[str, set[str]] = {zone.name: set() for zone in policy.zones}
        self._selected: dict[Selector, frozenset[str]] = {}
        for zone in policy.zones:
            members = zone_assets[zone.name]
            if zone.selector is not None:
                members |= self.select(zone.selector)
            if zone.cidrs:
                blocks = _collapsed(zone.cidrs)
                for asset in inventory.assets:
                    if asset.networks and _covered(asset, blocks, zone, problems):
                        members.add(asset.id)
        raise_if_any(problems)
        self._zone_assets = {name: frozenset(ids) for name, ids in zone_assets.items()}
        asset_zones: dict[str, set[str]] = {asset.id: set() for asset in inventory.assets}
        for name, ids in zone_assets.items():
            for asset_id in ids:
                asset_zones[asset_id].add(name)
        self._asset_zones = {key: frozenset(value) for key, value in asset_zones.items()}
        self._cidr_zones = tuple((zone.name, zone.cidrs) for zone in policy.zones if zone.cidrs)
        self._cidr_zone_index = CidrIndex(self._cidr_zones)
        self._monitors = tuple(
            (rs.name, frozenset(rs.scope)) for rs in policy.rule_sets if rs.mode is Mode.MONITOR
        )
        self._enforced = frozenset(
            zone for rs in policy.rule_sets if rs.mode is Mode.ENFORCE for zone in rs.scope
        )
        self.rules = self._resolve_rules()
        self._src_members = tuple(frozenset(rule.src_assets) for rule in self.rules)
        self._dst_members = tuple(frozenset(rule.dst_assets) for rule in self.rules)
        index: dict[str, list[int]] = {}
        for rule in self.rules:
            for asset_id in rule.dst_assets:
                index.setdefault(asset_id, []).append(rule.index)
        self._dst_index = {key: tuple(value) for key, value in index.items()}
        sources: dict[str, list[int]] = {}
        for rule in self.rules:
            for asset_id in rule.src_assets:
                sources.setdefault(asset_id, []).append(rule.index)
        self._src_index = {
            key: tuple(self.rules[index] for index in value) for key, value in sources.items()
        }
        self._cidr_rules = CidrIndex((rule.index, rule.dst_cidrs) for rule in self.rules)
        self._src_cidr_rules = CidrIndex((rule.index, rule.src_cidrs) for rule in self.rules)
        monitored = {}
        for asset_id, zones in self._asset_zones.items():
            watcher = self.monitored_by(zones)
            if watcher is not None:
                monitored[asset_id] = watcher
        self._monitored = monitored

    # -- resolution -----------------------------------------------------------------------
    def _resolve_rules(self) -> tuple[ResolvedRule, ...]:
        resolved: list[ResolvedRule] = []
        for rule_set in self.policy.rule_sets:
            items: list[Rule | FlowException] = [*rule_set.rules, *rule_set.exceptions]
            for item in items:
                src = self._side(item.sources)
                dst = self._side(item.destinations)
                resolved.append(
                    ResolvedRule(
                        index=len(resolved),
                        rule_id=item.id,
                        rule_set=rule_set.name,
                        mode=rule_set.mode,
                        ports=item.ports,
                        src_zones=src[0],
                        dst_zones=dst[0],
                        src_cidrs=src[1],
                        dst_cidrs=dst[1],
                        src_assets=src[2],
                        dst_assets=dst[2],
                        src_peers=item.sources,
                        dst_peers=item.destinations,
                        expires=item.expires if isinstance(item, FlowException) else None,
                        owner=item.owner,
                    )
                )
        return tuple(resolved)

    def _side(
        self, peers: tuple[Peer, ...]
    ) -> tuple[tuple[str, ...], tuple[Network, ...], tuple[str, ...]]:
        zones = tuple(peer for peer in peers if isinstance(peer, str))
        cidrs: list[Network] = []
        assets: set[str] = set()
        for peer in peers:
            if isinstance(peer, str):
                zone = self.policy.zone(peer)
                assert zone is not None  # the policy checked its references
                cidrs.extend(zone.cidrs)
                assets |= self._zone_assets[peer]
            else:
                assets |= self.select(peer)
        return zones, tuple(dict.fromkeys(cidrs)), tuple(sorted(assets))

    def select(self, selector: Selector) -> frozenset[str]:
        """Ids of the assets a selector matches (through the inventory's label index)."""
        cached = self._selected.get(selector)
        if cached is not None:
            return cached
        if selector.labels:
            key, values = selector.labels[0]
        else:
            key, expanded = self.policy.expanded[selector.groups[0]]
            values = tuple(sorted(expanded))
        found = frozenset(
            asset.id
            for value in values
            for asset in self.inventory.with_label(key, value)
            if selector.matches(asset.labels, self.policy.expanded)
        )
        self._selected[selector] = found
        return found

    # -- questions ------------------------------------------------------------------------
    def zone_assets(self, zone: str) -> frozenset[str]:
        """Ids of the inventory assets in ``zone``."""
        return self._zone_assets[zone]

    def zones_of(self, endpoint: Endpoint) -> frozenset[str]:
        """Every zone an asset id or address belongs to."""
        asset, address = self._endpoint(endpoint)
        zones = set(self._asset_zones.get(asset.id, ())) if asset is not None else set()
        if address is not None:
            zones.update(self._cidr_zone_index.lookup(address))
        return frozenset(zones)

    def allows(
        self, src: Endpoint, dst: Endpoint, port: int, protocol: str, at: datetime
    ) -> Match | None:
        """The first rule or active exception allowing the flow, or None (default deny)."""
        if protocol not in ("tcp", "udp"):
            raise ValueError(f"unknown protocol {protocol!r} (expected tcp or udp)")
        if type(port) is not int or not 1 <= port <= 65535:  # the model's own error for it
            PortRange.single("udp" if protocol == "udp" else "tcp", port)
        src_asset, src_address = self._endpoint(src)
        dst_asset, dst_address = self._endpoint(dst)
        candidates: set[int] = set()
        if dst_asset is not None:
            candidates.update(self._dst_index.get(dst_asset.id, ()))
        if dst_address is not None:  # the rules with a destination CIDR containing it
            candidates.update(self._cidr_rules.lookup(dst_address))
        src_id = None if src_asset is None else src_asset.id
        src_cidr_hits: frozenset[int] | None = None  # looked up once, when first needed
        for index in sorted(candidates):
            rule = self.rules[index]
            if not rule.active(at) or not rule.allows_port(protocol, port):
                continue
            if src_id is not None and src_id in self._src_members[index]:
                return rule.match
            if src_address is not None and rule.src_cidrs:
                if src_cidr_hits is None:
                    src_cidr_hits = frozenset(self._src_cidr_rules.lookup(src_address))
                if index in src_cidr_hits:
                    return rule.match
        return None

    def verdict(
        self, src: Endpoint, dst: Endpoint, port: int, protocol: str, at: datetime
    ) -> Verdict:
        """``allows`` plus the mode: ALLOW with the match, MONITOR or DROP."""
        match = self.allows(src, dst, port, protocol, at)
        if match is not None:
            return Verdict(Action.ALLOW, match)
        watcher = self.monitored_by(self.zones_of(dst))
        if watcher is not None:
            return Verdict(Action.MONITOR, None, watcher)
        return Verdict(Action.DROP)

    def monitored_assets(self) -> dict[str, str]:
        """Assets that monitor mode lets anything reach: asset id → the watching rule set."""
        return dict(self._monitored)

    def monitored_networks(self) -> tuple[tuple[str, tuple[Network, ...], str], ...]:
        """CIDR zones watched by a monitor rule set: (zone, CIDRs, rule set)."""
        found = []
        for name, cidrs in self._cidr_zones:
            watcher = self.monitored_by(frozenset((name,)))
            if watcher is not None:
                found.append((name, cidrs, watcher))
        return tuple(found)

    def rules_from(self, asset_id: str) -> tuple[ResolvedRule, ...]:
        """Rules (active or not) with ``asset_id`` on their source side, in rule order."""
        return self._src_index.get(asset_id, ())

    def in_source(self, index: int, asset_id: str) -> bool:
        """True when asset ``asset_id`` is on the source side of rule ``index``."""
        return asset_id in self._src_members[index]

    def in_rule(self, index: int, src: str, dst: str) -> bool:
        """True when assets ``src`` and ``dst`` are on the two sides of rule ``index``."""
        return src in self._src_members[index] and dst in self._dst_members[index]

    def monitored_by(self, zones: frozenset[str]) -> str | None:
        """The monitor rule set watching one of ``zones``, unless an enforce set does too."""
        if zones & self._enforced:
            return None
        for name, scope in self._monitors:
            if zones & scope:
                return name
        return None

    def _endpoint(self, endpoint: Endpoint) -> tuple[Asset | None, IPAddress | None]:
        if isinstance(endpoint, str):
            asset = self.inventory.asset(endpoint)
            if asset is None:
                raise NotFound(f"no asset {endpoint!r} in the inventory")
            return asset, None
        return self.inventory.asset_at(endpoint), endpoint


def _covered(asset: Asset, blocks: list[Network], zone: Zone, problems: list[Problem]) -> bool:
    """True when the zone's CIDRs (``blocks``, collapsed) cover every network of ``asset``.

    Covering part of it is a problem.
    """
    inside = [net for net in asset.networks if any(_contains(block, net) for block in blocks)]
    touching = [net for net in asset.networks if any(_overlap(net, block) for block in blocks)]
    if touching and len(inside) != len(asset.networks):
        shown = ", ".join(format_network(net) for net in zone.cidrs)
        problems.append(
            problem(
                f"zone {zone.name!r} ({shown}) covers only part of asset {asset.id!r}: widen the "
                "zone's CIDRs or split the asset, so each address is in the same zones",
                asset.origin,
                "addresses",
            )
        )
        return False
    return bool(asset.networks) and len(inside) == len(asset.networks)


def _collapsed(cidrs: tuple[Network, ...]) -> list[Network]:
    v4 = [net for net in cidrs if isinstance(net, IPv4Network)]
    v6 = [net for net in cidrs if isinstance(net, IPv6Network)]
    return [*collapse_addresses(v4), *collapse_addresses(v6)]


def _contains(outer: Network, inner: Network) -> bool:
    if isinstance(outer, IPv4Network) and isinstance(inner, IPv4Network):
        return inner.subnet_of(outer)
    if isinstance(outer, IPv6Network) and isinstance(inner, IPv6Network):
        return inner.subnet_of(outer)
    return False


def _overlap(one: Network, other: Network) -> bool:
    return one.version == other.version and one.overlaps(other)
