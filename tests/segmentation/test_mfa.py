"""MFA in front of gateway apps, read from the compiled access policy and group settings."""

from __future__ import annotations

from menshen.demo.firm import demo_manifest
from menshen.manifest.load import compile_tenant_policy
from menshen.manifest.model import AppSpec, GroupSpec, PolicySpec
from menshen.manifest.parse import parse_manifests
from menshen.segmentation.mfa import MfaState, app_mfa

EXTRA = """\
---
apiVersion: menshen.dev/v1
kind: App
metadata: {name: ledger-api}
spec: {title: Ledger API, hosts: [api.example], upstream: "http://10.0.0.9:8080"}
---
apiVersion: menshen.dev/v1
kind: Policy
metadata: {name: ledger-api}
spec:
  app: ledger-api
  rules:
    - {name: bank-client, clients: [bank-a]}
    - {name: mfa-groups-only, groups: [finance-ops, admins]}
---
apiVersion: menshen.dev/v1
kind: App
metadata: {name: closed}
spec: {title: Closed, hosts: [closed.example], upstream: "http://10.0.0.10:8080"}
"""


def states() -> dict[str, tuple[MfaState, str]]:
    text = demo_manifest("http://127.0.0.1:9001", "http://127.0.0.1:9002", ("apps.example",))
    specs = [m.spec for m in parse_manifests(text + EXTRA, "<test>", known_apps=None)]
    apps = [s for s in specs if isinstance(s, AppSpec)]
    policies = [s for s in specs if isinstance(s, PolicySpec)]
    groups = {s.name: s.mfa_required for s in specs if isinstance(s, GroupSpec)}
    compiled = compile_tenant_policy("t", policies, apps)
    found = app_mfa(compiled, [app.name for app in apps], groups)
    return {name: (item.state, item.rule) for name, item in found.items()}


def test_an_app_whose_every_allow_rule_asks_for_mfa_requires_it() -> None:
    """Settlement: the only allow rule carries mfa; the deny rule does not matter."""
    assert states()["settlement"] == (MfaState.REQUIRED, "")


def test_an_allow_rule_for_a_group_without_mfa_is_named() -> None:
    """Wiki: contractors (no MFA at sign-in) are let in by 'everyone-reads-and-edits'."""
    assert states()["wiki"] == (MfaState.NOT_REQUIRED, "wiki-access/everyone-reads-and-edits")


def test_groups_requiring_mfa_at_sign_in_count_and_machine_rules_are_left_out() -> None:
    """Only MFA groups and a machine client: MFA is required of every person let in."""
    assert states()["ledger-api"] == (MfaState.REQUIRED, "")


def test_an_app_without_policy_lets_nobody_in() -> None:
    """No policy means default deny at the gateway: no access, so no MFA gap."""
    assert states()["closed"] == (MfaState.NO_ACCESS, "")
