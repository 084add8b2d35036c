"""Observed flows on the inventory: unclassified assets, matched, undeclared, unseen."""

from __future__ import annotations

import ipaddress

from hypothesis import given
from hypothesis import strategies as st

from menshen.inventory import AssetKind, Inventory, merge_items
from menshen.inventory.discovery.match import REVIEW_LABEL, discover, unclassified_id
from menshen.inventory.discovery.records import Observation
from menshen.inventory.model import Endpoint
from menshen.segmentation.files import load_example
from menshen.segmentation.resolve import Segmentation
from tests.inventory.strategies import inventories

SEG = load_example()
ZONES = [(zone.name, net) for zone in SEG.policy.zones for net in zone.cidrs]
ip = ipaddress.ip_address


def seen(src: Endpoint, dst: Endpoint, port: int, count: int = 1) -> Observation:
    return Observation(src, dst, port, "tcp", count)


OBSERVED = (
    seen(ip("10.10.0.12"), ip("10.20.0.10"), 443, 1820),
    seen(ip("10.30.0.10"), ip("10.40.0.10"), 5432, 4410),
    seen(ip("10.10.0.12"), ip("10.20.0.10"), 80, 3),
    seen(ip("10.50.0.17"), ip("10.40.0.10"), 5432, 12),
    seen(ip("10.50.0.99"), ip("10.20.0.11"), 443, 7),
    seen(ip("fd00::17"), ip("10.20.0.11"), 443, 1),
    seen(ip("203.0.113.9"), ip("10.20.0.20"), 8443, 40),
    seen(ip("198.51.100.200"), ip("10.20.0.20"), 8443, 2),
    seen(ip("127.0.0.1"), ip("10.20.0.20"), 8443, 2),
    seen("settlement-engine", "bank-a", 443, 5),
)


def test_unknown_internal_addresses_become_unclassified_assets() -> None:
    """10.50.0.99 and fd00::17 are proposed; outside and zoned addresses are not."""
    found = discover(OBSERVED, SEG.inventory, fmt="conntrack", known_networks=ZONES)
    proposed = {item.asset.id: item for item in found.new_assets}
    assert set(proposed) == {
        "unclassified-10-50-0-99",
        "unclassified-fd00-0000-0000-0000-0000-0000-0000-0017",
    }
    asset = proposed["unclassified-10-50-0-99"].asset
    assert asset.kind is AssetKind.HOST
    assert dict(asset.labels) == {REVIEW_LABEL[0]: REVIEW_LABEL[1], "discovered": "conntrack"}
    assert proposed["unclassified-10-50-0-99"].connections == 7
    outside = {str(item.address): item.zone for item in found.outside}
    assert outside == {"203.0.113.9": None, "198.51.100.200": "partner-banks"}
    assert found.ignored == 1


def test_public_addresses_are_proposed_only_when_asked() -> None:
    """``include_public`` proposes addresses outside the firm too (not zoned ones)."""
    found = discover(OBSERVED, SEG.inventory, fmt="csv", known_networks=ZONES, include_public=True)
    assert "unclassified-203-0-113-9" in {item.asset.id for item in found.new_assets}


def test_observed_flows_are_matched_to_declared_ones_by_port() -> None:
    """Matched on a declared port; other ports, undeclared pairs and unknown ends are not."""
    found = discover(OBSERVED, SEG.inventory, fmt="csv", known_networks=ZONES)
    matched = {(m.source, m.destination, m.observation.port): m.declared for m in found.matched}
    assert matched == {
        ("laptop-fin-02", "gateway", 443): ("staff-to-gateway",),
        ("settlement-admin", "settlement-db", 5432): ("admin-to-ledger",),
        ("settlement-engine", "bank-a", 443): ("engine-to-bank-a",),
    }
    notes = {(u.source, u.destination, u.observation.port): u.note for u in found.undeclared}
    assert notes[("laptop-fin-02", "gateway", 80)] == (
        "declared flow(s) staff-to-gateway cover tcp/443 only"
    )
    assert notes[("laptop-17", "settlement-db", 5432)] == (
        "no declared flow from laptop-17 to settlement-db"
    )
    assert (
        "proposed as unclassified-10-50-0-99"
        in notes[("unclassified-10-50-0-99", "contractor-gateway", 443)]
    )
    outside = {u.note for u in found.undeclared if u.source is None}
    assert outside == {
        "203.0.113.9 is outside the firm",
        "198.51.100.200 is in zone partner-banks, outside the inventory",
        "127.0.0.1 is a local or multicast address",
    }
    assert len(found.matched) + len(found.undeclared) == len(OBSERVED)
    unseen = {flow.id for flow in found.unseen}
    assert "staff-to-gateway" not in unseen
    assert "bo-reads-ledger" in unseen


def test_proposed_assets_merge_into_a_valid_model() -> None:
    """The proposal can be stored: it overlaps no asset and no zone covers part of it."""
    found = discover(OBSERVED, SEG.inventory, fmt="csv", known_networks=ZONES)
    merged = merge_items(SEG.inventory, found.items())
    model = Segmentation(merged, SEG.policy)
    assert model.inventory.asset_at(ip("10.50.0.99")) is not None
    again = discover(OBSERVED, merged, fmt="csv", known_networks=ZONES)
    assert again.new_assets == ()
    flagged = [u for u in again.undeclared if u.source == "unclassified-10-50-0-99"]
    assert flagged[0].note == "unclassified-10-50-0-99 is not classified yet"


def test_unclassified_ids_never_reuse_a_taken_id() -> None:
    """A clash with an existing id gets a numbered suffix."""
    taken = {"unclassified-10-0-0-1", "unclassified-10-0-0-1-2"}
    assert unclassified_id(ip("10.0.0.1"), taken) == "unclassified-10-0-0-1-3"


@given(
    inventories(),
    st.lists(
        st.tuples(
            st.ip_addresses(network="10.0.0.0/20") | st.ip_addresses(v=6, network="2001:db8::/46"),
            st.ip_addresses(network="10.0.0.0/20"),
            st.integers(1, 40),
        ),
        max_size=15,
    ),
)
def test_every_observation_is_matched_or_undeclared_and_the_proposal_is_valid(
    inventory: Inventory, pairs: list[tuple[ipaddress.IPv4Address, ipaddress.IPv4Address, int]]
) -> None:
    """Property: a partition of the input; proposed assets own unowned addresses; merge works."""
    observations = [seen(src, dst, port) for src, dst, port in pairs]
    found = discover(observations, inventory, fmt="csv", include_public=True)
    assert len(found.matched) + len(found.undeclared) == len(observations)
    for item in found.new_assets:
        (network,) = item.asset.networks
        assert inventory.asset_at(network.network_address) is None
    merged = merge_items(inventory, found.items())
    for item in found.new_assets:
        owner = merged.asset_at(item.asset.networks[0].network_address)
        assert owner is not None
        assert owner.id == item.asset.id
