"""Every collector on fakes: the well-run firm passes each check, and one change fails it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import timedelta

import pytest

from menshen.compliance.checks import CHECKS
from menshen.compliance.collect import collect_one
from menshen.compliance.collectors import COLLECTORS
from menshen.compliance.model import Outcome
from menshen.compliance.sources import (
    AccessLogFacts,
    AdminAction,
    AppFacts,
    ChainFacts,
    ClientFacts,
    CredentialFacts,
    DeviceFacts,
    GroupFacts,
    ListenerFacts,
    LockoutFacts,
    PasswordFacts,
    PolicyTestFacts,
    PostureFacts,
    SessionFacts,
)
from menshen.inventory.model import ObservedFlow
from tests.compliance.collectors.fakes import (
    AT,
    CTX,
    STRONG,
    VENDOR,
    FakeSources,
    firm,
    user,
)

Change = Callable[[FakeSources], FakeSources]
LATER = replace(CTX, at=AT + timedelta(days=200), period_start=AT + timedelta(days=170))

OPEN_DB = """---
apiVersion: menshen.dev/v1
kind: Segmentation
metadata: {name: opened}
spec:
  ruleSets:
    - name: opened
      rules:
        - {id: OPEN-1, from: [contractors], to: [db], ports: [tcp/1-65535]}
"""
MONITORED_DB = """---
apiVersion: menshen.dev/v1
kind: Segmentation
metadata: {name: watched}
spec:
  ruleSets:
    - {name: watch, mode: monitor, scope: [db]}
"""


def _apps(change: Callable[[AppFacts], AppFacts]) -> Change:
    return lambda s: replace(s, apps_=[change(app) for app in s.apps_])


def _rules(**fields: object) -> Change:
    def change(app: AppFacts) -> AppFacts:
        return replace(app, rules=tuple(replace(rule, **fields) for rule in app.rules))  # type: ignore[arg-type]

    return _apps(change)


FAILS: dict[str, tuple[Change, Outcome]] = {
    "identity.mfa_enrolled": (
        lambda s: replace(s, users_=[*s.users_, user("eve", "finance", mfa=())]),
        Outcome.PARTIAL,
    ),
    "identity.phishing_resistant_mfa": (
        lambda s: replace(s, users_=[user(u.username, *u.groups, mfa=("totp",)) for u in s.users_]),
        Outcome.FAIL,
    ),
    "identity.mfa_required_restricted_apps": (
        lambda s: replace(
            _rules(mfa=False)(s), groups_=[GroupFacts(g.name, False) for g in s.groups_]
        ),
        Outcome.FAIL,
    ),
    "identity.phishing_resistant_admin": (_rules(mfa_methods=frozenset()), Outcome.FAIL),
    "identity.admin_actions_with_mfa": (
        lambda s: replace(
            s,
            actions=[
                *s.actions,
                AdminAction(AT - timedelta(days=1), "mei", "admin.change", "session", False),
            ],
        ),
        Outcome.FAIL,
    ),
    "identity.stale_accounts": (
        lambda s: replace(
            s, users_=[replace(u, last_sign_in=AT - timedelta(days=200)) for u in s.users_]
        ),
        Outcome.FAIL,
    ),
    "identity.lockout_policy": (
        lambda s: replace(s, lockout_=LockoutFacts((timedelta(0),) * 10, timedelta(minutes=15))),
        Outcome.FAIL,
    ),
    "identity.lockout_duration_pci": (
        lambda s: replace(
            s,
            lockout_=LockoutFacts(
                tuple(timedelta(0) if n < 5 else timedelta(minutes=15) for n in range(1, 11)),
                timedelta(minutes=15),
            ),
        ),
        Outcome.FAIL,
    ),
    "identity.password_policy": (
        lambda s: replace(s, passwords_=PasswordFacts(8, "argon2id", 19456, 2)),
        Outcome.FAIL,
    ),
    "identity.central_idp": (lambda s: replace(s, providers_=[]), Outcome.FAIL),
    "identity.session_reauthentication": (
        lambda s: replace(
            _rules(mfa_max_age=timedelta(hours=12))(s),
            session_=SessionFacts(timedelta(hours=1), timedelta(hours=12)),
        ),
        Outcome.FAIL,
    ),
    "device.managed_required_restricted_apps": (_rules(device_trust=None), Outcome.FAIL),
    "device.enrolled_and_healthy": (
        lambda s: replace(s, devices_=[DeviceFacts("d2", "bob", "managed", "registered")]),
        Outcome.FAIL,
    ),
    "device.posture_rules": (
        lambda s: replace(s, posture_=PostureFacts(False, False, timedelta(hours=24))),
        Outcome.FAIL,
    ),
    "network.default_deny": (lambda s: replace(s, seg=firm(OPEN_DB)), Outcome.FAIL),
    "network.segmentation_drift": (
        lambda s: replace(s, observed=[ObservedFlow("laptop-c", "settle-db", 5432)]),
        Outcome.FAIL,
    ),
    "network.contractor_reach_restricted": (lambda s: replace(s, seg=firm(OPEN_DB)), Outcome.FAIL),
    # unchanged firm, measured after EXC-1 expired (see LATER)
    "network.exceptions_owned_and_expiring": (lambda s: s, Outcome.FAIL),
    "network.encrypted_transport": (
        lambda s: replace(s, listeners_=[ListenerFacts("0.0.0.0:80", False, False)]),
        Outcome.FAIL,
    ),
    "app.policy_coverage": (
        lambda s: replace(
            s, apps_=[*s.apps_, AppFacts("wiki"), AppFacts("crm"), AppFacts("bi"), AppFacts("hr")]
        ),
        Outcome.FAIL,
    ),
    "app.least_privilege": (
        _rules(groups=frozenset(), users=frozenset()),
        Outcome.FAIL,
    ),
    "app.dynamic_conditions": (_rules(attributes=frozenset()), Outcome.FAIL),
    "app.risk_aware_policy": (_rules(refuses_risk=False), Outcome.FAIL),
    "app.policy_tested": (
        lambda s: replace(s, tests=PolicyTestFacts(6, ("bob cannot reach settlement",))),
        Outcome.FAIL,
    ),
    "data.inventory_classified": (
        lambda s: replace(s, seg=firm(_UNCLASSIFIED)),
        Outcome.PARTIAL,
    ),
    "data.flows_declared": (
        lambda s: replace(s, observed=[ObservedFlow("laptop-1", "settle-db", 5432)]),
        Outcome.FAIL,
    ),
    "visibility.audit_chain_verified": (
        lambda s: replace(s, chain=ChainFacts(False, 120, 57, "row hash does not match")),
        Outcome.FAIL,
    ),
    "visibility.access_logged": (
        lambda s: replace(s, access=AccessLogFacts(frozenset({"s1", "s2"}), frozenset({"s1"}), 4)),
        Outcome.FAIL,
    ),
    "visibility.monitoring_active": (
        lambda s: replace(s, monitor_=replace(s.monitor_, engine=False)),
        Outcome.FAIL,
    ),
    "automation.response_playbooks": (
        lambda s: replace(s, monitor_=replace(s.monitor_, playbooks=())),
        Outcome.FAIL,
    ),
    "automation.time_to_detect": (
        lambda s: replace(
            s,
            incidents_=[
                replace(i, first_event_at=i.detected_at - timedelta(hours=3)) for i in s.incidents_
            ],
        ),
        Outcome.FAIL,
    ),
    "automation.time_to_respond": (
        lambda s: replace(s, incidents_=[replace(i, responded_at=None) for i in s.incidents_]),
        Outcome.FAIL,
    ),
    "machine.credentials_expiring": (
        lambda s: replace(
            s,
            clients=[
                ClientFacts(
                    "bank-b",
                    "ops",
                    credentials=(CredentialFacts("c9", "api_key", AT - timedelta(days=400)),),
                )
            ],
        ),
        Outcome.FAIL,
    ),
    "vendor.remote_access_controlled": (
        _apps(
            lambda a: replace(
                a, rules=tuple(replace(r, device_trust=None) if r is VENDOR else r for r in a.rules)
            )
        ),
        Outcome.FAIL,
    ),
    "vendor.external_users_scoped": (
        lambda s: replace(
            s,
            apps_=[
                *s.apps_,
                AppFacts("intranet", rules=(replace(STRONG, name="anyone", groups=frozenset()),)),
            ],
        ),
        Outcome.FAIL,
    ),
}

_UNCLASSIFIED = """---
apiVersion: menshen.dev/v1
kind: Inventory
metadata: {name: more}
spec:
  assets:
    - {id: crm-db, kind: database, addresses: [10.40.0.9]}
"""


def test_the_registry_covers_every_check_exactly() -> None:
    """One collector per check id, and no collector for an unknown id."""
    assert set(COLLECTORS) == set(CHECKS)
    assert set(FAILS) == set(CHECKS)


@pytest.mark.parametrize("check_id", sorted(CHECKS))
def test_each_check_passes_on_a_well_run_firm(check_id: str) -> None:
    """The fake firm does everything right: every check passes, with no remedy."""
    evidence = collect_one(check_id, FakeSources(), CTX)
    assert evidence.outcome is Outcome.PASS, evidence.summary.en
    assert evidence.remedy is None
    assert evidence.error is None
    assert evidence.collected_at == AT
    assert evidence.summary.en
    assert evidence.summary.zh_tw


@pytest.mark.parametrize("check_id", sorted(CHECKS))
def test_each_check_fails_when_its_part_of_the_firm_breaks(check_id: str) -> None:
    """One change to the firm turns the check from pass to fail (or partial), with a remedy."""
    change, expected = FAILS[check_id]
    sources = change(FakeSources())
    ctx = LATER if check_id == "network.exceptions_owned_and_expiring" else CTX
    evidence = collect_one(check_id, sources, ctx)
    assert evidence.outcome is expected, evidence.summary.en
    assert evidence.remedy is not None
    assert evidence.remedy.en
    assert evidence.remedy.zh_tw
    assert evidence.error is None
