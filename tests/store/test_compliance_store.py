"""Compliance repositories: evidence history, declarations with attachments, report records."""

from __future__ import annotations

import hashlib
from dataclasses import replace
from datetime import timedelta

import pytest

from menshen.errors import InvalidInput
from menshen.store.compliance import (
    MAX_ATTACHMENT_BYTES,
    DeclarationRecord,
    EvidenceRecord,
    ReportRecord,
)
from menshen.store.records import TenantRecord
from menshen.store.sql import SqlStore, SqlTenantStore
from tests.store.factories import T0


def _evidence(id_: str, check: str, minutes: int, outcome: str = "pass") -> EvidenceRecord:
    return EvidenceRecord(
        tenant_id="t1",
        id=id_,
        check_id=check,
        collected_at=T0 + timedelta(minutes=minutes),
        outcome=outcome,
        summary={"en": f"{check} at {minutes}", "zh_tw": f"{check} 於 {minutes}"},
        data={"rows": [{"user": "alice"}], "count": 1},
        value=0.5,
        remedy={"en": "fix it", "zh_tw": "修正"},
        affected=3,
    )


def _declaration(**changes: object) -> DeclarationRecord:
    body = b"%PDF-1.4 signed vendor policy"
    base = DeclarationRecord(
        tenant_id="t1",
        control_id="fsc-zta.identity.1",
        outcome="pass",
        justification="Handled by the bank's HR onboarding process (ticket HR-12).",
        declared_by="admin",
        declared_at=T0,
        attachment_name="policy.pdf",
        attachment_sha256=hashlib.sha256(body).hexdigest(),
        attachment=body,
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def _report(id_: str, framework: str, minutes: int) -> ReportRecord:
    return ReportRecord(
        tenant_id="t1",
        id=id_,
        framework=framework,
        lang="zh-TW",
        format="pdf",
        created_at=T0 + timedelta(minutes=minutes),
        period_start=T0 - timedelta(days=30),
        period_end=T0,
        content_sha256="ab" * 32,
        signature="sig",
        key_id="k1",
        summary={"passed": minutes},
    )


def test_evidence_history_keeps_every_measurement_newest_first(
    tenant_store: SqlTenantStore,
) -> None:
    """Appending never replaces: history lists each measurement with its time."""
    repo = tenant_store.compliance_evidence
    repo.append([_evidence("e1", "identity.mfa_enrolled", 0)])
    repo.append([_evidence("e2", "identity.mfa_enrolled", 5, "fail")])
    history = repo.history("identity.mfa_enrolled")
    assert [item.id for item in history] == ["e2", "e1"]
    assert history[0].data == {"rows": [{"user": "alice"}], "count": 1}
    assert history[0].summary["zh_tw"] == "identity.mfa_enrolled 於 5"
    assert repo.history("identity.mfa_enrolled", limit=1)[0].id == "e2"


def test_latest_evidence_is_the_newest_row_of_each_check(tenant_store: SqlTenantStore) -> None:
    """``latest`` gives one row per check: the newest."""
    repo = tenant_store.compliance_evidence
    repo.append(
        [
            _evidence("e1", "a.one", 0),
            _evidence("e2", "a.two", 0),
            _evidence("e3", "a.one", 10, "fail"),
        ]
    )
    latest = repo.latest()
    assert {check: item.id for check, item in latest.items()} == {"a.one": "e3", "a.two": "e2"}
    assert latest["a.one"].collected_at == T0 + timedelta(minutes=10)


def test_evidence_with_an_unknown_outcome_writes_nothing(tenant_store: SqlTenantStore) -> None:
    """A batch with one bad row is refused whole."""
    repo = tenant_store.compliance_evidence
    with pytest.raises(InvalidInput):
        repo.append([_evidence("e1", "a.one", 0), _evidence("e2", "a.two", 0, "great")])
    assert repo.latest() == {}


def test_evidence_is_scoped_to_its_tenant(store: SqlStore) -> None:
    """Another tenant sees none of t1's evidence."""
    for tenant in ("t1", "t2"):
        store.add_tenant(TenantRecord(id=tenant, name=tenant, created_at=T0))
    store.tenant("t1").compliance_evidence.append([_evidence("e1", "a.one", 0)])
    assert store.tenant("t2").compliance_evidence.latest() == {}
    assert store.tenant("t2").compliance_evidence.history("a.one") == []


def test_a_declaration_keeps_its_attachment_and_digest(tenant_store: SqlTenantStore) -> None:
    """``get`` returns the bytes; ``list`` leaves them out but keeps the digest."""
    repo = tenant_store.compliance_declarations
    record = _declaration()
    repo.put(record)
    assert repo.get(record.control_id) == record
    listed = repo.list()
    assert [item.control_id for item in listed] == [record.control_id]
    assert listed[0].attachment is None
    assert listed[0].attachment_sha256 == record.attachment_sha256


def test_a_declaration_is_replaced_and_deleted(tenant_store: SqlTenantStore) -> None:
    """Put replaces the control's declaration; delete withdraws it once."""
    repo = tenant_store.compliance_declarations
    repo.put(_declaration())
    repo.put(
        _declaration(
            outcome="partial", attachment=None, attachment_name=None, attachment_sha256=None
        )
    )
    found = repo.get("fsc-zta.identity.1")
    assert found is not None
    assert found.outcome == "partial"
    assert found.attachment is None
    assert repo.delete("fsc-zta.identity.1") is True
    assert repo.delete("fsc-zta.identity.1") is False
    assert repo.list() == []


@pytest.mark.parametrize(
    "changes",
    [
        {"attachment_sha256": "00" * 32},
        {"attachment": b"x" * (MAX_ATTACHMENT_BYTES + 1)},
        {"attachment_name": None},
        {"attachment": None},
        {"justification": "   "},
        {"outcome": "excellent"},
        {"declared_by": ""},
    ],
)
def test_a_bad_declaration_is_refused_and_nothing_is_written(
    tenant_store: SqlTenantStore, changes: dict[str, object]
) -> None:
    """A wrong digest, an oversized file, a missing name or justification: InvalidInput."""
    repo = tenant_store.compliance_declarations
    with pytest.raises(InvalidInput):
        repo.put(_declaration(**changes))
    assert repo.list() == []


def test_reports_are_listed_newest_first_and_latest_is_per_framework(
    tenant_store: SqlTenantStore,
) -> None:
    """``latest(framework)`` is the newest report of that framework only."""
    repo = tenant_store.compliance_reports
    repo.add(_report("r1", "fsc-zta", 0))
    repo.add(_report("r2", "pci-dss-8", 5))
    repo.add(_report("r3", "fsc-zta", 10))
    latest = repo.latest("fsc-zta")
    assert latest is not None
    assert latest.id == "r3"
    assert latest.summary == {"passed": 10}
    assert repo.latest("iso-27001") is None
    assert [item.id for item in repo.list()] == ["r3", "r2", "r1"]
    assert [item.id for item in repo.list("fsc-zta")] == ["r3", "r1"]
    assert repo.get("r2") == _report("r2", "pci-dss-8", 5)


def test_a_report_with_a_malformed_hash_is_refused(tenant_store: SqlTenantStore) -> None:
    """The content hash must be a SHA-256 hex digest."""
    with pytest.raises(InvalidInput):
        tenant_store.compliance_reports.add(replace(_report("r1", "x", 0), content_sha256="ab"))
    assert tenant_store.compliance_reports.list() == []
