"""The worked example shipped with menshen: Formosa Pay, the reference customer."""

from __future__ import annotations

import ipaddress
from importlib import resources

from menshen.inventory.csvio import parse_observed_csv
from menshen.segmentation import Action, blast_radius, check, reach
from menshen.segmentation.files import build, example_text, export_yaml, load_example, parse_text
from tests.segmentation.oracle import T0

ip = ipaddress.ip_address


def test_the_example_ships_as_package_data() -> None:
    """The sample YAML and observed-flows CSV are inside the installed package."""
    folder = resources.files("menshen.segmentation").joinpath("examples")
    assert folder.joinpath("formosa-pay.yaml").is_file()
    assert folder.joinpath("formosa-pay-observed.csv").is_file()
    assert "kind: Segmentation" in example_text()


def test_contractor_laptop_cannot_reach_the_settlement_database() -> None:
    """The contractor laptop's blast radius leaves out the settlement database and its data."""
    seg = load_example()
    result = blast_radius(seg, "laptop-17", T0)
    assert "settlement-db" not in result.asset_ids()
    assert "settlement-ledger" not in result.store_ids()
    assert "card-vault" not in result.store_ids()
    assert {c.name for c in result.classes}.isdisjoint({"settlement", "card-data", "restricted"})
    assert seg.verdict("laptop-17", "settlement-db", 5432, "tcp", T0).action is Action.DROP
    assert seg.verdict(ip("10.50.0.17"), ip("10.40.0.10"), 5432, "tcp", T0).action is Action.DROP


def test_contractors_reach_only_their_gateway_and_through_it_the_wiki() -> None:
    """Direct reach is the contractor gateway (and the zone still in monitor mode)."""
    seg = load_example()
    assert reach(seg, "laptop-17", T0).asset_ids() == ("contractor-gateway", "merchant-db")
    assert blast_radius(seg, "laptop-17", T0).asset_ids() == frozenset(
        {"laptop-17", "contractor-gateway", "wiki", "merchant-db"}
    )


def test_the_dba_exception_opens_the_ledger_until_it_expires() -> None:
    """The DBA laptop reaches the settlement database by EXC-001 only before 31 March."""
    seg = load_example()
    match = seg.allows("laptop-ops-01", "settlement-db", 5432, "tcp", T0)
    assert match is not None
    assert match.rule_id == "EXC-001"
    after = seg.allows("laptop-ops-01", "settlement-db", 5432, "tcp", match.expires or T0)
    assert after is None


def test_check_on_the_example_shows_drift_and_the_declared_gap() -> None:
    """The observed sample has a blocked contractor probe; the data map has one uncovered flow."""
    seg = load_example()
    folder = resources.files("menshen.segmentation").joinpath("examples")
    observed = parse_observed_csv(
        folder.joinpath("formosa-pay-observed.csv").read_text("utf-8"), "observed.csv"
    )
    report = check(seg, T0, observed)
    drift = {(d.source_asset, d.destination_asset, d.verdict.action) for d in report.drift}
    assert ("laptop-17", "settlement-db", Action.DROP) in drift
    assert ("wiki", "merchant-db", Action.MONITOR) in drift
    assert [gap.flow.id for gap in report.gaps] == ["bo-reads-ledger"]


def test_the_example_round_trips() -> None:
    """Exported, the example reads back to the same model."""
    seg = load_example()
    text = export_yaml(seg.inventory, seg.policy, "formosa-pay")
    again = build(parse_text(text, "export.yaml"))
    assert (again.inventory, again.policy) == (seg.inventory, seg.policy)
