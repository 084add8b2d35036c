"""The administrator's trace: every rule, why it matched or not, and the decision."""

from __future__ import annotations

import ipaddress
from datetime import UTC, datetime, timedelta

from menshen.policy import (
    AccessRequest,
    AppPolicy,
    Effect,
    Rule,
    Subject,
    compile_policies,
    considered,
    explain,
)

NOW = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
BOB = Subject("u-bob", "bob", "bob@example.tw", frozenset({"ops"}))


def request(
    path: str = "/admin/x", source_ip: str = "10.1.2.3", subject: Subject | None = BOB
) -> AccessRequest:
    return AccessRequest(
        "t1", "settlement", "GET", path, source_ip, NOW, subject, "totp", NOW - timedelta(hours=13)
    )


COMPILED = compile_policies(
    "t1",
    [
        AppPolicy(
            "settlement",
            (
                Rule("no-contractors", effect=Effect.DENY, groups=frozenset({"contractors"})),
                Rule("finance", groups=frozenset({"fin"})),
                Rule("reports", groups=frozenset({"ops"}), path_prefixes=("/reports",)),
                Rule(
                    "office",
                    groups=frozenset({"ops"}),
                    source_networks=(ipaddress.ip_network("192.168.0.0/16"),),
                ),
                Rule("admin", groups=frozenset({"ops"}), mfa_max_age=timedelta(hours=12)),
            ),
        )
    ],
)


def test_explain_lists_every_rule_with_why_it_did_not_match() -> None:
    """Each rule gets one line naming the condition that failed."""
    lines = explain(COMPILED, request())
    assert lines[0].startswith(
        "request: tenant t1, app settlement, bob (groups: ops), GET /admin/x"
    )
    assert lines[1] == (
        "deny rule 'no-contractors': no match: requires group contractors; you are in ops"
    )
    assert lines[2] == "allow rule 'finance': no match: requires group fin; you are in ops"
    assert lines[3] == (
        "allow rule 'reports': no match: requires a path under /reports; this is /admin/x"
    )
    assert lines[4] == (
        "allow rule 'office': no match: requires a connection from 192.168.0.0/16; "
        "yours came from 10.1.2.3"
    )
    assert lines[5] == (
        "allow rule 'admin': matches, but requires a second factor within 12 hours; "
        "your last MFA was TOTP 13 h ago"
    )
    assert lines[-1].startswith("decision: step_up by rule 'admin': MFA older than 12h")


def test_explain_ends_with_the_same_decision_as_decide() -> None:
    """The trace's last line is decide's answer, so the two cannot disagree."""
    decision = COMPILED.decide(request(path="/reports/q1"))
    assert decision.allowed
    assert explain(COMPILED, request(path="/reports/q1"))[-1] == (
        "decision: allow by rule 'reports': Allowed by rule 'reports'."
    )


def test_explain_reports_an_unknown_app_and_anonymous_subject() -> None:
    """Requests stopped before any rule still get a trace."""
    anonymous = explain(COMPILED, request(subject=None))
    assert "anonymous" in anonymous[0]
    assert anonymous[1].startswith("no subject")
    other = AccessRequest("t1", "wiki", "GET", "/", "10.0.0.1", NOW, BOB, None, None)
    assert explain(COMPILED, other)[1] == "no policy for app wiki; known apps: settlement"


def test_explain_survives_a_bad_source_address() -> None:
    """An unparsable address is reported, and the decision is the fail-closed denial."""
    lines = explain(COMPILED, request(source_ip="garbage"))
    assert (
        "allow rule 'office': no match: evaluation error: "
        "'garbage' does not appear to be an IPv4 or IPv6 address"
    ) in lines
    assert lines[-1].startswith("decision: deny")


def test_explain_lists_step_up_rules_between_deny_and_allow_rules() -> None:
    """Step-up rules are traced after deny rules and before allow rules."""
    compiled = compile_policies(
        "t1",
        [
            AppPolicy(
                "settlement",
                (
                    Rule("read", groups=frozenset({"ops"})),
                    Rule("webauthn", effect=Effect.STEP_UP, mfa_methods=frozenset({"webauthn"})),
                ),
            )
        ],
    )
    lines = explain(compiled, request())
    assert lines[1] == (
        "step_up rule 'webauthn': matches, but requires WebAuthn; your last MFA was TOTP 13 h ago"
    )
    assert lines[2] == "allow rule 'read': matches"
    assert lines[-1].startswith("decision: step_up by rule 'webauthn': Requires WebAuthn;")
    assert [trace.rule for trace in considered(compiled, request())] == ["webauthn", "read"]
