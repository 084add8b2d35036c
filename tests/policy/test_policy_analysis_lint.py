"""Lint: each warning kind, and silence on the reference firm's policies."""

from __future__ import annotations

import pytest

from menshen.demo.firm import demo_manifest
from menshen.policy.lint import (
    NEVER_MATCHES,
    NO_MEMBERS,
    RESTRICTED_WITHOUT_MFA,
    SHADOWED_BY_ALLOW,
    SHADOWED_BY_DENY,
    WILDCARD_PATH,
    WILDCARD_SUBJECT,
    lint,
)
from tests.policy.test_policy_analysis import EXAMPLE_POLICY, HEAD, policy_of, rules

RESTRICTED_APP = (
    f"{HEAD}kind: App\nmetadata: {{name: vault}}\nspec:\n  hosts: [vault.example.tw]\n"
    "  upstream: http://10.0.0.9:8080\n  data: {sensitivity: restricted}\n---\n"
)
MFA = "      mfa: {methods: [webauthn], maxAge: 15m}\n"


def kinds(text: str, members: dict[str, frozenset[str]] | None = None) -> list[tuple[str, str]]:
    """(kind, rule) of every warning for the policies of ``text``."""
    return [(w.kind, w.rule.split("/")[1]) for w in lint(policy_of(text), members)]


def test_the_reference_firms_policies_lint_clean() -> None:
    """No false positives on examples/formosa-pay-policy.yaml or the demo firm."""
    assert lint(EXAMPLE_POLICY) == ()
    demo = demo_manifest("http://127.0.0.1:9001", "http://127.0.0.1:9002", ("apps.example",))
    assert lint(policy_of(demo)) == ()


@pytest.mark.parametrize(
    "rule",
    [
        "methods: [GET]\n      when: {method: [POST]}",
        "paths: [/a]\n      when: {path: [/b]}",
        "when: {risk: {above: 60, below: 40}}",
        "when: {all: [{country: [TW]}, {country: [JP]}]}",
        "when: {all: [{device: {posture: {os: macos}}}, {device: {posture: {os: linux}}}]}",
        "when: {all: [{header: {name: x-t, in: [a]}}, {header: {name: x-t, in: [b]}}]}",
        "when: {all: [{time: {days: [mon-fri], from: '09:00', to: '18:00'}},"
        " {time: {days: [sat, sun], from: '09:00', to: '18:00'}}]}",
        "when: {data: {sensitivity: [restricted]}}",
    ],
)
def test_a_rule_whose_conditions_contradict_never_matches(rule: str) -> None:
    """Methods, paths, risk, countries, posture, headers, windows, data that exclude each other."""
    text = rules("wiki", f"  rules:\n    - name: odd\n      groups: [ops]\n      {rule}\n")
    warnings = lint(policy_of(text))
    assert [(w.kind, w.rule) for w in warnings] == [(NEVER_MATCHES, "wiki-access/odd")]
    assert warnings[0].message.startswith("can never match: ")


def test_overlapping_conditions_are_not_contradictions() -> None:
    """Nested paths, shared methods, overlapping windows and a sane risk band are fine."""
    text = rules(
        "wiki",
        "  rules:\n    - name: fine\n      groups: [ops]\n      methods: [GET, POST]\n"
        "      paths: [/a]\n"
        "      when: {all: [{method: [POST]}, {path: [/a/b]}, {risk: {above: 10, below: 50}},"
        " {time: {days: [mon-fri], from: '09:00', to: '18:00'}},"
        " {time: {days: [fri, sat], from: '17:00', to: '20:00'}}]}\n",
    )
    assert lint(policy_of(text)) == ()


def test_a_rule_for_groups_without_members_never_applies() -> None:
    """When membership is known and empty, the rule reaches nobody."""
    text = rules("wiki", "  rules:\n    - name: ghosts\n      groups: [auditors]\n")
    assert kinds(text, {"auditors": frozenset()}) == [(NO_MEMBERS, "ghosts")]
    assert kinds(text, {"auditors": frozenset({"dana"})}) == []
    assert kinds(text) == []  # membership unknown: not judged


def test_an_allow_rule_inside_a_deny_rule_is_shadowed() -> None:
    """The deny covers the allow's subjects and paths: the allow never allows."""
    text = rules(
        "wiki",
        "  rules:\n    - name: no-contractors\n      effect: deny\n"
        "      groups: [contractors, interns]\n      paths: [/admin]\n"
        "    - name: contractor-admin\n      groups: [contractors]\n      paths: [/admin/pages]\n"
        "    - name: contractor-read\n      groups: [contractors]\n",
    )
    assert kinds(text) == [(SHADOWED_BY_DENY, "contractor-admin")]


def test_an_allow_rule_covered_by_an_earlier_allow_is_shadowed() -> None:
    """Same group, narrower conditions, no weaker MFA: the earlier rule always decides."""
    text = rules(
        "wiki",
        "  rules:\n    - name: ops\n      groups: [ops, sre]\n"
        f"      when: {{source: [10.0.0.0/8]}}\n{MFA}"
        "    - name: ops-from-lab\n      groups: [ops]\n      methods: [GET]\n"
        "      sourceNetworks: [10.1.0.0/16]\n      mfa: {methods: [webauthn], maxAge: 5m}\n"
        "    - name: ops-without-mfa\n      groups: [ops]\n      when: {source: [10.0.0.0/8]}\n",
    )
    assert kinds(text) == [(SHADOWED_BY_ALLOW, "ops-from-lab")]


def test_allow_on_restricted_data_without_mfa_is_flagged() -> None:
    """People reaching restricted data need a second factor; clients are not asked."""
    text = RESTRICTED_APP + rules(
        "vault",
        "  rules:\n    - name: ops\n      groups: [ops]\n      methods: [GET]\n"
        "    - name: ops-mfa\n      groups: [ops]\n      methods: [POST]\n" + MFA + ""
        "    - name: bank\n      clients: [bank-a]\n      methods: [GET]\n      scopes: [read]\n",
    )
    assert kinds(text) == [(RESTRICTED_WITHOUT_MFA, "ops")]


def test_restricted_paths_are_found_through_policy_labels() -> None:
    """A rule reaching a restricted path label is judged; one kept elsewhere is not."""
    text = rules(
        "wiki",
        "  resources:\n    - {paths: [/payroll], sensitivity: restricted}\n"
        "  rules:\n    - name: pages\n      groups: [ops]\n      paths: [/pages]\n"
        "    - name: payroll\n      groups: [hr]\n      paths: [/payroll/2026]\n",
    )
    assert kinds(text) == [(RESTRICTED_WITHOUT_MFA, "payroll")]


def test_wildcards_on_restricted_data_are_flagged() -> None:
    """Any signed-in person, or identity alone over every path, on restricted data."""
    text = RESTRICTED_APP + rules(
        "vault",
        f"  rules:\n    - name: everyone\n      methods: [GET]\n{MFA}"
        f"    - name: whole-app\n      groups: [ops]\n{MFA}",
    )
    assert kinds(text) == [(WILDCARD_SUBJECT, "everyone"), (WILDCARD_PATH, "whole-app")]
