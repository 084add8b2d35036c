"""The inventory model: canonical values, lookups, and whole-inventory checks."""

from __future__ import annotations

import ipaddress

import pytest

from menshen.inventory import (
    Asset,
    AssetKind,
    Classification,
    DataFlow,
    DataStore,
    InvalidModel,
    Inventory,
    InventoryItems,
    Labels,
    Origin,
    PortRange,
    merge_items,
)

net = ipaddress.ip_network
ip = ipaddress.ip_address


def asset(asset_id: str, *networks: str, **labels: str) -> Asset:
    return Asset(
        asset_id,
        AssetKind.HOST,
        labels=Labels(labels),
        networks=tuple(net(n) for n in networks),
        origin=Origin("firm.yaml", 10, 7, (("addresses", 12, 7), ("id", 10, 9))),
    )


def test_port_ranges_parse_print_and_refuse_out_of_range() -> None:
    """tcp/443 and udp/8000-8100 round-trip; port 0, 65536 and backwards ranges are refused."""
    assert PortRange.parse("tcp/443") == PortRange("tcp", 443, 443)
    assert str(PortRange.parse("udp/8000-8100")) == "udp/8000-8100"
    assert PortRange.parse("tcp/1-65535").covers("tcp", 65535)
    assert not PortRange.parse("tcp/443").covers("udp", 443)
    for bad in ("tcp/0", "tcp/65536", "tcp/90-80", "icmp/1", "443", "tcp/", "tcp/1-2-3"):
        with pytest.raises(ValueError, match=r"port|protocol|backwards"):
            PortRange.parse(bad)


def test_classifications_are_ordered_and_unknown_ones_refused() -> None:
    """public < internal < confidential < restricted; 'secret' is not a classification."""
    ranks = [level.rank for level in Classification]
    assert ranks == sorted(ranks)
    assert Classification.parse("restricted").rank == 3
    with pytest.raises(ValueError, match="unknown classification 'secret'"):
        Classification.parse("secret")


def test_asset_values_are_canonical() -> None:
    """Networks, names, ports and apps are sorted and de-duplicated; env is the environment."""
    one = Asset(
        "db",
        AssetKind.DATABASE,
        labels=Labels({"env": "prod", "role": "db"}),
        networks=(net("10.0.0.9/32"), net("10.0.0.5/32"), net("10.0.0.9/32")),
        ports=(PortRange.parse("tcp/9100"), PortRange.parse("tcp/5432")),
        gateway_apps=("wiki", "pay", "wiki"),
    )
    other = Asset(
        "db",
        AssetKind.DATABASE,
        labels=Labels({"role": "db", "env": "prod"}),
        networks=(net("10.0.0.5/32"), net("10.0.0.9/32")),
        ports=(PortRange.parse("tcp/5432"), PortRange.parse("tcp/9100")),
        gateway_apps=("pay", "wiki"),
    )
    assert one == other
    assert hash(one) == hash(other)
    assert one.environment == "prod"
    assert one.addresses == ("10.0.0.5", "10.0.0.9")


def test_bad_values_are_refused_with_a_reason() -> None:
    """Ids, label values and free text are checked when the value is made."""
    with pytest.raises(ValueError, match="invalid asset id"):
        Asset("Bad Id", AssetKind.HOST)
    with pytest.raises(ValueError, match="invalid label value"):
        Labels({"role": "not ok"})
    with pytest.raises(ValueError, match="must not start with"):
        Asset("x", AssetKind.HOST, name="=HYPERLINK(1)")
    with pytest.raises(ValueError, match="unknown asset kind"):
        Asset("x", "router")  # type: ignore[arg-type]


def test_lookups_by_id_address_and_label() -> None:
    """An address names the one asset owning it; labels index assets."""
    inventory = Inventory(
        (asset("web", "10.0.1.0/24", role="web"), asset("db", "10.0.0.5/32", role="db")),
        (DataStore("ledger", "db", Classification.RESTRICTED, tags=("settlement",)),),
        (DataFlow("f1", "web", "db", (PortRange.parse("tcp/5432"),), Classification.RESTRICTED),),
    )
    assert inventory.asset("db") is not None
    assert inventory.asset("nope") is None
    found = inventory.asset_at(ip("10.0.1.200"))
    assert found is not None
    assert found.id == "web"
    assert inventory.asset_at(ip("10.0.0.6")) is None
    assert inventory.asset_at(ip("2001:db8::1")) is None
    assert [a.id for a in inventory.with_label("role", "db")] == ["db"]
    assert [s.id for s in inventory.stores_on("db")] == ["ledger"]
    assert [f.id for f in inventory.flows_of("web")] == ["f1"]


def test_overlapping_cidrs_between_assets_are_refused_at_the_addresses_key() -> None:
    """A host inside another asset's subnet is an error naming both and the line."""
    with pytest.raises(InvalidModel) as caught:
        Inventory((asset("lan", "10.0.0.0/24"), asset("db", "10.0.0.5/32")))
    error = caught.value
    assert "10.0.0.5 overlaps 10.0.0.0/24 of asset 'lan'" in str(error)
    assert (error.source, error.line, error.column) == ("firm.yaml", 12, 7)


def test_every_problem_is_listed_at_once() -> None:
    """Duplicate ids and unknown references are all reported, not just the first."""
    with pytest.raises(InvalidModel) as caught:
        Inventory(
            (asset("a"), asset("a")),
            (DataStore("s", "ghost", Classification.PUBLIC),),
            (DataFlow("f", "a", "nowhere", (PortRange.parse("tcp/1"),), Classification.PUBLIC),),
        )
    messages = [p.message for p in caught.value.problems]
    assert any("duplicate asset id 'a'" in m for m in messages)
    assert any("unknown asset 'ghost'" in m for m in messages)
    assert any("unknown asset 'nowhere'" in m for m in messages)


def test_equal_content_in_any_order_is_an_equal_inventory() -> None:
    """Items are kept sorted by id, origins are not compared."""
    one = Inventory((asset("b"), asset("a")))
    two = Inventory((Asset("a", AssetKind.HOST), Asset("b", AssetKind.HOST)))
    assert one == two


def test_merge_replaces_by_id_but_refuses_two_files_defining_one_id() -> None:
    """Items replace stored ones of the same id; twice in the new items is an error."""
    base = Inventory((asset("a", "10.0.0.1/32"), asset("b")))
    merged = merge_items(base, InventoryItems(assets=(asset("a", "10.0.0.2/32"),)))
    found = merged.asset("a")
    assert found is not None
    assert found.networks == (net("10.0.0.2/32"),)
    with pytest.raises(InvalidModel, match="duplicate asset id 'c'"):
        merge_items(base, InventoryItems(assets=(asset("c"), asset("c"))))
