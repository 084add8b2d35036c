"""ReportService on the SQL store (SQLite and PostgreSQL): a signed report is recorded, the
next one has a trend, and bad input records nothing."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping

import pytest

from menshen.assertions.keyring import Keyring
from menshen.compliance.model import Catalog, Declaration, Evidence, FirmProfile, Lang
from menshen.compliance.report.service import Format, ReportService, parse_lang
from menshen.compliance.report.sign import verify_bytes
from menshen.crypto import SecretBox
from menshen.errors import InvalidInput
from menshen.store.records import UserRecord
from menshen.store.sql import SqlTenantStore
from menshen.testing import FixedClock

from .conftest import AT, DECLARATIONS, EVIDENCE, FRAMEWORK, PROFILE

CATALOG = Catalog(frameworks={FRAMEWORK.id: FRAMEWORK})


class FakeCompliance:
    """Evidence as a collector would measure it, without a live system."""

    def __init__(self) -> None:
        self.collected = 0
        self.periods: list[int] = []

    def collect(self, tenant_id: str, *, days: int = 30) -> Mapping[str, Evidence]:
        self.collected += 1
        self.periods.append(days)
        return EVIDENCE

    def declarations(self, tenant_id: str) -> Mapping[str, Declaration]:
        return DECLARATIONS

    def profile(self, tenant_id: str) -> FirmProfile:
        return dataclasses.replace(PROFILE, tenant_id=tenant_id)


def _service(tenant_store: SqlTenantStore, clock: FixedClock) -> tuple[ReportService, Keyring]:
    keyring = Keyring(tenant_store, SecretBox(bytes(range(32))), clock)
    keyring.ensure_key()
    ids = iter(f"report-{n}" for n in range(1, 10))
    service = ReportService(
        CATALOG,
        FakeCompliance(),
        tenant_store,
        keyring.active_signing_key,
        clock,
        report_id=lambda: next(ids),
    )
    return service, keyring


def _add_user(tenant_store: SqlTenantStore) -> None:
    tenant_store.users.add(
        UserRecord(
            tenant_id=tenant_store.tenant_id,
            id="u1",
            username="alice",
            email="alice@formosa-pay.example",
            display_name="Alice",
            password_hash=None,
            disabled=False,
            created_at=AT,
            updated_at=AT,
        )
    )


def test_report_is_signed_recorded_and_the_next_has_a_trend(
    tenant_store: SqlTenantStore,
) -> None:
    """The record keeps hash, signature and summary; the second report compares with it."""
    _add_user(tenant_store)
    clock = FixedClock(AT)
    service, keyring = _service(tenant_store, clock)
    first = service.produce(FRAMEWORK.id, Lang.EN, Format.JSON, period_days=7)
    assert verify_bytes(first.body, keyring.jwks()).content_sha256 == first.record.content_sha256
    stored = tenant_store.compliance_reports.latest(FRAMEWORK.id)
    assert stored is not None
    assert stored.id == "report-1"
    assert stored.signature == first.signature.jws
    assert stored.key_id == keyring.active_signing_key().kid
    assert (stored.period_end - stored.period_start).days == 7
    assert first.document.trend.first
    clock.advance(3600)
    second = service.produce(FRAMEWORK.id, Lang.ZH_TW, Format.HTML)
    assert not second.document.trend.first
    assert second.document.trend.unchanged  # same evidence: nothing moved
    assert second.detached is not None
    assert verify_bytes(second.body, keyring.jwks(), detached=second.detached).file_sha256
    latest = tenant_store.compliance_reports.latest(FRAMEWORK.id)
    assert latest is not None
    assert latest.id == "report-2"


def test_oscal_report_gets_a_detached_signature(tenant_store: SqlTenantStore) -> None:
    """The OSCAL file is signed like HTML and PDF, with a .sig over its bytes."""
    _add_user(tenant_store)
    service, keyring = _service(tenant_store, FixedClock(AT))
    made = service.produce(FRAMEWORK.id, Lang.EN, Format.OSCAL)
    assert "assessment-results" in json.loads(made.body)
    assert made.detached is not None
    verify_bytes(made.body, keyring.jwks(), detached=made.detached)


def test_empty_tenant_is_refused_and_nothing_is_recorded(tenant_store: SqlTenantStore) -> None:
    """No users and no apps: a clear error, and no report recorded."""
    service, _ = _service(tenant_store, FixedClock(AT))
    with pytest.raises(InvalidInput, match="no users and no apps"):
        service.produce(FRAMEWORK.id, Lang.EN, Format.JSON)
    assert tenant_store.compliance_reports.latest(FRAMEWORK.id) is None


@pytest.mark.parametrize(
    ("framework", "days", "message"),
    [("fsc-zta", 30, "unknown framework 'fsc-zta' \\(known: zt-test\\)"), ("zt-test", 0, "1 to")],
)
def test_bad_framework_or_period_records_nothing(
    tenant_store: SqlTenantStore, framework: str, days: int, message: str
) -> None:
    """An unknown framework names the known ones; an empty period is refused."""
    _add_user(tenant_store)
    service, _ = _service(tenant_store, FixedClock(AT))
    with pytest.raises(InvalidInput, match=message):
        service.produce(framework, Lang.EN, Format.JSON, period_days=days)
    assert tenant_store.compliance_reports.latest("zt-test") is None


def test_languages_are_parsed_leniently_and_others_refused() -> None:
    """zh-TW in any case or with an underscore is accepted; anything else is refused."""
    assert parse_lang("zh_tw") is Lang.ZH_TW
    assert parse_lang(" EN ") is Lang.EN
    with pytest.raises(InvalidInput, match="known: en, zh-TW"):
        parse_lang("zh-CN")


def test_the_report_period_governs_the_evidence_period(tenant_store: SqlTenantStore) -> None:
    """--period-days reaches the measurement: the evidence covers the report's period."""
    _add_user(tenant_store)
    clock = FixedClock(AT)
    keyring = Keyring(tenant_store, SecretBox(bytes(range(32))), clock)
    keyring.ensure_key()
    compliance = FakeCompliance()
    service = ReportService(CATALOG, compliance, tenant_store, keyring.active_signing_key, clock)
    service.produce(FRAMEWORK.id, Lang.EN, Format.JSON, period_days=7)
    service.produce(FRAMEWORK.id, Lang.EN, Format.JSON, period_days=90)
    assert compliance.periods == [7, 90]
