"""A small staged framework, evidence with data, and a tenant signing key for report tests
(independent of the packaged YAML catalogs)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import pytest

from menshen.assertions.keyring import Keyring
from menshen.compliance.model import (
    Bilingual,
    Control,
    Declaration,
    Evidence,
    FirmProfile,
    Framework,
    GroupDef,
    JsonValue,
    Lang,
    Outcome,
    StageDef,
)
from menshen.compliance.report.document import ReportDocument, build_document
from menshen.crypto import SecretBox
from menshen.errors import NotFound
from menshen.store.records import SigningKeyRecord
from menshen.testing import FixedClock

AT = datetime(2026, 11, 2, 8, 30, tzinfo=UTC)
FIRM = "Formosa Pay"
PROFILE = FirmProfile(tenant_id="formosa-pay", name=FIRM, scope="Settlement and merchant apps")
USERS: list[JsonValue] = [
    {"user": f"user{i:02d}", "group": "finance-ops", "mfa": "totp"} for i in range(40)
]


def _b(en: str, zh: str) -> Bilingual:
    return Bilingual(en, zh)


def _control(cid: str, group: str, stage: str, checks: tuple[str, ...], **kw: str) -> Control:
    return Control(
        id=cid,
        framework="zt-test",
        group=group,
        title=_b(f"Control {cid}", f"控制項 {cid} 零信任"),
        summary=_b(f"Summary of {cid}", f"{cid} 摘要"),
        checks=checks,
        stage=stage,
        facets=("remote_work",),
        applies_if=kw.get("applies_if"),
    )


FRAMEWORK = Framework(
    id="zt-test",
    title=_b("Zero trust test guidelines", "零信任測試指引"),
    publisher="tests",
    version="2024",
    kind="staged",
    binding=_b("Non-binding guidance.", "不具拘束力之參考指引。"),
    groups=(GroupDef("identity", _b("Identity", "身分")), GroupDef("device", _b("Device", "設備"))),
    controls=(
        _control("ZT-ID-1", "identity", "traditional", ("identity.mfa_enrolled",)),
        _control("ZT-ID-2", "identity", "initial", ("identity.phishing_resistant_mfa",)),
        _control("ZT-DV-1", "device", "traditional", ()),
        _control("ZT-DV-2", "device", "initial", ("device.enrolled_and_healthy",)),
        _control(
            "ZT-CARD-1", "identity", "advanced", ("identity.mfa_enrolled",), applies_if="card_data"
        ),
    ),
    stages=tuple(
        StageDef(s, _b(s.title(), zh))
        for s, zh in (
            ("traditional", "傳統"),
            ("initial", "初始"),
            ("advanced", "進階"),
            ("optimal", "最佳"),
        )
    ),
    facets=(GroupDef("remote_work", _b("Remote work", "遠端工作")),),
)

EVIDENCE = {
    "identity.mfa_enrolled": Evidence(
        check_id="identity.mfa_enrolled",
        collected_at=AT - timedelta(minutes=5),
        outcome=Outcome.PASS,
        summary=_b("40 of 40 active users have MFA", "40 位在職使用者中有 40 位已啟用多因子"),
        value=1.0,
        data={"users": USERS, "total": 40},
    ),
    "identity.phishing_resistant_mfa": Evidence(
        check_id="identity.phishing_resistant_mfa",
        collected_at=AT - timedelta(minutes=5),
        outcome=Outcome.FAIL,
        summary=_b("3 of 40 users have a passkey", "40 位使用者中有 3 位具通行金鑰"),
        value=0.075,
        data={"without_passkey": ["alice", "bob", "settlement-admin-<b>"]},
        remedy=_b("Require WebAuthn on settlement-admin", "於結算管理要求 WebAuthn"),
        affected=37,
    ),
    "device.enrolled_and_healthy": Evidence(
        check_id="device.enrolled_and_healthy",
        collected_at=AT - timedelta(minutes=5),
        outcome=Outcome.NOT_ASSESSED,
        summary=_b("Device registry unreadable", "無法讀取設備登錄"),
        error="store unavailable",
    ),
}

DECLARATIONS = {
    "ZT-DV-1": Declaration(
        control_id="ZT-DV-1",
        outcome=Outcome.PASS,
        justification="Laptops are encrypted by the MDM; see the attached export",
        by="ciso@formosa-pay.example",
        at=AT - timedelta(days=10),
        attachment_name="mdm-export.csv",
        attachment_sha256="ab" * 32,
    )
}


def make_document(lang: Lang = Lang.EN, **changes: object) -> ReportDocument:
    """The test report of ``FRAMEWORK`` at ``AT``."""
    return build_document(
        FRAMEWORK,
        EVIDENCE,
        DECLARATIONS,
        PROFILE,
        lang=lang,
        period_start=AT - timedelta(days=30),
        period_end=AT,
        at=AT,
        **changes,  # type: ignore[arg-type]
    )


class MemoryKeys:
    """A ``KeyRepository`` in memory (enough for one key)."""

    def __init__(self) -> None:
        self.rows: list[SigningKeyRecord] = []

    def add(self, key: SigningKeyRecord) -> None:
        self.rows.append(key)

    def list(self) -> Sequence[SigningKeyRecord]:
        return list(self.rows)

    def retire(self, kid: str, at: datetime) -> None:
        raise NotFound(kid)

    def delete(self, kid: str) -> None:
        raise NotFound(kid)


class MemoryTenantKeys:
    tenant_id = PROFILE.tenant_id

    def __init__(self) -> None:
        self.keys = MemoryKeys()


@pytest.fixture
def keyring() -> Keyring:
    """The tenant's keyring with its first ES256 key, on an in-memory key table."""
    ring = Keyring(MemoryTenantKeys(), SecretBox(bytes(range(32))), FixedClock(AT))
    ring.ensure_key()
    return ring
