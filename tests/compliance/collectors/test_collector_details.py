"""Collector details: figures in both languages, remedies, bounded data, and the cases where
there is nothing to measure (never a pass)."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from menshen.compliance.collect import collect_one
from menshen.compliance.collectors.common import MAX_ROWS
from menshen.compliance.live_apps import rule_facts
from menshen.compliance.model import Outcome
from menshen.compliance.sources import AppFacts, MonitorFacts
from menshen.policy.conditions import AllOf, AnyOf, DeviceTrust, Not, RiskAbove, TimeWindow, Use
from menshen.policy.model import Effect, Rule
from tests.compliance.collectors.fakes import ADMIN, CTX, FakeSources, user


def test_mfa_share_is_stated_with_its_figures_in_both_languages() -> None:
    """8 of 10 users with MFA: partial, the two named in the data, the figures in the text."""
    users = [user(f"u{n}", "finance") for n in range(8)]
    users += [user("eve", "finance", mfa=()), user("mallory", "finance", mfa=())]
    evidence = collect_one("identity.mfa_enrolled", FakeSources(users_=users), CTX)
    assert evidence.outcome is Outcome.PARTIAL
    assert evidence.summary.en == "8 of 10 active users have MFA"
    assert evidence.summary.zh_tw == "10 位在職使用者中有 8 位已啟用多因子驗證"
    assert evidence.value == 0.8
    assert evidence.affected == 2
    rows = evidence.data["without_mfa"]
    assert isinstance(rows, dict)
    listed = rows["rows"]
    assert isinstance(listed, list)
    assert [row["user"] for row in listed if isinstance(row, dict)] == ["eve", "mallory"]


def test_the_admin_app_remedy_names_webauthn_the_app_and_who_is_affected() -> None:
    """A console open with TOTP: require WebAuthn on console, 3 administrators affected."""
    weak = replace(ADMIN, mfa_methods=frozenset({"totp"}))
    sources = FakeSources(
        users_=[user(name, "admins") for name in ("mei", "li", "wu")] + [user("x", "finance")],
        apps_=[AppFacts("console", "confidential", rules=(weak,))],
    )
    evidence = collect_one("identity.phishing_resistant_admin", sources, CTX)
    assert evidence.outcome is Outcome.FAIL
    assert evidence.remedy is not None
    assert evidence.remedy.en == "require WebAuthn on console (rules admins): 3 users affected"
    assert evidence.remedy.zh_tw == "於 console（規則 admins）要求 WebAuthn：影響 3 位使用者"
    assert evidence.affected == 3


def test_data_behind_a_figure_is_bounded_and_counted() -> None:
    """120 users without MFA: 50 rows kept, the count says 120."""
    users = [user(f"user{n:03}", "finance", mfa=()) for n in range(120)]
    evidence = collect_one("identity.mfa_enrolled", FakeSources(users_=users), CTX)
    rows = evidence.data["without_mfa"]
    assert isinstance(rows, dict)
    assert len(rows["rows"]) == MAX_ROWS  # type: ignore[arg-type]
    assert rows["count"] == 120
    assert rows["truncated"] is True


def test_no_restricted_app_is_not_applicable_with_the_reason() -> None:
    """Only internal apps: the restricted-app checks say so instead of passing."""
    sources = FakeSources(apps_=[AppFacts("wiki", "internal", rules=(ADMIN,))])
    for check in (
        "identity.mfa_required_restricted_apps",
        "device.managed_required_restricted_apps",
        "app.least_privilege",
    ):
        evidence = collect_one(check, sources, CTX)
        assert evidence.outcome is Outcome.NOT_APPLICABLE
        assert "restricted" in evidence.summary.en
        assert evidence.remedy is None


def test_missing_parts_of_the_system_are_not_assessed_with_why() -> None:
    """No registry, no observed flows, no model, monitor off: not assessed, never pass."""
    cases = {
        "machine.credentials_expiring": FakeSources(clients=None),
        "network.segmentation_drift": FakeSources(observed=None),
        "network.default_deny": FakeSources(seg=None),
        "automation.time_to_detect": FakeSources(monitor_=MonitorFacts(False, 0, False)),
    }
    for check, sources in cases.items():
        evidence = collect_one(check, sources, CTX)
        assert evidence.outcome is Outcome.NOT_ASSESSED, check
        assert evidence.summary.en


def test_nothing_to_measure_is_not_applicable() -> None:
    """No machine clients, no incidents, no exceptions to judge: not applicable."""
    assert (
        collect_one("machine.credentials_expiring", FakeSources(clients=[]), CTX).outcome
        is Outcome.NOT_APPLICABLE
    )
    assert (
        collect_one("automation.time_to_respond", FakeSources(incidents_=[]), CTX).outcome
        is Outcome.NOT_APPLICABLE
    )


def test_a_rule_demands_device_trust_only_when_every_branch_does() -> None:
    """Trust under anyOf or not is not demanded; under allOf or a named block it is."""
    blocks = {"managed": DeviceTrust("managed")}
    either = Rule("r1", when=AnyOf((DeviceTrust("managed"), TimeWindow(frozenset({0}), 0, 60))))
    both = Rule("r2", when=AllOf((Use("managed"), TimeWindow(frozenset({0}), 0, 60))))
    negated = Rule("r3", when=Not(DeviceTrust("managed")))
    assert rule_facts(either, blocks).device_trust is None
    assert rule_facts(either, blocks).attributes == {"device", "time"}
    assert rule_facts(both, blocks).device_trust == "managed"
    assert rule_facts(negated, blocks).device_trust is None


def test_a_rule_refuses_high_risk_by_a_deny_or_by_allowing_only_below() -> None:
    """deny when risk > 70, or allow when not risk > 70: both count as risk-aware."""
    deny = Rule("d", effect=Effect.DENY, when=RiskAbove(70))
    allow = Rule("a", when=Not(RiskAbove(70)))
    plain = Rule("p", mfa_required=True, mfa_max_age=timedelta(hours=1))
    assert rule_facts(deny, {}).refuses_risk
    assert rule_facts(allow, {}).refuses_risk
    facts = rule_facts(plain, {})
    assert not facts.refuses_risk
    assert facts.mfa
    assert facts.mfa_max_age == timedelta(hours=1)
