"""``allows`` and ``verdict``: the one decision, checked on examples and against the oracle."""

from __future__ import annotations

import ipaddress
from datetime import timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from menshen.errors import NotFound
from menshen.inventory import Asset, AssetKind, Inventory, Labels, PortRange
from menshen.segmentation import (
    Action,
    FlowException,
    Mode,
    Rule,
    RuleSet,
    Segmentation,
    SegmentationPolicy,
    Selector,
    Zone,
)
from tests.segmentation.oracle import OUTSIDE, T0, TIMES, models, oracle_allows, witness_ports

ip = ipaddress.ip_address
net = ipaddress.ip_network
TCP_5432 = (PortRange.parse("tcp/5432"),)


def host(asset_id: str, address: str, **labels: str) -> Asset:
    return Asset(asset_id, AssetKind.HOST, labels=Labels(labels), networks=(net(address),))


INVENTORY = Inventory(
    (
        host("laptop", "10.50.0.17/32", role="workstation"),
        host("app", "10.30.0.10/32", role="web", app="settlement"),
        host("db", "10.40.0.10/32", role="db", app="settlement"),
        host("cache", "10.40.0.20/32", role="cache"),
    )
)


def seg_of(*rule_sets: RuleSet) -> Segmentation:
    zones = (
        Zone("apps", Selector.of({"role": "web"})),
        Zone("dbs", Selector.of({"role": "db"})),
        Zone("banks", cidrs=(net("198.51.100.0/24"),)),
        Zone("data", Selector.of({"role": ("db", "cache")})),
    )
    return Segmentation(INVENTORY, SegmentationPolicy(zones=zones, rule_sets=rule_sets))


def test_default_deny() -> None:
    """With no rule, nothing is allowed: not even an asset to itself."""
    seg = seg_of(RuleSet("empty"))
    assert seg.allows("app", "db", 5432, "tcp", T0) is None
    assert seg.verdict("app", "db", 5432, "tcp", T0).action is Action.DROP
    assert seg.allows("app", "app", 5432, "tcp", T0) is None


def test_a_rule_allows_its_ports_between_its_zones_and_names_itself() -> None:
    """Asset ids and their addresses get the same answer; other ports and ways do not."""
    seg = seg_of(RuleSet("core", rules=(Rule("R1", ("apps",), ("dbs",), TCP_5432),)))
    match = seg.allows("app", "db", 5432, "tcp", T0)
    assert match is not None
    assert (match.rule_id, match.rule_set, match.mode) == ("R1", "core", Mode.ENFORCE)
    assert seg.allows(ip("10.30.0.10"), ip("10.40.0.10"), 5432, "tcp", T0) == match
    assert seg.allows("app", "db", 5433, "tcp", T0) is None
    assert seg.allows("app", "db", 5432, "udp", T0) is None
    assert seg.allows("db", "app", 5432, "tcp", T0) is None
    assert seg.allows("laptop", "db", 5432, "tcp", T0) is None


def test_cidr_zones_match_addresses_outside_the_inventory() -> None:
    """A partner's address is in its CIDR zone; an unknown address is in none."""
    rule = Rule("B1", ("banks",), ("apps",), (PortRange.parse("tcp/8443"),))
    seg = seg_of(RuleSet("core", rules=(rule,)))
    assert seg.allows(ip("198.51.100.9"), "app", 8443, "tcp", T0) is not None
    assert seg.allows(ip("203.0.113.9"), "app", 8443, "tcp", T0) is None
    assert seg.zones_of(ip("198.51.100.9")) == frozenset({"banks"})
    assert seg.zones_of("db") == frozenset({"dbs", "data"})


def test_label_set_peers_select_assets_directly() -> None:
    """A rule may name labels instead of a zone."""
    rule = Rule("L1", (Selector.of({"app": "settlement", "role": "web"}),), ("data",), TCP_5432)
    seg = seg_of(RuleSet("core", rules=(rule,)))
    assert seg.allows("app", "cache", 5432, "tcp", T0) is not None
    assert seg.allows("laptop", "cache", 5432, "tcp", T0) is None


def test_exceptions_expire_at_their_time() -> None:
    """An exception allows until its expiry, and not from then on."""
    exception = FlowException("X1", ("apps",), ("dbs",), TCP_5432, "cto", T0)
    seg = seg_of(RuleSet("core", exceptions=(exception,)))
    match = seg.allows("app", "db", 5432, "tcp", T0 - timedelta(seconds=1))
    assert match is not None
    assert match.exception
    assert match.expires == T0
    assert seg.allows("app", "db", 5432, "tcp", T0) is None


def test_the_first_rule_in_rule_set_order_is_named() -> None:
    """Rule sets by name, rules as written, then exceptions."""
    later = RuleSet("b", rules=(Rule("B", ("apps",), ("dbs",), TCP_5432),))
    earlier = RuleSet(
        "a",
        rules=(Rule("A2", ("apps",), ("dbs",), TCP_5432),),
        exceptions=(
            FlowException("A1", ("apps",), ("dbs",), TCP_5432, "cto", T0 + timedelta(days=1)),
        ),
    )
    match = seg_of(later, earlier).allows("app", "db", 5432, "tcp", T0)
    assert match is not None
    assert match.rule_id == "A2"


def test_monitor_mode_logs_instead_of_dropping_in_its_scope_only() -> None:
    """Unmatched traffic into a monitored zone passes as MONITOR; elsewhere it drops."""
    seg = seg_of(RuleSet("rollout", Mode.MONITOR, ("dbs",)))
    verdict = seg.verdict("laptop", "db", 5432, "tcp", T0)
    assert verdict.action is Action.MONITOR
    assert verdict.monitored_by == "rollout"
    assert seg.verdict("laptop", "app", 80, "tcp", T0).action is Action.DROP
    assert seg.monitored_assets() == {"db": "rollout"}


def test_enforce_wins_where_scopes_meet() -> None:
    """A zone watched by a monitor set and an enforce set drops: fail closed."""
    seg = seg_of(RuleSet("rollout", Mode.MONITOR, ("data",)), RuleSet("strict", scope=("dbs",)))
    assert seg.verdict("laptop", "db", 5432, "tcp", T0).action is Action.DROP
    assert seg.verdict("laptop", "cache", 5432, "tcp", T0).action is Action.MONITOR


def test_bad_questions_are_errors() -> None:
    """An unknown asset, port or protocol is a caller's mistake, not a deny."""
    seg = seg_of(RuleSet("empty"))
    with pytest.raises(NotFound):
        seg.allows("ghost", "db", 1, "tcp", T0)
    with pytest.raises(ValueError, match="out of range"):
        seg.allows("app", "db", 0, "tcp", T0)
    with pytest.raises(ValueError, match="unknown protocol"):
        seg.allows("app", "db", 1, "icmp", T0)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(models(), st.data())
def test_allows_agrees_with_the_naive_semantics(seg: Segmentation, data: st.DataObject) -> None:
    """On random models and probes (ids, addresses, outsiders), allows == the oracle."""
    ends: list[str | ipaddress.IPv4Address | ipaddress.IPv6Address] = [*OUTSIDE]
    for asset in seg.inventory.assets:
        ends.append(asset.id)
        ends.extend(network[-1] for network in asset.networks)
    probes = witness_ports(seg)
    for _ in range(30):
        src = data.draw(st.sampled_from(ends))
        dst = data.draw(st.sampled_from(ends))
        protocol, port = data.draw(st.sampled_from(probes))
        at = data.draw(st.sampled_from(TIMES))
        match = seg.allows(src, dst, port, protocol, at)
        assert (None if match is None else match.rule_id) == oracle_allows(
            seg, src, dst, port, protocol, at
        )


def test_resolved_rules_carry_what_the_compilers_need() -> None:
    """Each resolved rule names its id, set, mode, ports, peers, zones, CIDRs and assets."""
    rule = Rule("B1", ("banks", "apps"), (Selector.of({"role": "db"}),), TCP_5432)
    seg = seg_of(RuleSet("core", Mode.MONITOR, ("dbs",), rules=(rule,)))
    (resolved,) = seg.rules
    assert (resolved.rule_id, resolved.rule_set, resolved.mode) == ("B1", "core", Mode.MONITOR)
    assert resolved.src_zones == ("apps", "banks")
    assert resolved.src_cidrs == (net("198.51.100.0/24"),)
    assert resolved.src_assets == ("app",)
    assert resolved.dst_peers == (Selector.of({"role": "db"}),)
    assert resolved.dst_assets == ("db",)
    assert not resolved.exception
