"""collect_all: every check measured; a failing source or collector marks only its checks
not assessed, with the error; an empty firm gets clear reasons and no pass."""

from __future__ import annotations

import logging

import pytest

from menshen.compliance.checks import CHECKS
from menshen.compliance.collect import collect_all
from menshen.compliance.collectors import COLLECTORS
from menshen.compliance.model import Evidence, Outcome
from menshen.compliance.sources import (
    AccessLogFacts,
    ChainFacts,
    CollectContext,
    EvidenceSources,
    MonitorFacts,
    PolicyTestFacts,
)
from tests.compliance.collectors.fakes import CTX, FakeSources


def test_every_check_is_measured_in_catalogue_order() -> None:
    """One evidence per check id, keyed and ordered as CHECKS."""
    evidence = collect_all(FakeSources(), CTX)
    assert list(evidence) == list(CHECKS)
    assert all(item.check_id == check for check, item in evidence.items())


def test_a_failing_source_marks_its_checks_not_assessed_with_the_error(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The apps source is down: app checks are not assessed, the others still pass."""
    with caplog.at_level(logging.WARNING):
        evidence = collect_all(FakeSources(broken=frozenset({"apps"})), CTX)
    failed = evidence["identity.mfa_required_restricted_apps"]
    assert failed.outcome is Outcome.NOT_ASSESSED
    assert failed.error == "RuntimeError: source apps is down"
    assert "source apps is down" in failed.summary.en
    assert "source apps is down" in failed.summary.zh_tw
    assert evidence["app.policy_coverage"].outcome is Outcome.NOT_ASSESSED
    assert evidence["identity.mfa_enrolled"].outcome is Outcome.PASS
    assert evidence["visibility.audit_chain_verified"].outcome is Outcome.PASS
    assert "collector app.policy_coverage failed" in caplog.text


def test_a_collector_that_raises_never_passes() -> None:
    """A bug in one collector: its check is not assessed, the rest are untouched."""

    def broken(sources: EvidenceSources, ctx: CollectContext) -> Evidence:
        raise ZeroDivisionError("division by zero")

    collectors = {**COLLECTORS, "identity.lockout_policy": broken}
    evidence = collect_all(FakeSources(), CTX, collectors)
    assert evidence["identity.lockout_policy"].outcome is Outcome.NOT_ASSESSED
    assert evidence["identity.lockout_policy"].error == "ZeroDivisionError: division by zero"
    assert evidence["identity.password_policy"].outcome is Outcome.PASS


def test_a_check_without_a_collector_is_not_assessed() -> None:
    """A registry missing a check gives that check not assessed, not a silent gap."""
    collectors = {k: v for k, v in COLLECTORS.items() if k != "app.policy_tested"}
    evidence = collect_all(FakeSources(), CTX, collectors)
    assert evidence["app.policy_tested"].outcome is Outcome.NOT_ASSESSED
    assert evidence["app.policy_tested"].error == "no collector measures this check"


def test_an_empty_firm_gets_reasons_and_not_a_single_pass() -> None:
    """No users, apps, model, devices, clients or audit rows: nothing passes, all explained."""
    empty = FakeSources(
        users_=[],
        groups_=[],
        apps_=[],
        listeners_=[],
        devices_=[],
        providers_=[],
        seg=None,
        observed=None,
        chain=ChainFacts(True, 0),
        actions=[],
        access=AccessLogFacts(frozenset(), frozenset(), 0),
        monitor_=MonitorFacts(True, 0, False),
        incidents_=[],
        clients=[],
        tests=PolicyTestFacts(0),
    )
    evidence = collect_all(empty, CTX)
    for check, item in evidence.items():
        assert item.summary.en, check
        assert item.summary.zh_tw, check
        assert item.outcome is not Outcome.PASS, (check, item.summary.en)
    unmeasured = {Outcome.NOT_APPLICABLE, Outcome.NOT_ASSESSED}
    assert evidence["identity.mfa_enrolled"].outcome in unmeasured
    assert evidence["app.policy_coverage"].outcome is Outcome.NOT_ASSESSED
    assert evidence["network.default_deny"].outcome is Outcome.NOT_ASSESSED
    assert evidence["visibility.audit_chain_verified"].outcome is Outcome.NOT_ASSESSED
