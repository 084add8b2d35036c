"""Analysis: who can reach an app and on what conditions; which access a change gains or loses."""

from __future__ import annotations

from pathlib import Path

from menshen.manifest import AppSpec, IPListSpec, PolicySpec, parse_manifests
from menshen.manifest.load import compile_tenant_policy
from menshen.policy.analysis import ANYONE, SubjectRef, who_can
from menshen.policy.compile import CompiledPolicy
from menshen.policy.diff import diff_access
from menshen.policy.residual import Probe

EXAMPLE = Path(__file__).parents[2] / "examples" / "formosa-pay-policy.yaml"
HEAD = "apiVersion: menshen.dev/v1\n"


def policy_of(text: str) -> CompiledPolicy:
    """Compile the Apps, IP lists and Policies of a manifest text."""
    specs = [manifest.spec for manifest in parse_manifests(text, "<test>", known_apps=None)]
    return compile_tenant_policy(
        "t1",
        [spec for spec in specs if isinstance(spec, PolicySpec)],
        [spec for spec in specs if isinstance(spec, AppSpec)],
        [spec for spec in specs if isinstance(spec, IPListSpec)],
    )


def rules(app: str, body: str) -> str:
    """A Policy document for ``app`` whose ``rules:`` are ``body`` (indented YAML)."""
    return f"{HEAD}kind: Policy\nmetadata: {{name: {app}-access}}\nspec:\n  app: {app}\n{body}"


EXAMPLE_POLICY = policy_of(EXAMPLE.read_text(encoding="utf-8"))
DIRECTORY = {
    "alice": frozenset({"finance-ops", "staff"}),
    "bob": frozenset({"finance-ops", "contractors"}),
    "carol": frozenset({"contractors"}),
}


def test_who_can_reach_payouts_lists_finance_ops_with_every_condition() -> None:
    """The group and its members are listed with device, hours, network and WebAuthn."""
    found = who_can(EXAMPLE_POLICY, Probe("settlement", "/payouts", "GET"), DIRECTORY)
    subjects = [str(access.subject) for access in found]
    assert subjects == ["group finance-ops", "user alice", "user bob"]
    group = found[0]
    assert group.rule_id == "SET-010"
    assert group.conditions == (
        "a managed (or better) device and device posture diskEncrypted = true",
        "Mon–Fri 08:30–19:00 Asia/Taipei time",
        "a connection from office",
        "WebAuthn within 15 minutes",
    )
    assert group.denied_when == (
        "'settlement-access/risky-sessions-out' when a risk score above 70",
    )
    assert group.step_ups == ()
    assert not group.blocked


def test_who_can_notes_a_deny_rule_that_overrides_for_a_member() -> None:
    """bob is in finance-ops but also in contractors: the deny rule always refuses him."""
    found = who_can(EXAMPLE_POLICY, Probe("settlement", "/payouts"), DIRECTORY)
    bob = next(access for access in found if access.subject.name == "bob")
    alice = next(access for access in found if access.subject.name == "alice")
    assert bob.blocked
    assert bob.denied_by == ("'settlement-access/contractors-never'",)
    assert bob.via == "group finance-ops"
    assert not alice.blocked


def test_who_can_shows_step_up_on_payout_approval() -> None:
    """POST to card-data paths asks for WebAuthn within 5 minutes on top of the allow."""
    found = who_can(EXAMPLE_POLICY, Probe("settlement", "/payouts", "POST"))
    assert found[0].step_ups == (
        "'settlement-access/payout-approval-needs-fresh-webauthn': WebAuthn within 5 minutes",
    )
    elsewhere = who_can(EXAMPLE_POLICY, Probe("settlement", "/reports", "POST"))
    assert elsewhere[0].step_ups == ()


def test_who_can_keeps_unknown_parts_of_the_request_as_conditions() -> None:
    """Without a path or method, the rules' own path and method become conditions."""
    found = who_can(EXAMPLE_POLICY, Probe("partner-api"))
    assert [(str(a.subject), a.rule_id) for a in found] == [
        ("client bank-a", "API-010"),
        ("client bank-b", "API-010"),
        ("client bank-b", "API-011"),
    ]
    assert found[0].conditions == (
        "method GET",
        "a path under /v1/reports",
        "API scope reports:read",
    )
    known = who_can(EXAMPLE_POLICY, Probe("partner-api", "/v1/payouts", "GET"))
    assert [(str(a.subject), a.conditions) for a in known] == [
        ("client bank-b", ("API scope payouts:read",))
    ]


def test_who_can_finds_nobody_where_no_rule_applies() -> None:
    """A method no rule allows, or an app without policy: nobody (default deny)."""
    assert who_can(EXAMPLE_POLICY, Probe("partner-api", "/v1/reports", "DELETE")) == ()
    assert who_can(EXAMPLE_POLICY, Probe("no-such-app")) == ()


def test_who_can_names_any_signed_in_person_for_rules_without_subjects() -> None:
    """A rule naming nobody is for every signed-in person, never for machine clients."""
    compiled = policy_of(rules("wiki", "  rules:\n    - name: everyone\n      paths: [/docs]\n"))
    found = who_can(compiled, Probe("wiki", "/docs/a"))
    assert [access.subject for access in found] == [ANYONE]
    assert str(ANYONE) == "any signed-in person"
    assert found[0].conditions == ()


OLD = rules(
    "wiki",
    "  rules:\n"
    "    - name: contractors-not-admin\n      effect: deny\n      groups: [contractors]\n"
    "      paths: [/admin]\n"
    "    - name: staff\n      groups: [staff, contractors]\n"
    "    - name: ops-read\n      groups: [ops]\n      methods: [GET]\n",
)


def test_diff_reports_a_gain_and_a_loss() -> None:
    """Dropping contractors from a rule loses them access; a new group gains it."""
    new = OLD.replace("groups: [staff, contractors]", "groups: [staff, auditors]")
    changes = diff_access(policy_of(OLD), policy_of(new))
    lost = {(str(c.subject), c.path, c.method) for c in changes if c.kind == "loss"}
    gained = {(str(c.subject), c.path, c.method) for c in changes if c.kind == "gain"}
    assert ("group contractors", "/", "GET") in lost
    assert ("group auditors", "/admin", "POST") in gained
    assert all(c.subject.name in {"contractors", "auditors"} for c in changes)
    # contractors never had /admin: no change there.
    assert ("group contractors", "/admin", "GET") not in lost


def test_diff_sees_methods_no_rule_mentions() -> None:
    """Widening a GET-only rule to every method gains the other methods."""
    new = OLD.replace("      methods: [GET]\n", "")
    changes = diff_access(policy_of(OLD), policy_of(new))
    assert [(c.kind, str(c.subject), c.path, c.method) for c in changes] == [
        ("gain", "group ops", "/", "POST"),
        ("gain", "group ops", "/admin", "POST"),
    ]
    assert changes[0].after == ("allowed always",)


def test_diff_reports_changed_conditions() -> None:
    """Adding MFA keeps access but changes its conditions: a change, not a gain or loss."""
    new = OLD.replace(
        "groups: [staff, contractors]\n", "groups: [staff, contractors]\n      mfa: {maxAge: 12h}\n"
    )
    changes = diff_access(policy_of(OLD), policy_of(new))
    assert changes
    assert {c.kind for c in changes} == {"change"}
    first = changes[0]
    assert first.before == ("allowed always",)
    assert first.after == ("allowed with a second factor within 12 hours",)


def test_diff_of_identical_policies_is_empty() -> None:
    """No change, no output; a new app's rules are all gains."""
    assert diff_access(EXAMPLE_POLICY, EXAMPLE_POLICY) == ()
    extra = policy_of(OLD)
    changes = diff_access(policy_of(rules("other", "  rules: []\n")), extra)
    assert changes
    assert {c.kind for c in changes} == {"gain"}
    assert SubjectRef("group", "staff", frozenset({"staff"})) in {c.subject for c in changes}


def test_diff_loses_access_when_a_deny_rule_always_applies() -> None:
    """A new deny for contractors over the whole app is a loss for them everywhere."""
    new = OLD.replace("      paths: [/admin]\n", "")
    changes = diff_access(policy_of(OLD), policy_of(new))
    assert changes
    assert {(c.kind, str(c.subject)) for c in changes} == {("loss", "group contractors")}
