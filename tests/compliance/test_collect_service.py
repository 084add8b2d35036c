"""ComplianceService: declarations (justified, audited, shown as declared), the firm profile,
and stored evidence read back exactly."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from menshen.compliance.model import Outcome
from menshen.compliance.service import DECLARED, WITHDRAWN, ComplianceService
from menshen.errors import InvalidInput
from menshen.settings import Settings, TenantOptions
from menshen.settings_compliance import ComplianceOptions
from menshen.store.records import TenantRecord
from menshen.store.sql import SqlStore
from menshen.testing import FixedClock
from tests.compliance.collectors.fakes import FakeSources

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@pytest.fixture
def service(store: SqlStore, tmp_path: Path) -> ComplianceService:
    store.add_tenant(TenantRecord(id="t1", name="Formosa Pay", created_at=START))
    options = TenantOptions(compliance=ComplianceOptions(card_data=True, scope="payments"))
    settings = Settings(data_dir=tmp_path, database_url=None, tenant="t1", tenants={"t1": options})
    return ComplianceService(store, settings, FixedClock(START))


def test_a_declaration_is_kept_with_its_attachment_digest_and_audited(
    service: ComplianceService, store: SqlStore
) -> None:
    """Declared with a file: listed as declared, the digest kept, the bytes returned, audited."""
    body = b"vendor SOC 2 report"
    declared = service.declare(
        "t1",
        "bank-vendor.outsourcing.3",
        outcome=Outcome.PASS,
        justification="  Covered by the vendor's SOC 2 report for 2025.  ",
        by="mei",
        attachment=("soc2.pdf", body),
    )
    assert declared.justification == "Covered by the vendor's SOC 2 report for 2025."
    assert declared.attachment_sha256 == hashlib.sha256(body).hexdigest()
    listed = service.declarations("t1")
    assert listed == {"bank-vendor.outsourcing.3": declared}
    assert service.attachment("t1", "bank-vendor.outsourcing.3") == ("soc2.pdf", body)
    audit = [r for r in store.tenant("t1").audit.iterate() if r.kind == DECLARED]
    assert [(r.actor, r.subject) for r in audit] == [("mei", "bank-vendor.outsourcing.3")]


@pytest.mark.parametrize(
    ("outcome", "justification", "expires"),
    [
        (Outcome.PASS, "   ", None),
        (Outcome.NOT_ASSESSED, "handled elsewhere", None),
        (Outcome.PASS, "handled elsewhere", START - timedelta(days=1)),
    ],
)
def test_a_bad_declaration_is_refused_and_nothing_is_written(
    service: ComplianceService,
    store: SqlStore,
    outcome: Outcome,
    justification: str,
    expires: datetime | None,
) -> None:
    """No justification, a not-assessed declaration, an expiry in the past: InvalidInput."""
    with pytest.raises(InvalidInput):
        service.declare(
            "t1", "c1", outcome=outcome, justification=justification, by="mei", expires_at=expires
        )
    assert service.declarations("t1") == {}
    assert not [r for r in store.tenant("t1").audit.iterate() if r.kind == DECLARED]


def test_withdrawing_a_declaration_is_audited_once(
    service: ComplianceService, store: SqlStore
) -> None:
    """Withdraw removes it (True, audited); a second withdraw finds nothing."""
    service.declare("t1", "c1", outcome=Outcome.NOT_APPLICABLE, justification="no cards", by="mei")
    assert service.withdraw("t1", "c1", by="mei") is True
    assert service.withdraw("t1", "c1", by="mei") is False
    assert service.declarations("t1") == {}
    kinds = [r.kind for r in store.tenant("t1").audit.iterate()]
    assert kinds.count(WITHDRAWN) == 1


def test_the_profile_comes_from_the_settings_and_the_tenant(service: ComplianceService) -> None:
    """Name from the tenant, flags and scope from tenants.t1.compliance; no clients yet."""
    profile = service.profile("t1")
    assert profile.name == "Formosa Pay"
    assert profile.card_data is True
    assert profile.e_payment is False
    assert profile.scope == "payments"
    assert profile.machine_clients is False
    with pytest.raises(InvalidInput):
        service.profile("nobody")


def test_stored_evidence_reads_back_as_measured(service: ComplianceService) -> None:
    """latest_evidence returns what collect measured, field for field."""
    measured = service.collect("t1", sources=FakeSources())
    latest = service.latest_evidence("t1")
    assert latest == dict(sorted(measured.items()))
    assert latest["identity.mfa_enrolled"].collected_at == START


def test_collecting_for_an_unknown_tenant_is_bad_input(service: ComplianceService) -> None:
    """No such tenant: InvalidInput, nothing measured."""
    with pytest.raises(InvalidInput, match="unknown tenant"):
        service.collect("nobody", sources=FakeSources())


def test_the_period_must_be_at_least_a_day(service: ComplianceService) -> None:
    """A period of zero days is bad input."""
    with pytest.raises(InvalidInput):
        service.context("t1", days=0)
