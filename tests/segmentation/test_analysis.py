"""reach, blast radius and check: examples, and agreement with brute-force graph search."""

from __future__ import annotations

import ipaddress
from datetime import datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from menshen.errors import NotFound
from menshen.inventory import (
    Asset,
    AssetKind,
    Classification,
    DataFlow,
    DataStore,
    InvalidModel,
    Inventory,
    Labels,
    ObservedFlow,
    PortRange,
)
from menshen.segmentation import (
    Action,
    FlowException,
    GrantKind,
    Mode,
    Rule,
    RuleSet,
    Segmentation,
    SegmentationPolicy,
    Selector,
    Zone,
    blast_radius,
    check,
    reach,
)
from tests.segmentation.oracle import (
    T0,
    TIMES,
    brute_distances,
    brute_edges,
    models,
    ordered_rules,
    rule_allows,
    witness_ports,
)

net = ipaddress.ip_network
ip = ipaddress.ip_address


def host(asset_id: str, address: str, role: str) -> Asset:
    return Asset(asset_id, AssetKind.HOST, labels=Labels({"role": role}), networks=(net(address),))


def port(text: str) -> tuple[PortRange, ...]:
    return (PortRange.parse(text),)


CHAIN = Segmentation(
    Inventory(
        (
            host("laptop", "10.0.0.1/32", "ws"),
            host("jump", "10.0.0.2/32", "jump"),
            host("app", "10.0.0.3/32", "app"),
            host("db", "10.0.0.4/32", "db"),
            host("island", "10.0.0.5/32", "island"),
        ),
        (
            DataStore("ledger", "db", Classification.RESTRICTED, tags=("settlement",), records=9),
            DataStore("notes", "app", Classification.INTERNAL),
            DataStore("secrets", "island", Classification.RESTRICTED),
        ),
        (
            DataFlow("app-db", "app", "db", port("tcp/5432"), Classification.RESTRICTED),
            DataFlow("island-db", "island", "db", port("tcp/5432"), Classification.CONFIDENTIAL),
        ),
    ),
    SegmentationPolicy(
        zones=(
            Zone("ws", Selector.of({"role": "ws"})),
            Zone("jump", Selector.of({"role": "jump"})),
            Zone("app", Selector.of({"role": "app"})),
            Zone("db", Selector.of({"role": "db"})),
            Zone("internet", cidrs=(net("0.0.0.0/0"),)),
        ),
        rule_sets=(
            RuleSet(
                "main",
                rules=(
                    Rule("R1", ("ws",), ("jump",), port("tcp/22")),
                    Rule("R2", ("jump",), ("app",), port("tcp/8080")),
                    Rule("R3", ("app",), ("db",), port("tcp/5432")),
                    Rule("R4", ("ws",), ("internet",), port("tcp/443")),
                ),
                exceptions=(FlowException("X1", ("ws",), ("app",), port("tcp/9000"), "cto", T0),),
            ),
        ),
    ),
)


def test_reach_lists_destinations_with_their_rules() -> None:
    """Direct reach with every grant; 0.0.0.0/0 covers the assets too; CIDR zones are listed."""
    before = reach(CHAIN, "laptop", T0 - timedelta(hours=1))
    assert [(a.asset, [str(g) for g in a.grants]) for a in before.assets] == [
        ("app", ["R4", "X1"]),
        ("db", ["R4"]),
        ("island", ["R4"]),
        ("jump", ["R1", "R4"]),
    ]
    assert [network.zone for network in before.networks] == ["internet"]
    after = reach(CHAIN, "laptop", T0)
    assert [str(g) for g in after.assets[0].grants] == ["R4"]


def test_blast_radius_follows_multi_hop_paths_and_ranks_by_sensitivity() -> None:
    """laptop → jump → app → db: the ledger is three hops away, with the rule of each hop."""
    seg = Segmentation(
        CHAIN.inventory,
        SegmentationPolicy(
            zones=CHAIN.policy.zones,
            rule_sets=(RuleSet("main", rules=CHAIN.policy.rule_sets[0].rules[:3]),),
        ),
    )
    result = blast_radius(seg, "laptop", T0)
    assert result.store_ids() == ("ledger", "notes")
    ledger = result.stores[0]
    assert ledger.hops == 3
    assert [(h.source, h.destination, str(h.grant)) for h in ledger.path] == [
        ("laptop", "jump", "R1"),
        ("jump", "app", "R2"),
        ("app", "db", "R3"),
    ]
    assert [c.name for c in result.classes][:2] == ["restricted", "settlement"]
    assert {f.flow.id for f in result.flows} == {"app-db", "island-db"}
    assert "island" not in result.asset_ids()


def test_blast_radius_of_an_isolated_asset_is_itself() -> None:
    """An asset no rule lets out exposes only its own data."""
    result = blast_radius(CHAIN, "island", T0)
    assert result.asset_ids() == frozenset({"island"})
    assert result.store_ids() == ("secrets",)
    assert result.stores[0].path == ()


def test_monitor_mode_widens_the_blast_radius() -> None:
    """A zone in monitor mode is reachable from anywhere, and the path says why."""
    policy = SegmentationPolicy(
        zones=CHAIN.policy.zones, rule_sets=(RuleSet("rollout", Mode.MONITOR, ("db",)),)
    )
    result = blast_radius(Segmentation(CHAIN.inventory, policy), "island", T0)
    ledger = next(item for item in result.stores if item.store.id == "ledger")
    assert ledger.path[0].grant.kind is GrantKind.MONITOR
    assert str(ledger.path[0].grant) == "monitor:rollout"


def test_unknown_assets_are_not_found() -> None:
    """Asking about an asset the inventory lacks is an error, not an empty answer."""
    with pytest.raises(NotFound):
        reach(CHAIN, "ghost", T0)
    with pytest.raises(NotFound):
        blast_radius(CHAIN, "ghost", T0)


def test_check_reports_drift_gaps_and_expired_exceptions() -> None:
    """Observed flows the policy drops; declared flows it cuts; exceptions past their date."""
    observed = (
        ObservedFlow(ip("10.0.0.3"), ip("10.0.0.4"), 5432),
        ObservedFlow("laptop", "db", 5432, count=7),
        ObservedFlow(ip("203.0.113.9"), "app", 8080),
    )
    report = check(CHAIN, T0, observed)
    assert report.observed == 3
    assert [(d.source_asset, d.destination_asset) for d in report.drift] == [
        ("laptop", "db"),
        (None, "app"),
    ]
    assert all(d.verdict.action is Action.DROP for d in report.drift)
    assert [(g.flow.id, [str(p) for p in g.missing]) for g in report.gaps] == [
        ("island-db", ["tcp/5432"])
    ]
    assert [item.rule_id for item in report.expired] == ["X1"]
    assert not report.clean


def test_gaps_name_only_the_ports_no_rule_covers() -> None:
    """A declared range half-allowed reports the other half."""
    flows = (DataFlow("wide", "app", "db", port("tcp/5000-6000"), Classification.PUBLIC),)
    seg = Segmentation(Inventory(CHAIN.inventory.assets, (), flows), CHAIN.policy)
    gap = check(seg, T0).gaps[0]
    assert [str(p) for p in gap.missing] == ["tcp/5000-5431", "tcp/5433-6000"]


def test_observed_flows_naming_unknown_assets_are_rejected() -> None:
    """An observed flow from an asset id the inventory lacks cannot be judged."""
    with pytest.raises(InvalidModel, match="unknown asset 'ghost'"):
        check(CHAIN, T0, (ObservedFlow("ghost", "db", 5432),))


# -- agreement with brute force ---------------------------------------------------------------
SETTINGS = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(models(), st.sampled_from(TIMES), st.data())
def test_reach_agrees_with_probing_every_rule(
    seg: Segmentation, when: datetime, data: st.DataObject
) -> None:
    """reach(a) == {b : some active rule allows a→b on some port} ∪ monitored, by rule id."""
    source = data.draw(st.sampled_from([asset.id for asset in seg.inventory.assets]))
    probes = witness_ports(seg)
    expected: dict[str, set[str]] = {}
    for target in seg.inventory.assets:
        if target.id == source:
            continue
        for _, rule in ordered_rules(seg.policy):
            if any(
                rule_allows(seg.policy, seg.inventory, rule, source, target.id, p, proto, when)
                for proto, p in probes
            ):
                expected.setdefault(target.id, set()).add(rule.id)
        watcher = seg.monitored_by(seg.zones_of(target.id))
        if watcher is not None:
            expected.setdefault(target.id, set()).add(f"monitor:{watcher}")
    found = {
        item.asset: {str(grant) for grant in item.grants}
        for item in reach(seg, source, when).assets
    }
    assert found == expected


@SETTINGS
@given(models(), st.sampled_from(TIMES), st.data())
def test_blast_radius_agrees_with_breadth_first_search_over_probes(
    seg: Segmentation, when: datetime, data: st.DataObject
) -> None:
    """Same assets at the same distances; every hop of every path really lets traffic through."""
    source = data.draw(st.sampled_from([asset.id for asset in seg.inventory.assets]))
    distances = brute_distances(brute_edges(seg, when), source)
    result = blast_radius(seg, source, when)
    assert {item.asset: item.hops for item in result.assets} == distances
    for item in result.assets:
        assert len(item.path) == item.hops
        previous = source
        for hop in item.path:
            assert hop.source == previous
            assert any(
                seg.verdict(hop.source, hop.destination, p.first, p.protocol, when).action
                is not Action.DROP
                for p in hop.grant.ports
            )
            previous = hop.destination
        if item.path:
            assert previous == item.asset
    stores = {s.id for a in distances for s in seg.inventory.stores_on(a)}
    assert set(result.store_ids()) == stores
    ranks = [(-s.store.classification.rank, s.hops) for s in result.stores]
    assert ranks == sorted(ranks)
