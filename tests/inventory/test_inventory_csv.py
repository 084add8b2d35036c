"""Inventory CSV: every bad row rejected with its line, nothing half-imported, exact round trips."""

from __future__ import annotations

import contextlib
import ipaddress

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from menshen.errors import ConfigError
from menshen.inventory import InvalidModel, Inventory, InventoryItems
from menshen.inventory.csvio import (
    assets_csv,
    csv_kind,
    data_stores_csv,
    flows_csv,
    parse_csv,
    parse_observed_csv,
)
from tests.inventory.strategies import inventories

ASSETS = """\
id,kind,name,owner,environment,role,app,location,labels,addresses,ports,gateway_apps
db,database,"Settlement DB, primary",dba@firm.example,prod,db,settlement,tpe,tier=gold,10.0.0.5;db.internal,tcp/5432;tcp/9100,
# a comment row
admin,host,Admin 台北,,prod,web,settlement,,,10.0.1.0/24,tcp/8080,settlement
"""  # noqa: E501


def rejected(text: str, source: str = "assets.csv") -> InvalidModel:
    with pytest.raises(InvalidModel) as caught:
        parse_csv(text, source)
    return caught.value


def test_assets_csv_gives_typed_values() -> None:
    """Fixed label columns, extra labels, ;-lists, quoted commas and unicode all read."""
    items = parse_csv(ASSETS, "assets.csv")
    db, admin = items.assets
    assert db.name == "Settlement DB, primary"
    assert dict(db.labels) == {
        "app": "settlement", "env": "prod", "location": "tpe", "role": "db", "tier": "gold",
    }  # fmt: skip
    assert db.addresses == ("10.0.0.5", "db.internal")
    assert [str(port) for port in db.ports] == ["tcp/5432", "tcp/9100"]
    assert admin.name == "Admin 台北"
    assert admin.gateway_apps == ("settlement",)
    assert db.origin is not None
    assert db.origin.line == 2
    assert admin.origin is not None
    assert admin.origin.line == 4


def test_csv_kind_is_told_from_the_header() -> None:
    """Assets, data stores, flows and observed flows each have their own header."""
    assert csv_kind(ASSETS) == "assets"
    assert csv_kind("id,asset,classification\n") == "data stores"
    assert csv_kind("id,source,destination,ports,classification\n") == "flows"
    assert csv_kind("src,dst,port\n") == "observed flows"
    assert "cannot tell" in str(rejected("name,colour\nx,red\n"))


def test_missing_and_unknown_columns_are_refused_at_line_one() -> None:
    """A header without 'kind', or with a misspelt column, rejects the whole file."""
    error = rejected("id,addresses\nx,10.0.0.1\n")
    assert (error.line, "missing column(s) kind") == (1, "missing column(s) kind")
    assert "missing column(s) kind" in str(error)
    error = rejected("id,kind,adresses\nx,host,10.0.0.1\n")
    assert "unknown column(s) 'adresses'" in str(error)
    assert error.line == 1


def test_each_bad_row_is_rejected_with_its_line_and_nothing_is_returned() -> None:
    """Three bad rows give three problems with their own lines; the good rows are not kept."""
    text = (
        "id,kind,addresses,ports\n"
        "good,host,10.0.0.1,tcp/22\n"
        "bad-port,host,10.0.0.2,tcp/70000\n"
        "bad-kind,router,,\n"
        "short,host\n"
        "good2,host,10.0.0.3,\n"
        "bad-cidr,host,10.0.0.7/24,\n"
    )
    error = rejected(text)
    found = [(p.origin.line if p.origin else None, p.message) for p in error.problems]
    assert found == [
        (3, "column 'ports': port 70000 is out of range 1-65535"),
        (4, "column 'kind': unknown asset kind 'router' (expected one of host, service, "
            "database, saas, third_party_api, partner_api, workstation)"),
        (5, "row has 2 fields, the header has 4"),
        (7, "column 'addresses': invalid CIDR '10.0.0.7/24': 10.0.0.7/24 has host bits set"),
    ]  # fmt: skip


def test_a_quoted_field_spanning_lines_keeps_the_line_numbers_right() -> None:
    """Rows after a multi-line quoted cell are still reported at their own line."""
    text = 'id,kind,name\na,host,"two\nlines"\nb,nope,x\n'
    error = rejected(text)
    assert error.problems[0].origin is not None
    assert error.problems[0].origin.line == 2  # the control character in the name
    assert error.problems[1].origin is not None
    assert error.problems[1].origin.line == 4


def test_a_hundred_thousand_junk_rows_are_each_rejected() -> None:
    """100k rows of junk: one problem per row, the message shows the first and the count."""
    junk = "".join(f"x{n},{'@' * (n % 7)},!!\n" for n in range(100_000))
    error = rejected("id,kind,addresses\n" + junk)
    assert len(error.problems) == 100_000
    assert error.problems[-1].origin is not None
    assert error.problems[-1].origin.line == 100_001
    assert "… and 99980 more problems" in str(error)


def test_undecodable_or_empty_input_is_refused() -> None:
    """An empty file, or NUL bytes in a row, is a clear error."""
    assert "empty" in str(rejected(""))
    assert rejected("id,kind\nx\x00,host\n").problems


def test_flows_and_data_stores_csv_read_booleans_and_counts() -> None:
    """encrypted accepts yes/no; records must be a whole number."""
    flows = parse_csv(
        "id,source,destination,ports,classification,encrypted\n"
        "f,a,b,tcp/443,restricted,yes\ng,a,b,udp/53,internal,\n",
        "flows.csv",
    ).flows
    assert [flow.encrypted for flow in flows] == [True, False]
    error = rejected("id,asset,classification,records\ns,a,public,many\n", "stores.csv")
    assert "records 'many' is not a whole number" in str(error)
    assert "is not yes or no" in str(
        rejected("id,source,destination,ports,classification,encrypted\nf,a,b,tcp/1,public,maybe\n")
    )


def test_observed_flows_csv_takes_addresses_or_asset_ids() -> None:
    """src,dst,port with an optional protocol (tcp by default) and count."""
    flows = parse_observed_csv(
        "src,dst,port,protocol,count\n10.0.0.1,db,5432,,3\nweb,2001:db8::1,53,udp,\n", "seen.csv"
    )
    assert flows[0].source == ipaddress.ip_address("10.0.0.1")
    assert flows[0].count == 3
    assert flows[1].protocol == "udp"
    assert flows[1].count == 1
    with pytest.raises(InvalidModel, match="out of range"):
        parse_observed_csv("src,dst,port\na,b,0\n", "seen.csv")


def csv_round_trip(inventory: Inventory) -> Inventory:
    items = InventoryItems()
    for text in (assets_csv(inventory), data_stores_csv(inventory), flows_csv(inventory)):
        items += parse_csv(text, "x.csv")
    return Inventory(items.assets, items.data_stores, items.flows)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(inventories())
def test_csv_round_trip_on_random_inventories(inventory: Inventory) -> None:
    """The three CSVs of an inventory read back to an equal inventory, byte-stable."""
    again = csv_round_trip(inventory)
    assert again == inventory
    assert assets_csv(again) == assets_csv(inventory)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=400))
def test_arbitrary_csv_is_items_or_a_config_error(text: str) -> None:
    """Fuzzed CSV never escapes as anything but ConfigError."""
    for header in (
        "id,kind,addresses,ports,labels\n",
        "id,source,destination,ports,classification\n",
    ):
        with contextlib.suppress(ConfigError):
            parse_csv(header + text, "fuzz.csv")
