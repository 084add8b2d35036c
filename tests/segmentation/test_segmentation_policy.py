"""The segmentation policy: YAML form, and every way a policy can be wrong."""

from __future__ import annotations

import ipaddress
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import HealthCheck, given, settings

from menshen.errors import ConfigError
from menshen.inventory import InvalidModel, PortRange
from menshen.segmentation import (
    FlowException,
    LabelGroup,
    Mode,
    Rule,
    RuleSet,
    Segmentation,
    SegmentationPolicy,
    Selector,
    Zone,
)
from menshen.segmentation.codec import format_expiry, parse_expiry
from menshen.segmentation.files import ModelParts, build, export_yaml, parse_text
from tests.segmentation.oracle import models

HEAD = "apiVersion: menshen.dev/v1\nkind: Segmentation\nmetadata: {name: firm}\nspec:\n"
POLICY = (
    HEAD
    + """\
  labelGroups:
    - {name: prod-envs, key: env, values: [prod], include: [dr-envs]}
    - {name: dr-envs, key: env, values: [dr]}
  zones:
    - {name: web, select: {labels: {role: web}}}
    - {name: db, select: {labels: {role: [db, cache]}, groups: [prod-envs]}}
    - {name: banks, cidrs: [198.51.100.0/24]}
  ruleSets:
    - name: core
      rules:
        - {id: R1, from: web, to: [db], ports: [tcp/5432]}
        - {id: R2, from: [banks], to: [{labels: {role: web}}], ports: [tcp/443, tcp/8000-8100]}
      exceptions:
        - {id: X1, from: [web], to: [banks], ports: [tcp/22], owner: cto, expires: 2026-03-31}
    - name: rollout
      mode: monitor
      scope: [db]
"""
)


def policy_of(text: str) -> SegmentationPolicy:
    return build(parse_text(text, "seg.yaml")).policy


def error_of(text: str) -> ConfigError:
    with pytest.raises(ConfigError) as caught:
        policy_of(text)
    return caught.value


def test_a_policy_file_gives_typed_values() -> None:
    """Zone shorthands, lists of peers, label groups and a dated exception all read."""
    policy = policy_of(POLICY)
    assert [zone.name for zone in policy.zones] == ["banks", "db", "web"]
    found = policy.rule("R2")
    assert found is not None
    rule_set, rule = found
    assert rule_set.name == "core"
    assert isinstance(rule, Rule)
    assert rule.sources == ("banks",)
    assert rule.destinations == (Selector.of({"role": "web"}),)
    exception = policy.rule("X1")
    assert exception is not None
    assert isinstance(exception[1], FlowException)
    assert exception[1].expires == datetime(2026, 3, 31, tzinfo=UTC)
    assert policy.expanded["prod-envs"] == ("env", frozenset({"prod", "dr"}))


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("to: [db]", "to: [dbs]", "rule 'R1': to names undefined zone 'dbs'"),
        ("values: [dr]}", "values: [dr], include: [prod-envs]}",
         "label groups form a cycle: dr-envs → prod-envs → dr-envs"),
        ("groups: [prod-envs]", "groups: [nope]", "unknown label group 'nope'"),
        ("id: X1", "id: R1", "duplicate rule id 'R1'"),
        ("scope: [db]", "scope: []", "is in monitor mode but has no scope"),
        ("scope: [db]", "scope: [dbx]", "scope names undefined zone 'dbx'"),
        ("mode: monitor", "mode: audit", "unknown mode 'audit'"),
        ("cidrs: [198.51.100.0/24]", "cidrs: [198.51.100.1/24]", "has host bits set"),
        ("tcp/5432", "tcp/99999", "port 99999 is out of range"),
        ("owner: cto, ", "", "owner: required field is missing"),
        ("expires: 2026-03-31", "expires: 2026-03-31T10:00:00", "needs a time zone"),
        ("{labels: {role: web}}]", "{}]", "a selector needs at least one label"),
        ("{labels: {role: web}}]", "{labels: {role: []}}]", "at least 1 item"),
        ("cidrs: [198.51.100.0/24]}", "description: nothing}", "needs select, cidrs, or both"),
        ("owner: cto", "owner: '  '", "should match pattern"),
    ],
)  # fmt: skip
def test_bad_policies_are_refused_with_a_place(old: str, new: str, message: str) -> None:
    """Undefined zones, cycles, duplicate ids, bad modes, ports and CIDRs: each named."""
    assert old in POLICY
    error = error_of(POLICY.replace(old, new, 1))
    assert message in str(error)
    assert error.source == "seg.yaml"
    assert error.line is not None


def test_a_self_including_label_group_is_a_cycle() -> None:
    """A group that includes itself is the shortest cycle."""
    with pytest.raises(InvalidModel, match="cycle: g → g"):
        SegmentationPolicy((LabelGroup("g", "env", ("prod",), ("g",)),))


def test_label_groups_of_different_keys_cannot_include_each_other() -> None:
    """An env group including a role group would mix keys: refused."""
    with pytest.raises(InvalidModel, match="whose key is 'role'"):
        SegmentationPolicy(
            (LabelGroup("a", "env", ("prod",), ("b",)), LabelGroup("b", "role", ("db",)))
        )


def test_deeply_nested_label_groups_are_refused_not_crashed() -> None:
    """A chain of 100 includes is refused with a message, not a RecursionError."""
    chain = tuple(
        LabelGroup(f"g{i}", "env", ("prod",), (f"g{i + 1}",) if i < 99 else ()) for i in range(100)
    )
    with pytest.raises(InvalidModel, match="nest deeper"):
        SegmentationPolicy(chain)


def test_zones_and_rules_check_their_own_shape() -> None:
    """A zone needs a selector or CIDRs; a rule needs both sides and a port."""
    with pytest.raises(ValueError, match="needs a selector, CIDRs, or both"):
        Zone("empty")
    with pytest.raises(ValueError, match="at least one port"):
        Rule("R", ("a",), ("b",), ())
    port = (PortRange.parse("tcp/22"),)
    with pytest.raises(ValueError, match="needs an owner"):
        FlowException("X", ("a",), ("b",), port, " ", datetime(2026, 1, 1, tzinfo=UTC))


def test_expiry_dates_and_times() -> None:
    """A date is the start of that day in UTC; a time keeps its zone; both print back."""
    assert parse_expiry("2026-03-31") == datetime(2026, 3, 31, tzinfo=UTC)
    taipei = timezone(timedelta(hours=8))
    at = parse_expiry("2026-03-31T18:00:00+08:00")
    assert at == datetime(2026, 3, 31, 18, tzinfo=taipei)
    assert format_expiry(at) == "2026-03-31T18:00:00+08:00"
    assert format_expiry(datetime(2026, 3, 31, tzinfo=UTC)) == "2026-03-31"
    with pytest.raises(ValueError, match="not a date"):
        parse_expiry("next tuesday")


def test_a_zone_may_not_split_an_asset() -> None:
    """A zone CIDR covering one of an asset's two networks would make IP and asset disagree."""
    from menshen.inventory import Asset, AssetKind, Inventory

    net = ipaddress.ip_network
    inventory = Inventory(
        (Asset("a", AssetKind.HOST, networks=(net("10.0.0.0/24"), net("10.0.9.0/24"))),)
    )
    policy = SegmentationPolicy(zones=(Zone("z", cidrs=(net("10.0.0.0/24"),)),))
    with pytest.raises(InvalidModel, match="covers only part of asset 'a'"):
        Segmentation(inventory, policy)
    wider = SegmentationPolicy(zones=(Zone("z", cidrs=(net("10.0.0.0/20"),)),))
    assert Segmentation(inventory, wider).zone_assets("z") == frozenset({"a"})


def test_two_files_defining_one_zone_is_an_error() -> None:
    """The same zone in two files is a conflict, not a silent override."""
    zone = Zone("z", cidrs=(ipaddress.ip_network("10.0.0.0/8"),))
    with pytest.raises(InvalidModel, match="duplicate zone 'z'"):
        build(ModelParts(zones=(zone, zone)))


def test_rule_sets_default_to_enforce() -> None:
    """A rule set that says nothing about mode enforces."""
    assert RuleSet("x").mode is Mode.ENFORCE


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(models())
def test_model_round_trips_through_yaml(seg: Segmentation) -> None:
    """export → import gives an equal inventory and policy, and the same bytes again."""
    text = export_yaml(seg.inventory, seg.policy, "firm")
    again = build(parse_text(text, "x.yaml"))
    assert again.inventory == seg.inventory
    assert again.policy == seg.policy
    assert export_yaml(again.inventory, again.policy, "firm") == text
