"""Evidence from a real store (SQLite and PostgreSQL): the issue's moves. Turn MFA off for a
group and back, open a flow to the database and close it; each check moves pass -> fail ->
pass and the history keeps every step with its time."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest

from menshen.compliance.checks import CHECKS
from menshen.compliance.model import Outcome
from menshen.compliance.service import COLLECTED, ComplianceService
from menshen.manifest.apply import apply_manifests
from menshen.manifest.parse import parse_manifests
from menshen.segmentation import repository
from menshen.settings import Settings
from menshen.store.records import ConfigObjectRecord, TenantRecord, TotpRecord, UserRecord
from menshen.store.sql import SqlStore, SqlTenantStore
from menshen.testing import FixedClock
from tests.compliance.collectors.fakes import firm

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
HASH = "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNo"

MANIFEST = """\
apiVersion: menshen.dev/v1
kind: Group
metadata: {name: finance}
spec: {description: Settlement staff, mfaRequired: true}
---
apiVersion: menshen.dev/v1
kind: Group
metadata: {name: contractors}
spec: {description: Outside contractors, mfaRequired: true}
---
apiVersion: menshen.dev/v1
kind: App
metadata: {name: settlement}
spec: {title: Settlement admin, hosts: [pay.example], pathPrefix: /, upstream: "http://10.30.0.1:8080"}
---
apiVersion: menshen.dev/v1
kind: App
metadata: {name: wiki}
spec: {title: Wiki, hosts: [wiki.example], pathPrefix: /, upstream: "http://10.30.0.9:8080"}
---
apiVersion: menshen.dev/v1
kind: Policy
metadata: {name: settlement-access}
spec:
  app: settlement
  rules:
    - name: finance-only
      groups: [finance]
---
apiVersion: menshen.dev/v1
kind: Policy
metadata: {name: wiki-access}
spec:
  app: wiki
  rules:
    - name: staff-and-contractors
      groups: [finance, contractors]
"""

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

PEOPLE = (("alice", "finance"), ("carol", "finance"), ("bob", "contractors"))


def _seed(store: SqlStore, clock: FixedClock) -> SqlTenantStore:
    store.add_tenant(TenantRecord(id="t1", name="Formosa Test", created_at=START))
    tenant = store.tenant("t1")
    apply_manifests(tenant, parse_manifests(MANIFEST, "<test>"), clock=clock)
    for username, group in PEOPLE:
        tenant.users.add(
            UserRecord(
                "t1",
                f"id-{username}",
                username,
                f"{username}@x.example",
                username,
                HASH,
                False,
                START,
                START,
            )
        )
        found = tenant.groups.by_name(group)
        assert found is not None
        tenant.groups.add_member(found.id, f"id-{username}")
        _enrol(tenant, username)
    repository.save(tenant, firm(), clock=clock)
    return tenant


def _enrol(tenant: SqlTenantStore, username: str) -> None:
    tenant.credentials.put_totp(TotpRecord("t1", f"id-{username}", b"sealed", True, None, START))


def _mfa_for_finance(tenant: SqlTenantStore, on: bool) -> None:
    group = tenant.groups.by_name("finance")
    assert group is not None
    tenant.groups.update(replace(group, mfa_required=on))
    for username, name in PEOPLE:
        if name != "finance":
            continue
        if on:
            _enrol(tenant, username)
        else:
            tenant.credentials.delete_totp(f"id-{username}")


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(START)


@pytest.fixture
def service(store: SqlStore, clock: FixedClock, tmp_path: Path) -> ComplianceService:
    settings = Settings(data_dir=tmp_path, database_url=None, tenant="t1")
    return ComplianceService(store, settings, clock)


def test_turning_mfa_off_for_a_group_fails_the_mfa_checks_until_restored(
    store: SqlStore, clock: FixedClock, service: ComplianceService
) -> None:
    """finance loses MFA: restricted-app MFA and enrolment fail; restoring passes again."""
    tenant = _seed(store, clock)
    checks = ("identity.mfa_required_restricted_apps", "identity.mfa_enrolled")
    steps = []
    for on in (True, False, True):
        _mfa_for_finance(tenant, on)
        evidence = service.collect("t1")
        steps.append(tuple(evidence[check].outcome for check in checks))
        clock.advance(3600)
    assert steps == [
        (Outcome.PASS, Outcome.PASS),
        (Outcome.FAIL, Outcome.FAIL),
        (Outcome.PASS, Outcome.PASS),
    ]
    history = service.history("t1", "identity.mfa_required_restricted_apps")
    assert [item.outcome for item in history] == [Outcome.PASS, Outcome.FAIL, Outcome.PASS]
    times = [item.collected_at for item in history]
    assert times == sorted(times, reverse=True)
    assert len(set(times)) == 3
    failed = history[1]
    assert failed.remedy is not None
    assert failed.remedy.en.startswith("require MFA on settlement (rules settlement-access/")
    assert failed.affected == 2


def test_opening_a_flow_to_the_database_fails_the_network_checks_until_closed(
    store: SqlStore, clock: FixedClock, service: ComplianceService
) -> None:
    """A contractor rule into the database: default deny and contractor reach fail, then pass."""
    tenant = _seed(store, clock)
    checks = ("network.contractor_reach_restricted", "network.default_deny")
    steps = []
    for model in (firm(), firm(OPEN_DB), firm()):
        repository.save(tenant, model, clock=clock, prune=True)
        evidence = service.collect("t1")
        steps.append(tuple(evidence[check].outcome for check in checks))
        clock.advance(60)
    assert steps == [
        (Outcome.PASS, Outcome.PASS),
        (Outcome.FAIL, Outcome.FAIL),
        (Outcome.PASS, Outcome.PASS),
    ]
    opened = service.history("t1", "network.contractor_reach_restricted")[1]
    assert opened.value == 1.0
    assert "OPEN-1" in (opened.remedy.en if opened.remedy else "")


def test_a_stored_policy_that_no_longer_compiles_leaves_app_checks_not_assessed(
    store: SqlStore, clock: FixedClock, service: ComplianceService
) -> None:
    """A broken stored source: its checks are not assessed with the error; others measured."""
    tenant = _seed(store, clock)
    tenant.config.put(
        ConfigObjectRecord("t1", "Policy", "broken", {"app": "wiki", "rules": "nope"}, START)
    )
    evidence = service.collect("t1")
    broken = evidence["app.policy_coverage"]
    assert broken.outcome is Outcome.NOT_ASSESSED
    assert broken.error is not None
    assert "broken" in broken.error
    assert evidence["identity.mfa_enrolled"].outcome is Outcome.PASS
    assert service.latest_evidence("t1")["app.policy_coverage"].error == broken.error


def test_an_empty_tenant_gets_reasons_and_no_pass(
    store: SqlStore, clock: FixedClock, service: ComplianceService
) -> None:
    """A tenant with nothing configured: every check explained, none passes."""
    store.add_tenant(TenantRecord(id="t1", name="Empty", created_at=START))
    evidence = service.collect("t1")
    passed = [check for check, item in evidence.items() if item.outcome is Outcome.PASS]
    assert passed == []
    assert all(item.summary.en and item.summary.zh_tw for item in evidence.values())


def test_collecting_is_audited_and_the_log_then_verifies(
    store: SqlStore, clock: FixedClock, service: ComplianceService
) -> None:
    """Each collect writes compliance.evidence_collected; the next sees a verified chain."""
    _seed(store, clock)
    service.collect("t1", by="admin")
    clock.advance(60)
    evidence = service.collect("t1", by="admin")
    rows = [r for r in store.tenant("t1").audit.iterate() if r.kind == COLLECTED]
    assert len(rows) == 2
    assert rows[0].actor == "admin"
    assert rows[0].details["checks"] == len(CHECKS)
    assert evidence["visibility.audit_chain_verified"].outcome is Outcome.PASS


def test_collecting_from_the_command_line_is_not_an_admin_action(
    store: SqlStore, clock: FixedClock, service: ComplianceService
) -> None:
    """Measuring changes nothing: a CLI collect never feeds the admin-actions check."""
    store.add_tenant(TenantRecord(id="t1", name="Empty", created_at=START))
    first = service.collect("t1", by="cli:root")
    clock.advance(60)
    second = service.collect("t1", by="cli:root")
    check = "identity.admin_actions_with_mfa"
    assert second[check].outcome is first[check].outcome
    assert second[check].outcome is not Outcome.PASS
