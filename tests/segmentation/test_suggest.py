"""segment suggest: rules from observed flows, flagged when workstations reach restricted data."""

from __future__ import annotations

import ipaddress
from datetime import UTC, datetime

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from menshen.inventory import merge_items
from menshen.inventory.discovery.match import discover
from menshen.inventory.discovery.records import Observation
from menshen.inventory.model import Endpoint
from menshen.segmentation import Mode, Segmentation, Selector
from menshen.segmentation.files import load_example, merge_policy, parse_text
from menshen.segmentation.suggest import suggest
from menshen.segmentation.suggest_yaml import suggestion_json, suggestion_yaml
from tests.segmentation.oracle import TIMES, models

SEG = load_example()
AT = datetime(2026, 1, 5, 1, tzinfo=UTC)
ip = ipaddress.ip_address


def seen(
    src: Endpoint, dst: Endpoint, port: int, count: int = 1, refused: bool = False
) -> Observation:
    return Observation(src, dst, port, "tcp", count, refused)


OBSERVED = (
    seen(ip("10.10.0.12"), ip("10.20.0.10"), 443, 1820),
    seen(ip("10.30.0.10"), ip("10.40.0.10"), 5432, 4410),
    seen(ip("10.30.0.12"), ip("10.40.0.11"), 5432, 3),
    seen(ip("10.50.0.17"), ip("10.40.0.10"), 5432, 12),
    seen(ip("10.50.0.18"), ip("10.40.0.10"), 5432, 2),
    seen(ip("10.30.0.10"), ip("10.30.0.30"), 9000, 9),
    seen(ip("10.30.0.10"), ip("10.30.0.30"), 9001, 1),
    seen(ip("203.0.113.9"), ip("10.20.0.20"), 8443, 40),
    seen(ip("10.50.0.17"), ip("10.40.0.11"), 22, 5, refused=True),
    seen("no-such-asset", "wiki", 22),
)


def adopted(seg: Segmentation, text: str) -> Segmentation:
    """The model with the suggested document imported, as `inventory import` would."""
    return Segmentation(seg.inventory, merge_policy(seg.policy, parse_text(text, "s.yaml")))


def test_contractor_flows_into_the_ledger_are_flagged_and_written_disabled() -> None:
    """Both contractor laptops probing the settlement DB: one flagged rule, commented out."""
    found = suggest(SEG, OBSERVED, AT)
    (flagged,) = found.flagged
    assert flagged.rule.sources == ("contractor-laptops",)
    assert flagged.rule.destinations == ("settlement-db",)
    assert "restricted data" in flagged.flag
    assert flagged.support.flows == 2
    assert flagged.support.connections == 14
    text = suggestion_yaml(found, AT)
    assert f'# - {{"id": "{flagged.rule.id}"' in text
    assert "FLAGGED, disabled" in text
    model = adopted(SEG, text)
    assert model.allows(ip("10.50.0.17"), ip("10.40.0.10"), 5432, "tcp", AT) is None


def test_enabled_rules_carry_their_support_and_the_document_loads() -> None:
    """Each rule is commented with its flows and connections; the model allows them after."""
    found = suggest(SEG, OBSERVED, AT)
    rules = {(str(r.rule.sources[0]), str(r.rule.destinations[0])): r for r in found.enabled}
    engine = rules[("{app=settlement, env=prod, location=tpe-dc1, role=web}", "settlement-engine")]
    assert [str(p) for p in engine.rule.ports] == ["tcp/9000", "tcp/9001"]
    assert (engine.support.flows, engine.support.connections) == (2, 10)
    text = suggestion_yaml(found, AT)
    assert "# 2 flows, 10 connections (tcp/9000 ×9, tcp/9001 ×1)" in text
    model = adopted(SEG, text)
    assert model.allows(ip("10.30.0.10"), ip("10.30.0.30"), 9001, "tcp", AT) is not None
    assert model.allows(ip("10.30.0.12"), ip("10.40.0.11"), 5432, "tcp", AT) is not None


def test_the_narrowest_group_is_chosen_least_privilege() -> None:
    """settlement-admin is named by its labels, not by internal-apps (which holds the wiki)."""
    found = suggest(SEG, OBSERVED, AT)
    sources = {r.rule.sources[0] for r in found.rules}
    assert "internal-apps" not in sources
    assert (
        Selector.of({"role": "web", "app": "settlement", "env": "prod", "location": "tpe-dc1"})
        in sources
    )


def test_what_is_not_suggested_is_counted_by_reason() -> None:
    """Already allowed, refused, outside every zone, unknown asset: each counted."""
    skipped = dict(suggest(SEG, OBSERVED, AT).skipped)
    assert skipped["already allowed by the policy"] == 2
    assert skipped["refused by the network (not a flow to allow)"] == 1
    assert skipped["names an asset not in the inventory"] == 1
    assert sum(v for k, v in skipped.items() if "outside the inventory" in k) == 1


def test_unclassified_assets_are_not_grouped_until_classified() -> None:
    """A discovered, unclassified host gives no rule: a person must classify it first."""
    found = discover((seen(ip("10.30.0.99"), ip("10.40.0.11"), 5432),), SEG.inventory, fmt="csv")
    seg = Segmentation(merge_items(SEG.inventory, found.items()), SEG.policy)
    result = suggest(seg, (seen(ip("10.30.0.99"), ip("10.40.0.11"), 5432),), AT)
    assert result.rules == ()
    assert dict(result.skipped) == {"an end is an unclassified asset (classify it first)": 1}


def test_monitor_scope_leaves_out_restricted_zones_and_warns_what_it_relaxes() -> None:
    """With --include-allowed, settlement-db is a destination but never a monitor scope."""
    found = suggest(SEG, OBSERVED, AT, include_allowed=True)
    assert found.mode is Mode.MONITOR
    assert "settlement-db" not in found.scope
    assert any("settlement-db holds restricted data" in note for note in found.notes)
    assert any("relaxes zones that drop it today" in note for note in found.notes)
    adopted(SEG, suggestion_yaml(found, AT))


def test_enforce_mode_has_no_scope() -> None:
    """Enforce mode only adds allows; default deny does the rest."""
    found = suggest(SEG, OBSERVED, AT, mode=Mode.ENFORCE, include_allowed=True)
    assert (found.mode, found.scope) == (Mode.ENFORCE, ())
    assert suggestion_json(found)["mode"] == "enforce"
    adopted(SEG, suggestion_yaml(found, AT))


def test_rare_pairs_can_be_left_out() -> None:
    """``min_connections`` drops rules supported by fewer connections."""
    found = suggest(SEG, OBSERVED, AT, min_connections=5)
    assert all(r.support.connections >= 5 for r in found.rules)


@settings(suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(models(), st.sampled_from(TIMES), st.sampled_from(list(Mode)), st.data())
def test_adopting_a_suggestion_leaves_nothing_but_flagged_rules_to_suggest(
    seg: Segmentation, when: datetime, mode: Mode, data: st.DataObject
) -> None:
    """Property: the document loads; afterwards every flow it covered is allowed."""
    ids = [asset.id for asset in seg.inventory.assets]
    pairs = data.draw(
        st.lists(st.tuples(st.sampled_from(ids), st.sampled_from(ids), st.integers(1, 40)),
                 max_size=12)
    )  # fmt: skip
    observed = [seen(src, dst, port) for src, dst, port in pairs]
    found = suggest(seg, observed, when, mode=mode)
    model = adopted(seg, suggestion_yaml(found, when))
    again = suggest(model, observed, when, mode=mode)
    assert again.enabled == ()
    assert len(again.flagged) <= len(found.flagged)
