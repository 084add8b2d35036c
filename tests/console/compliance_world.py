"""The console of tenant t1 with its compliance pages, over a store holding t1 and t2.

``ComplianceConsole`` wires ``build_console`` the way ``console serve`` does, from a
``ComplianceDesk`` whose evidence book is given by the test (the live service, or
``BookStub`` for page-only tests), the real ``ReportService`` signing with the tenant's
keyring, and the audit log in the store.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from starlette.exceptions import StarletteDeprecationWarning

with warnings.catch_warnings():
    warnings.simplefilter("ignore", StarletteDeprecationWarning)
    from starlette.testclient import TestClient

from menshen.assertions.keyring import Keyring
from menshen.assertions.mint import AssertionMinter
from menshen.assertions.upstream import JwksCache, UpstreamIdentity
from menshen.assertions.verify import AssertionVerifier
from menshen.compliance.catalog import load_catalog
from menshen.compliance.model import (
    Bilingual,
    Catalog,
    Declaration,
    Evidence,
    FirmProfile,
    JsonValue,
    Outcome,
)
from menshen.compliance.report.service import ReportService
from menshen.console import ConsoleConfig, build_console
from menshen.console.compliance_desk import ComplianceDesk, EvidenceBook
from menshen.crypto import SecretBox
from menshen.events.bus import EventBus
from menshen.events.model import AuditEvent
from menshen.events.writer import AuditWriter
from menshen.segmentation.files import load_example
from menshen.store.records import AuditRecord
from menshen.store.sql import SqlStore
from menshen.testing import FixedClock
from tests.assertions.conftest import MASTER_KEY, MemoryTenantKeys

T0 = datetime(2026, 11, 25, 3, 0, tzinfo=UTC)
ISSUER = "menshen"
FORM_KEY = bytes(range(64, 96))
ORIGIN = "https://apps.firm.example"
BROWSER = {"origin": ORIGIN, "sec-fetch-site": "same-origin"}
_CSRF = re.compile(r'action="([^"]+)">\s*<input type="hidden" name="csrf" value="([0-9a-f]*)"')

_CATALOG: list[Catalog] = []


def catalog() -> Catalog:
    """The packaged catalog, loaded once per test session (it is a pure value)."""
    if not _CATALOG:
        _CATALOG.append(load_catalog())
    return _CATALOG[0]


def evidence(
    check_id: str, outcome: Outcome, at: datetime = T0, *, value: float | None = None,
    affected: int = 0, data: Mapping[str, JsonValue] | None = None, error: str | None = None,
) -> Evidence:  # fmt: skip
    remedy = None
    if outcome is not Outcome.PASS:
        remedy = Bilingual(f"fix {check_id}: {affected} affected", f"修正 {check_id}")
    return Evidence(
        check_id=check_id,
        collected_at=at,
        outcome=outcome,
        summary=Bilingual(f"{check_id} measured", f"{check_id} 已量測"),
        value=value,
        data=dict(data or {}),
        remedy=remedy,
        affected=affected,
        error=error,
    )


@dataclass
class BookStub:
    """An evidence book per tenant: histories newest first; ``collect`` stores ``next``."""

    clock: FixedClock
    stored: dict[str, dict[str, list[Evidence]]] = field(default_factory=dict)
    next: dict[str, dict[str, Evidence]] = field(default_factory=dict)
    declared: dict[str, dict[str, Declaration]] = field(default_factory=dict)
    collected: list[tuple[str, str]] = field(default_factory=list)

    def put(self, tenant_id: str, *items: Evidence) -> None:
        book = self.stored.setdefault(tenant_id, {})
        for item in items:
            book.setdefault(item.check_id, []).insert(0, item)

    def collect(
        self, tenant_id: str, *, by: str = "system", days: int = 30
    ) -> Mapping[str, Evidence]:
        self.collected.append((tenant_id, by))
        self.put(tenant_id, *self.next.get(tenant_id, {}).values())
        return self.latest_evidence(tenant_id)

    def latest_evidence(self, tenant_id: str) -> Mapping[str, Evidence]:
        return {k: v[0] for k, v in self.stored.get(tenant_id, {}).items() if v}

    def history(self, tenant_id: str, check_id: str) -> Sequence[Evidence]:
        return list(self.stored.get(tenant_id, {}).get(check_id, []))

    def declarations(self, tenant_id: str) -> Mapping[str, Declaration]:
        return dict(self.declared.get(tenant_id, {}))

    def profile(self, tenant_id: str) -> FirmProfile:
        return FirmProfile(tenant_id, f"Firm {tenant_id.upper()}", scope=f"scope of {tenant_id}")


@dataclass
class ComplianceConsole:
    store: SqlStore
    book: EvidenceBook
    clock: FixedClock
    tenant_id: str = "t1"
    keyrings: dict[str, Keyring] = field(default_factory=dict)
    serve: ComplianceDesk | None = None
    """The desk to serve (default: one made of ``book`` and the ``ReportService``)."""
    desk: ComplianceDesk = field(init=False)

    def __post_init__(self) -> None:
        for tenant_id in ("t1", "t2"):
            if tenant_id not in self.keyrings:
                ring = Keyring(MemoryTenantKeys(tenant_id), SecretBox(MASTER_KEY), self.clock)
                ring.ensure_key()
                self.keyrings[tenant_id] = ring
        tenant = self.store.tenant(self.tenant_id)
        reports = ReportService(
            catalog(),
            self.book,
            tenant,
            self.keyrings[self.tenant_id].active_signing_key,
            self.clock,
            report_id=self._report_id,
        )
        self.desk = self.serve or ComplianceDesk(
            tenant_id=self.tenant_id,
            catalog=catalog(),
            evidence=self.book,
            reports=reports,
            previous_summary=self._previous,
            audit=self.write_audit,
        )
        jwks = JwksCache(
            "http://127.0.0.1:1/jwks.json",
            lambda url: self.keyrings[self.tenant_id].jwks(),
            monotonic=self.clock.monotonic,
        )
        verifier = AssertionVerifier(
            jwks.current, issuer=ISSUER, audience="console", clock=self.clock
        )
        app = build_console(
            ConsoleConfig(),
            identity=UpstreamIdentity(verifier, jwks),
            load_model=load_example,
            clock=self.clock,
            form_key=FORM_KEY,
            compliance=self.desk,
        )
        self.client = TestClient(app, base_url=ORIGIN)
        self._ids = 0

    def _report_id(self) -> str:
        self._ids += 1
        return f"r{self._ids:04d}"

    def _previous(self, framework: str) -> Mapping[str, JsonValue] | None:
        found = self.store.tenant(self.tenant_id).compliance_reports.latest(framework)
        return None if found is None else found.summary

    def write_audit(self, events: Sequence[AuditEvent]) -> None:
        AuditWriter(self.store, EventBus(), self.clock).write_now(events)

    def audit(self, tenant_id: str | None = None) -> list[AuditRecord]:
        return list(self.store.tenant(tenant_id or self.tenant_id).audit.iterate())

    # -- requests ---------------------------------------------------------------------
    def token(
        self, tenant_id: str | None = None, *, username: str = "mei", session: str = "s-mei",
        groups: tuple[str, ...] = ("admins",), mfa: bool = True,
    ) -> str:  # fmt: skip
        minter = AssertionMinter(self.keyrings[tenant_id or self.tenant_id], ISSUER, self.clock)
        return minter.mint(
            audience="console",
            subject=f"u-{username}",
            email=f"{username}@x.example",
            groups=groups,
            session_id=session,
            mfa_method="totp" if mfa else None,
            mfa_at=self.clock.now() if mfa else None,
            username=username,
        )

    def get(self, path: str, token: str | None = None, **params: str) -> Any:
        headers = {"x-menshen-assertion": token or self.token()}
        return self.client.get(path, headers=headers, params=params, follow_redirects=False)

    def forms(self, page: str, token: str | None = None, **params: str) -> dict[str, str]:
        """The CSRF token of each form on ``page``, by its action path."""
        return dict(_CSRF.findall(self.get(page, token, **params).text))

    def post(
        self, path: str, data: dict[str, str], token: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> Any:  # fmt: skip
        sent = {
            "x-menshen-assertion": token or self.token(),
            "x-forwarded-proto": "https",
            "x-forwarded-host": "apps.firm.example",
            **(headers if headers is not None else BROWSER),
        }
        return self.client.post(path, data=data, headers=sent, follow_redirects=False)

    def submit(self, action: str, **fields: str) -> Any:
        """Post the compliance page's form ``action`` as a browser would, with its token."""
        csrf = self.forms("/console/compliance")[action]
        return self.post(action, {"csrf": csrf, **fields})
