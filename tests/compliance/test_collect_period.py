"""The evidence period: ``ComplianceService.collect(days=N)`` measures admin actions of the
last N days only, and the report passes ``--period-days`` through to it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from menshen.compliance.model import Outcome
from menshen.compliance.service import COLLECTED, ComplianceService
from menshen.errors import InvalidInput
from menshen.events.bus import EventBus
from menshen.events.model import AuditEvent, Kind
from menshen.events.writer import AuditWriter
from menshen.settings import Settings
from menshen.store.records import TenantRecord
from menshen.store.sql import SqlStore
from menshen.testing import FixedClock

AT = datetime(2026, 11, 2, 8, 30, tzinfo=UTC)
CHECK = "identity.admin_actions_with_mfa"


@pytest.fixture
def service(store: SqlStore, tmp_path: Path) -> ComplianceService:
    """A tenant whose only admin action, 20 days ago, came from a session without MFA."""
    store.add_tenant(TenantRecord(id="t1", name="Formosa Pay", created_at=AT - timedelta(days=90)))
    old = AT - timedelta(days=20)
    AuditWriter(store, EventBus(), FixedClock(old)).write_now(
        [
            AuditEvent(
                tenant_id="t1",
                kind=Kind.ADMIN_CHANGE,
                outcome="success",
                at=old,
                actor="alice",
                subject="settlement",
                reason="policy.edit",
            )
        ]
    )
    settings = Settings(data_dir=tmp_path, database_url=None, tenant="t1")
    return ComplianceService(store, settings, FixedClock(AT))


def test_a_period_that_excludes_an_old_admin_action_changes_the_evidence(
    service: ComplianceService,
) -> None:
    """Thirty days see the action taken without MFA (fail); seven days see none."""
    month = service.collect("t1", days=30)[CHECK]
    week = service.collect("t1", days=7)[CHECK]
    assert month.outcome is Outcome.FAIL
    assert month.data["actions"] == 1
    assert week.outcome is Outcome.NOT_APPLICABLE


def test_the_collection_audit_keeps_the_period(service: ComplianceService, store: SqlStore) -> None:
    """The audit event of a measurement says over how many days it was taken."""
    service.collect("t1", days=7)
    details = [r.details for r in store.tenant("t1").audit.iterate() if r.kind == COLLECTED]
    assert details[-1]["period_days"] == 7


@pytest.mark.parametrize("days", [0, -3, 3661])
def test_a_period_out_of_range_is_refused_and_nothing_stored(
    service: ComplianceService, store: SqlStore, days: int
) -> None:
    """Less than a day, or more than ten years: InvalidInput, no evidence stored."""
    with pytest.raises(InvalidInput, match="period"):
        service.collect("t1", days=days)
    assert not store.tenant("t1").compliance_evidence.latest()
