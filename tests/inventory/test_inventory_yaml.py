"""Inventory YAML: typed values, precise errors (file:line:column), exact round trips."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from menshen.errors import ConfigError
from menshen.inventory import Classification, InvalidModel, Inventory
from menshen.inventory.loader import (
    dump_documents,
    inventory_document,
    load_inventory,
)
from tests.inventory.strategies import inventories

HEAD = "apiVersion: menshen.dev/v1\nkind: Inventory\nmetadata: {name: firm}\nspec:\n"
GOOD = (
    HEAD
    + """\
  assets:
    - id: db
      kind: database
      environment: prod
      labels: {role: db, app: settlement}
      addresses: [10.0.0.5, db.internal]
      ports: [tcp/5432]
      dataStores:
        - {id: ledger, classification: restricted, tags: [settlement, pii], records: 12}
    - id: admin
      kind: host
      addresses: [10.0.1.0/24]
      gatewayApps: [settlement]
  dataStores:
    - {id: backups, asset: db, classification: confidential}
  flows:
    - {id: f1, from: admin, to: db, ports: [tcp/5432], classification: restricted,
       encrypted: true}
"""
)


def error_of(text: str) -> ConfigError:
    with pytest.raises(ConfigError) as caught:
        load_inventory(text, "firm.yaml")
    return caught.value


def test_a_file_gives_typed_values_with_nested_and_flat_data_stores() -> None:
    """Stores nested in an asset and listed with asset: both end up on the asset."""
    inventory = load_inventory(GOOD, "firm.yaml")
    db = inventory.asset("db")
    assert db is not None
    assert db.environment == "prod"
    assert db.dns_names == ("db.internal",)
    assert [s.id for s in inventory.stores_on("db")] == ["backups", "ledger"]
    ledger = inventory.data_store("ledger")
    assert ledger is not None
    assert ledger.classification is Classification.RESTRICTED
    assert ledger.records == 12
    assert ledger.tags == ("pii", "settlement")
    flow = inventory.flow("f1")
    assert flow is not None
    assert flow.encrypted


def test_origins_point_at_each_item() -> None:
    """Every parsed item remembers its line and column, and those of its keys."""
    inventory = load_inventory(GOOD, "firm.yaml")
    admin = inventory.asset("admin")
    assert admin is not None
    assert admin.origin is not None
    assert (admin.origin.line, admin.origin.column) == (14, 7)
    assert admin.origin.at("addresses").line == 16


@pytest.mark.parametrize(
    ("old", "new", "line", "column", "message"),
    [
        ("classification: restricted, tags", "classification: secret, tags", 13, 24,
         "unknown classification 'secret'"),
        ("ports: [tcp/5432]", "ports: [tcp/70000]", 11, 15, "port 70000 is out of range"),
        ("[10.0.1.0/24]", "[10.0.1.7/24]", 16, 19, "has host bits set"),
        ("kind: host", "kind: router", 15, 7, "unknown asset kind 'router'"),
        ("environment: prod", "environment: prod\n      colour: red", 9, 7, "unknown field"),
    ],
)  # fmt: skip
def test_bad_values_name_file_line_and_column(
    old: str, new: str, line: int, column: int, message: str
) -> None:
    """Each schema problem points at the offending key (or list item)."""
    error = error_of(GOOD.replace(old, new, 1))
    assert isinstance(error, InvalidModel)
    assert (error.source, error.line, error.column) == ("firm.yaml", line, column)
    assert message in str(error)


def test_cross_item_problems_point_at_the_key() -> None:
    """An unknown asset in a flow is reported at the flow's 'to' key."""
    error = error_of(GOOD.replace("to: db,", "to: dbx,"))
    assert "flow 'f1': unknown asset 'dbx'" in str(error)
    assert isinstance(error, InvalidModel)
    assert (error.line, error.column) == (21, 29)


def test_overlapping_addresses_and_duplicate_ids_are_refused() -> None:
    """Two assets claiming one address, or one id, are errors naming the place."""
    overlap = GOOD.replace("[10.0.0.5, db.internal]", "[10.0.1.5, db.internal]")
    assert "overlaps 10.0.1.0/24 of asset 'admin'" in str(error_of(overlap))
    duplicate = GOOD.replace("id: admin", "id: db")
    assert "duplicate asset id 'db' (first at firm.yaml:6:7)" in str(error_of(duplicate))


def test_yaml_level_problems_are_config_errors_with_a_place() -> None:
    """Bad YAML, duplicate keys, aliases and a wrong envelope all name the file."""
    assert error_of(HEAD + "  assets: [\n").line is not None
    assert "duplicate key" in str(error_of(HEAD + "  assets: []\n  assets: []\n"))
    assert "aliases" in str(error_of(HEAD + "  assets: &a []\n  flows: *a\n"))
    assert "unknown kind 'Inventry'" in str(error_of(GOOD.replace("Inventory", "Inventry")))
    assert "apiVersion" in str(error_of(GOOD.replace("menshen.dev/v1", "v2")))


def test_environment_and_env_label_must_agree() -> None:
    """environment: prod with labels.env: dev is a contradiction, not a silent pick."""
    error = error_of(GOOD.replace("role: db, app", "role: db, env: dev, app"))
    assert "disagree" in str(error)


def export_text(inventory: Inventory) -> str:
    return dump_documents([inventory_document(inventory, "firm")])


def test_export_is_deterministic_and_reads_back_equal() -> None:
    """The same inventory always exports to the same bytes, which import to an equal value."""
    inventory = load_inventory(GOOD, "firm.yaml")
    text = export_text(inventory)
    assert text == export_text(load_inventory(text, "again.yaml"))
    assert load_inventory(text, "again.yaml") == inventory


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(inventories())
def test_yaml_round_trip_on_random_inventories(inventory: Inventory) -> None:
    """import(export(x)) == x for any valid inventory (unicode names, IPv6, wildcards)."""
    assert load_inventory(export_text(inventory), "x.yaml") == inventory


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=300))
def test_arbitrary_text_is_an_inventory_or_a_config_error(text: str) -> None:
    """Fuzzed input never escapes as anything but ConfigError."""
    with contextlib.suppress(ConfigError):
        load_inventory(HEAD + text, "fuzz.yaml")


@settings(max_examples=200, deadline=None)
@given(
    st.dictionaries(
        st.sampled_from(["id", "kind", "labels", "addresses", "ports", "dataStores", "x"]),
        st.one_of(st.text(max_size=8), st.integers(), st.lists(st.text(max_size=6), max_size=3),
                  st.none(), st.dictionaries(st.text(max_size=4), st.text(max_size=4))),
    )
)  # fmt: skip
def test_arbitrary_asset_bodies_are_refused_cleanly(body: dict[str, object]) -> None:
    """Random asset mappings are either valid or a located ConfigError, never a crash."""
    import yaml

    text = HEAD + "  assets:\n" + "    - " + yaml.safe_dump(body, default_flow_style=True)
    source = None
    try:
        load_inventory(text, "fuzz.yaml")
    except ConfigError as exc:
        source = exc.source
    assert source in (None, "fuzz.yaml")
