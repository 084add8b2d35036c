"""Exposure to the internet, partners, contractors and workstations (multi-source search)."""

from __future__ import annotations

import ipaddress
from datetime import UTC, datetime

from hypothesis import given
from hypothesis import strategies as st

from menshen.inventory import Asset, AssetKind, Inventory, Labels, PortRange
from menshen.segmentation import Rule, RuleSet, Segmentation, SegmentationPolicy, Selector, Zone
from menshen.segmentation.blast import spread
from menshen.segmentation.exposure import Source, exposures, is_contractor, is_internet
from menshen.segmentation.files import load_example
from tests.segmentation.oracle import TIMES, brute_distances, brute_edges, models

AT = datetime(2026, 1, 5, 1, tzinfo=UTC)
net = ipaddress.ip_network


def test_contractors_reach_the_wiki_and_the_monitored_db_but_not_the_ledger() -> None:
    """Formosa Pay: the contractor exposure matches laptop-17's blast radius."""
    found = exposures(load_example(), AT)
    contractor = {a for a, by in found.items() if Source.CONTRACTOR in by}
    assert {"contractor-gateway", "wiki", "merchant-db"} <= contractor
    assert "settlement-db" not in contractor
    wiki = found["wiki"][Source.CONTRACTOR]
    assert wiki.hops == 2
    assert wiki.rules == ("ACC-002", "ACC-005")
    assert wiki.route() in {
        "laptop-17 → contractor-gateway → wiki",
        "laptop-18 → contractor-gateway → wiki",
    }


def test_partners_enter_through_rules_from_their_networks() -> None:
    """The partner-banks CIDR zone reaches the partner API directly, the ledger in 3 hops."""
    found = exposures(load_example(), AT)
    api = found["partner-api"][Source.PARTNER]
    assert (api.hops, api.rules) == (1, ("SET-003",))
    assert found["settlement-db"][Source.PARTNER].hops == 3
    assert not any(Source.INTERNET in by for by in found.values())


def test_a_rule_from_the_whole_internet_exposes_its_targets() -> None:
    """0.0.0.0/0 is the internet; a /24 outside the firm is a party, 10/8 is inside."""
    assert is_internet(net("0.0.0.0/0"))
    assert not is_internet(net("198.51.100.0/24"))
    assert not is_internet(net("10.0.0.0/8"))
    web = Asset(
        "web", AssetKind.HOST, labels=Labels({"role": "web"}), networks=(net("10.0.0.5/32"),)
    )
    db = Asset(
        "db", AssetKind.DATABASE, labels=Labels({"role": "db"}), networks=(net("10.0.0.6/32"),)
    )
    webs, dbs = Selector.of({"role": "web"}), Selector.of({"role": "db"})
    rules = (
        Rule("WEB", ("anyone",), (webs,), (PortRange.parse("tcp/443"),)),
        Rule("DB", (webs,), (dbs,), (PortRange.parse("tcp/5432"),)),
    )
    policy = SegmentationPolicy(
        zones=(Zone("anyone", cidrs=(net("0.0.0.0/0"),)),),
        rule_sets=(RuleSet("edge", rules=rules),),
    )
    found = exposures(Segmentation(Inventory((web, db)), policy), AT)
    assert found["web"][Source.INTERNET].hops == 1
    assert found["web"][Source.INTERNET].origin == "anyone"
    assert found["db"][Source.INTERNET].hops == 2


def test_contractor_labels_can_be_named() -> None:
    """With labels given, only workstations carrying one of them are contractors'."""
    laptop = Asset("l", AssetKind.WORKSTATION, labels=Labels({"team": "vendor-x"}))
    server = Asset("s", AssetKind.HOST, labels=Labels({"group": "contractor"}))
    assert not is_contractor(laptop)
    assert is_contractor(laptop, (("team", "vendor-x"),))
    assert not is_contractor(server)


@given(models(), st.sampled_from(TIMES), st.data())
def test_spread_agrees_with_the_nearest_of_brute_force_searches(
    seg: Segmentation, when: datetime, data: st.DataObject
) -> None:
    """Property: from several seeds at once, each asset's hops are the least over the seeds."""
    ids = [asset.id for asset in seg.inventory.assets]
    seeds = data.draw(st.lists(st.sampled_from(ids), min_size=1, max_size=4, unique=True))
    edges = brute_edges(seg, when)
    expected: dict[str, int] = {}
    for seed in seeds:
        for asset_id, hops in brute_distances(edges, seed).items():
            expected[asset_id] = min(hops, expected.get(asset_id, hops))
    paths = spread(seg, when, {seed: () for seed in seeds})
    assert {asset_id: len(path) for asset_id, path in paths.items()} == expected
    for asset_id, path in paths.items():
        if path:
            assert path[0].source in seeds
            assert path[-1].destination == asset_id
