"""Random segmentation models, and a naive reading of the semantics to check against.

The oracle is written straight from docs/segmentation.md, with no index, cache or shortcut:
labels expanded by plain recursion, membership tested per asset and per address, every rule
tried in order. ``brute_*`` build the reachability graph by probing ``allows``/``verdict``
for every pair of assets on every port that could matter.
"""

from __future__ import annotations

import ipaddress
from collections import deque
from datetime import UTC, datetime, timedelta

from hypothesis import strategies as st

from menshen.inventory import Asset, Inventory, PortRange
from menshen.inventory.fields import IPAddress, Network
from menshen.segmentation import (
    Action,
    FlowException,
    LabelGroup,
    Mode,
    Peer,
    Rule,
    RuleSet,
    Segmentation,
    SegmentationPolicy,
    Selector,
    Zone,
)
from tests.inventory.strategies import APPS, ENVS, ROLES, inventories, port_ranges

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
TIMES = (T0 - timedelta(days=10), T0, T0 + timedelta(days=10))
ZONE_CIDRS: tuple[Network, ...] = (
    ipaddress.ip_network("10.0.0.0/16"),
    ipaddress.ip_network("10.0.3.0/24"),
    ipaddress.ip_network("198.51.100.0/24"),
    ipaddress.ip_network("2001:db8::/32"),
)
OUTSIDE = (ipaddress.ip_address("198.51.100.7"), ipaddress.ip_address("203.0.113.9"))


@st.composite
def selectors(draw: st.DrawFn, groups: tuple[str, ...]) -> Selector:
    terms = {}
    for key, values in (("role", ROLES), ("app", APPS), ("env", ENVS)):
        if draw(st.integers(0, 2)) == 0:
            terms[key] = tuple(draw(st.lists(st.sampled_from(values), min_size=1, max_size=2)))
    chosen = tuple(draw(st.lists(st.sampled_from(groups), max_size=1))) if groups else ()
    if not terms and not chosen:
        terms["role"] = (draw(st.sampled_from(ROLES)),)
    return Selector.of(terms, *chosen)


@st.composite
def policies(draw: st.DrawFn, max_port: int = 40) -> SegmentationPolicy:
    groups: list[LabelGroup] = []
    for index in range(draw(st.integers(0, 2))):
        key, values = draw(st.sampled_from((("role", ROLES), ("app", APPS))))
        same_key = [group.name for group in groups if group.key == key]
        groups.append(
            LabelGroup(
                f"g{index}",
                key,
                tuple(draw(st.lists(st.sampled_from(values), min_size=1, max_size=2))),
                tuple(draw(st.lists(st.sampled_from(same_key), max_size=1))) if same_key else (),
            )
        )
    names = tuple(group.name for group in groups)
    zones = []
    for index in range(draw(st.integers(1, 4))):
        selector = draw(st.none() | selectors(names))
        cidrs = tuple(draw(st.lists(st.sampled_from(ZONE_CIDRS), max_size=2)))
        if selector is None and not cidrs:
            cidrs = (ZONE_CIDRS[2],)
        zones.append(Zone(f"z{index}", selector, cidrs))
    zone_names = [zone.name for zone in zones]
    peers = st.sampled_from(zone_names) | selectors(names)
    rule_sets = []
    counter = 0
    for index in range(draw(st.integers(1, 3))):
        rules, exceptions = [], []
        for _ in range(draw(st.integers(0, 4))):
            counter += 1
            sides = (
                tuple(draw(st.lists(peers, min_size=1, max_size=2))),
                tuple(draw(st.lists(peers, min_size=1, max_size=2))),
                tuple(draw(st.lists(port_ranges(max_port), min_size=1, max_size=2))),
            )
            if draw(st.integers(0, 3)) == 0:
                expires = draw(st.sampled_from(TIMES))
                exceptions.append(FlowException(f"R{counter}", *sides, "owner", expires))
            else:
                rules.append(Rule(f"R{counter}", *sides))
        mode = draw(st.sampled_from(list(Mode)))
        scope = tuple(draw(st.lists(st.sampled_from(zone_names), min_size=1, max_size=2)))
        if mode is Mode.ENFORCE and draw(st.booleans()):
            scope = ()
        rule_sets.append(RuleSet(f"rs{index}", mode, scope, tuple(rules), tuple(exceptions)))
    return SegmentationPolicy(tuple(groups), tuple(zones), tuple(rule_sets))


@st.composite
def models(draw: st.DrawFn) -> Segmentation:
    """A random valid model (a draw is rejected when a zone would split an asset)."""
    from hypothesis import assume

    from menshen.inventory import InvalidModel

    inventory = draw(inventories(max_assets=7, max_networks=2, max_port=40, plain=True))
    policy = draw(policies())
    try:
        return Segmentation(inventory, policy)
    except InvalidModel:
        assume(False)
        raise


# -- the naive semantics ----------------------------------------------------------------------
def group_values(policy: SegmentationPolicy, name: str) -> tuple[str, set[str]]:
    group = next(g for g in policy.label_groups if g.name == name)
    values = set(group.values)
    for included in group.include:
        values |= group_values(policy, included)[1]
    return group.key, values


def selects(policy: SegmentationPolicy, selector: Selector, asset: Asset) -> bool:
    for key, values in selector.labels:
        if asset.labels.get(key) not in values:
            return False
    for name in selector.groups:
        group_key, members = group_values(policy, name)
        if asset.labels.get(group_key) not in members:
            return False
    return True


def asset_in_zone(policy: SegmentationPolicy, zone: Zone, asset: Asset) -> bool:
    if zone.selector is not None and selects(policy, zone.selector, asset):
        return True
    return bool(asset.networks) and all(
        all(address_in(addr, zone.cidrs) for addr in (net[0], net[-1])) for net in asset.networks
    )


def address_in(address: IPAddress, cidrs: tuple[Network, ...]) -> bool:
    return any(address.version == c.version and address in c for c in cidrs)


def in_peer(
    policy: SegmentationPolicy, peer: Peer, asset: Asset | None, address: IPAddress | None
) -> bool:
    if isinstance(peer, Selector):
        return asset is not None and selects(policy, peer, asset)
    zone = next(z for z in policy.zones if z.name == peer)
    if address is not None and address_in(address, zone.cidrs):
        return True
    return asset is not None and asset_in_zone(policy, zone, asset)


def endpoint(inventory: Inventory, end: str | IPAddress) -> tuple[Asset | None, IPAddress | None]:
    if isinstance(end, str):
        return inventory.asset(end), None
    owner = next((a for a in inventory.assets if any(end in n for n in a.networks)), None)
    return owner, end


def rule_allows(
    policy: SegmentationPolicy,
    inventory: Inventory,
    rule: Rule | FlowException,
    src: str | IPAddress,
    dst: str | IPAddress,
    port: int,
    protocol: str,
    at: datetime,
) -> bool:
    if isinstance(rule, FlowException) and not at < rule.expires:
        return False
    if not any(p.protocol == protocol and p.first <= port <= p.last for p in rule.ports):
        return False
    s_asset, s_address = endpoint(inventory, src)
    d_asset, d_address = endpoint(inventory, dst)
    return any(in_peer(policy, peer, s_asset, s_address) for peer in rule.sources) and any(
        in_peer(policy, peer, d_asset, d_address) for peer in rule.destinations
    )


def ordered_rules(policy: SegmentationPolicy) -> list[tuple[RuleSet, Rule | FlowException]]:
    found: list[tuple[RuleSet, Rule | FlowException]] = []
    for rule_set in sorted(policy.rule_sets, key=lambda rs: rs.name):
        found.extend((rule_set, rule) for rule in rule_set.rules)
        found.extend((rule_set, item) for item in rule_set.exceptions)
    return found


def oracle_allows(
    seg: Segmentation,
    src: str | IPAddress,
    dst: str | IPAddress,
    port: int,
    protocol: str,
    at: datetime,
) -> str | None:
    """The id of the first rule allowing the flow, straight from the definitions."""
    for _, rule in ordered_rules(seg.policy):
        if rule_allows(seg.policy, seg.inventory, rule, src, dst, port, protocol, at):
            return rule.id
    return None


def witness_ports(seg: Segmentation) -> list[tuple[str, int]]:
    """Ports where any rule's range starts or ends: one of them shows any allowed pair."""
    found = {("tcp", 1), ("udp", 1)}
    for _, rule in ordered_rules(seg.policy):
        for item in rule.ports:
            found |= {(item.protocol, item.first), (item.protocol, item.last)}
    return sorted(found)


def brute_edges(seg: Segmentation, at: datetime) -> dict[str, set[str]]:
    """Every asset pair (u, v), u != v, that some probe lets through (allowed or monitored)."""
    ids = [asset.id for asset in seg.inventory.assets]
    probes = witness_ports(seg)
    edges: dict[str, set[str]] = {u: set() for u in ids}
    for u in ids:
        for v in ids:
            if u != v and any(
                seg.verdict(u, v, port, protocol, at).action is not Action.DROP
                for protocol, port in probes
            ):
                edges[u].add(v)
    return edges


def brute_distances(edges: dict[str, set[str]], start: str) -> dict[str, int]:
    distance = {start: 0}
    queue = deque([start])
    while queue:
        node = queue.popleft()
        for other in edges[node]:
            if other not in distance:
                distance[other] = distance[node] + 1
                queue.append(other)
    return distance


def probe_ports(seg: Segmentation) -> list[PortRange]:
    return [
        PortRange("udp" if protocol == "udp" else "tcp", port, port)
        for protocol, port in witness_ports(seg)
    ]
