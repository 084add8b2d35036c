"""Apps as the evidence collectors see them: each app's rules (what they demand) and the
sensitivity of the data behind it (NIST SP 800-207 §3.3.1, the attributes a rule tests;
ISO/IEC 27001:2022 A.5.12 classification).

Pure: stored app specs, app policies and the inventory in, ``AppFacts`` out. An app's
sensitivity is the highest of its own data label, the labels of its resources, the data
stores on the assets fronting it (an asset's ``gatewayApps``) and the declared flows into or
out of those assets — so the settlement admin app, whose host stores nothing but moves
settlement data, counts as restricted.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Literal

from menshen.compliance.sources import AppFacts, Attribute, RuleFacts
from menshen.inventory.catalog import Inventory
from menshen.manifest.model import AppSpec
from menshen.policy.conditions import (
    SENSITIVITY,
    TRUST_LEVELS,
    AllOf,
    AnyOf,
    Condition,
    CountryIn,
    DevicePosture,
    DeviceTags,
    DeviceTrust,
    Not,
    RiskAbove,
    RiskBelow,
    SourceIn,
    TimeWindow,
    Use,
)
from menshen.policy.model import AppPolicy, Effect, Rule

__all__ = ["app_facts", "rule_facts"]

_EFFECTS: dict[Effect, Literal["allow", "deny", "step_up"]] = {
    Effect.ALLOW: "allow",
    Effect.DENY: "deny",
    Effect.STEP_UP: "step_up",
}
MAX_DEPTH = 32
"""Condition trees deeper than this are not walked further (compiled policies refuse cycles)."""


def _rank(level: str) -> int:
    return SENSITIVITY.index(level) if level in SENSITIVITY else 0


def app_facts(
    specs: Sequence[AppSpec], policies: Sequence[AppPolicy], inventory: Inventory | None
) -> list[AppFacts]:
    """Every app that is defined or has rules, by name."""
    by_app: dict[str, list[AppPolicy]] = {}
    for policy in policies:
        by_app.setdefault(policy.app, []).append(policy)
    labels = {spec.name: spec.sensitivity for spec in specs}
    found = []
    for name in sorted(set(labels) | set(by_app)):
        levels: list[tuple[str, str]] = []
        if labels.get(name):
            levels.append((str(labels[name]), "app label"))
        for policy in by_app.get(name, ()):
            levels.extend((r.label.sensitivity, "resource label") for r in policy.resources)
        levels.extend(_inventory_levels(name, inventory))
        top = max((level for level, _ in levels), key=_rank, default="internal")
        basis = tuple(sorted({why for level, why in levels if level == top}))
        rules = tuple(
            rule_facts(rule, policy.conditions)
            for policy in by_app.get(name, ())
            for rule in policy.rules
        )
        found.append(AppFacts(name=name, sensitivity=top, basis=basis, rules=rules))
    return found


def _inventory_levels(app: str, inventory: Inventory | None) -> Iterable[tuple[str, str]]:
    if inventory is None:
        return
    for asset in inventory.assets:
        if app not in asset.gateway_apps:
            continue
        for store in inventory.stores_on(asset.id):
            yield store.classification.value, f"data store {store.id}"
        for flow in inventory.flows_of(asset.id):
            yield flow.classification.value, f"data flow {flow.id}"


def rule_facts(rule: Rule, blocks: Mapping[str, Condition]) -> RuleFacts:
    """What one rule demands: MFA, the attributes its condition tests, device trust, risk."""
    walk = _Walk(blocks)
    if rule.source_networks:
        walk.attributes.add("place")
    if rule.when is not None:
        walk.visit(rule.when, negated=False, depth=0)
    return RuleFacts(
        name=rule.name,
        effect=_EFFECTS[rule.effect],
        users=frozenset(rule.users),
        groups=frozenset(rule.groups),
        clients=frozenset(rule.clients),
        mfa=rule.mfa_required or rule.mfa_max_age is not None or bool(rule.mfa_methods),
        mfa_methods=frozenset(rule.mfa_methods),
        mfa_max_age=rule.mfa_max_age,
        attributes=frozenset(walk.attributes),
        device_trust=walk.trust,
        refuses_risk=walk.refuses_risk(rule.effect.value),
    )


class _Walk:
    """Collects what a condition tree tests. Device trust counts as demanded only where it
    must hold (not in an ``anyOf`` branch, which can be avoided, and not negated)."""

    def __init__(self, blocks: Mapping[str, Condition]) -> None:
        self.blocks = blocks
        self.attributes: set[Attribute] = set()
        self.trust: str | None = None
        self.risk_below = False
        self.risk_above = False

    def visit(self, node: Condition, *, negated: bool, depth: int, required: bool = True) -> None:
        if depth > MAX_DEPTH:
            return
        if isinstance(node, AllOf | AnyOf):
            # De Morgan: under a negation anyOf is the one whose every branch must hold.
            inner = required and (isinstance(node, AllOf) != negated)
            for item in node.items:
                self.visit(item, negated=negated, depth=depth + 1, required=inner)
        elif isinstance(node, Not):
            self.visit(node.item, negated=not negated, depth=depth + 1, required=required)
        elif isinstance(node, Use):
            block = self.blocks.get(node.name)
            if block is not None:
                self.visit(block, negated=negated, depth=depth + 1, required=required)
        else:
            self._leaf(node, negated=negated, required=required)

    def _leaf(self, node: Condition, *, negated: bool, required: bool) -> None:
        if isinstance(node, DeviceTrust | DeviceTags | DevicePosture):
            self.attributes.add("device")
            if isinstance(node, DeviceTrust) and required and not negated:
                self.trust = _stronger(self.trust, node.minimum)
        elif isinstance(node, TimeWindow):
            self.attributes.add("time")
        elif isinstance(node, SourceIn | CountryIn):
            self.attributes.add("place")
        elif isinstance(node, RiskBelow | RiskAbove):
            self.attributes.add("risk")
            below = isinstance(node, RiskBelow) != negated
            if below and required:
                self.risk_below = True
            if not below:
                self.risk_above = True

    def refuses_risk(self, effect: str) -> bool:
        if effect == "allow":
            return self.risk_below
        return self.risk_above


def _stronger(current: str | None, other: str) -> str:
    if current is None or other not in TRUST_LEVELS:
        return other if current is None else current
    return max(current, other, key=TRUST_LEVELS.index)
