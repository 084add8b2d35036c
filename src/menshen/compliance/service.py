"""The compliance service: measure evidence and keep its history, hold the firm's
declarations, and say what applies to the firm (ISO/IEC 27001:2022 §9.1 and §7.5
documented information; NIST SP 800-53 rev5 CA-2, CA-7).

Blocking (SQL): async callers run it in a thread. Every measurement and declaration is
written to the audit log (``compliance.evidence_collected``, ``compliance.declared``,
``compliance.declaration_withdrawn``) before the call returns.
"""

from __future__ import annotations

import hashlib
import uuid
from collections import Counter
from collections.abc import Callable, Sequence
from datetime import datetime

from menshen.clock import Clock
from menshen.compliance.catalog import load_catalog
from menshen.compliance.collect import collect_all
from menshen.compliance.live import LiveSources
from menshen.compliance.model import (
    Bilingual,
    Catalog,
    Declaration,
    Evidence,
    FirmProfile,
    Outcome,
)
from menshen.compliance.sources import CollectContext, EvidenceSources
from menshen.errors import InvalidInput
from menshen.events.bus import EventBus
from menshen.events.model import AuditEvent
from menshen.events.writer import AuditWriter
from menshen.inventory.model import ObservedFlow
from menshen.settings import Settings
from menshen.store.api import Store, TenantStore
from menshen.store.compliance import DeclarationRecord, EvidenceRecord

__all__ = [
    "COLLECTED",
    "DECLARED",
    "MAX_PERIOD_DAYS",
    "PERIOD_DAYS",
    "WITHDRAWN",
    "ComplianceService",
]

COLLECTED = "compliance.evidence_collected"
DECLARED = "compliance.declared"
WITHDRAWN = "compliance.declaration_withdrawn"
DECLARABLE = frozenset({Outcome.PASS, Outcome.PARTIAL, Outcome.FAIL, Outcome.NOT_APPLICABLE})
PERIOD_DAYS = 30
MAX_PERIOD_DAYS = 3660

Record = Callable[[AuditEvent], None]


class ComplianceService:
    """Evidence, declarations and the firm profile of the tenants of one store."""

    def __init__(
        self,
        store: Store,
        settings: Settings,
        clock: Clock,
        *,
        record: Record | None = None,
        new_id: Callable[[], str] = lambda: uuid.uuid4().hex,
    ) -> None:
        self._store = store
        self._settings = settings
        self._clock = clock
        self._record = record or self._write_audit
        self._new_id = new_id

    def _write_audit(self, event: AuditEvent) -> None:
        AuditWriter(self._store, EventBus(), self._clock).write_now([event])

    # -- evidence ------------------------------------------------------------------------
    def context(self, tenant_id: str, *, days: int = PERIOD_DAYS) -> CollectContext:
        """The measurement's time, period (the last ``days`` days) and the firm's limits."""
        if not 1 <= days <= MAX_PERIOD_DAYS:
            raise InvalidInput(f"the period must be 1 to {MAX_PERIOD_DAYS} days, not {days}")
        options = self._settings.options(tenant_id).compliance
        return CollectContext.last_days(tenant_id, self._clock.now(), options, days)

    def collect(
        self,
        tenant_id: str,
        *,
        observed: Sequence[ObservedFlow] | None = None,
        sources: EvidenceSources | None = None,
        by: str = "system",
        days: int = PERIOD_DAYS,
    ) -> dict[str, Evidence]:
        """Measure every check now over the last ``days`` days (admin actions, sessions,
        incidents), store the results as history, and audit it. InvalidInput for an unknown
        tenant or a period under a day; nothing is stored then."""
        self._name(tenant_id)
        tenant = self._tenant(tenant_id)
        ctx = self.context(tenant_id, days=days)
        live = sources or LiveSources(tenant, self._settings, observed=observed)
        evidence = collect_all(live, ctx)
        tenant.compliance_evidence.append(
            [_to_record(tenant_id, self._new_id(), item) for item in evidence.values()]
        )
        counts = Counter(item.outcome.value for item in evidence.values())
        details: dict[str, object] = {"checks": len(evidence), "period_days": days}
        details.update({outcome.value: counts[outcome.value] for outcome in Outcome})
        self._audit(tenant_id, COLLECTED, by, None, details)
        return evidence

    def latest_evidence(self, tenant_id: str) -> dict[str, Evidence]:
        """The newest stored measurement of each check (empty before the first collect)."""
        latest = self._tenant(tenant_id).compliance_evidence.latest()
        return {check: _from_record(item) for check, item in sorted(latest.items())}

    def history(self, tenant_id: str, check_id: str, *, limit: int = 100) -> list[Evidence]:
        """Stored measurements of ``check_id``, newest first."""
        rows = self._tenant(tenant_id).compliance_evidence.history(check_id, limit=limit)
        return [_from_record(item) for item in rows]

    # -- declarations --------------------------------------------------------------------
    def declare(
        self,
        tenant_id: str,
        control_id: str,
        *,
        outcome: Outcome,
        justification: str,
        by: str,
        attachment: tuple[str, bytes] | None = None,
        expires_at: datetime | None = None,
    ) -> Declaration:
        """Record that ``control_id`` is handled outside menshen (shown as declared, never as
        measured). InvalidInput without a justification, for ``not_assessed``, or a bad
        attachment; nothing is written then."""
        if outcome not in DECLARABLE:
            raise InvalidInput(f"a control cannot be declared {outcome.value}")
        if not justification.strip():
            raise InvalidInput("a declaration needs a justification")
        now = self._clock.now()
        if expires_at is not None and expires_at <= now:
            raise InvalidInput("a declaration cannot expire in the past")
        name, body = attachment if attachment is not None else (None, None)
        record = DeclarationRecord(
            tenant_id=tenant_id,
            control_id=control_id,
            outcome=outcome.value,
            justification=justification.strip(),
            declared_by=by,
            declared_at=now,
            expires_at=expires_at,
            attachment_name=name,
            attachment_sha256=None if body is None else hashlib.sha256(body).hexdigest(),
            attachment=body,
        )
        self._tenant(tenant_id).compliance_declarations.put(record)
        details: dict[str, object] = {"control": control_id, "outcome": outcome.value}
        if record.attachment_sha256 is not None:
            details["attachment_sha256"] = record.attachment_sha256
        self._audit(tenant_id, DECLARED, by, control_id, details)
        return _declaration(record)

    def withdraw(self, tenant_id: str, control_id: str, *, by: str) -> bool:
        """Withdraw a declaration (audited); False if there was none."""
        done = self._tenant(tenant_id).compliance_declarations.delete(control_id)
        if done:
            self._audit(tenant_id, WITHDRAWN, by, control_id, {"control": control_id})
        return done

    def declarations(self, tenant_id: str) -> dict[str, Declaration]:
        rows = self._tenant(tenant_id).compliance_declarations.list()
        return {row.control_id: _declaration(row) for row in rows}

    def attachment(self, tenant_id: str, control_id: str) -> tuple[str, bytes] | None:
        """A declaration's attached file (name, bytes), or None."""
        row = self._tenant(tenant_id).compliance_declarations.get(control_id)
        if row is None or row.attachment is None or row.attachment_name is None:
            return None
        return row.attachment_name, row.attachment

    # -- the firm ------------------------------------------------------------------------
    def catalog(self, tenant_id: str) -> Catalog:
        """The packaged catalogs plus the firm's own (``tenants.<id>.compliance.catalog_dirs``),
        validated together; CatalogError (an InvalidInput) names the bad file."""
        return load_catalog(extra=self._settings.options(tenant_id).compliance.catalog_dirs)

    def profile(self, tenant_id: str) -> FirmProfile:
        """What applies to the firm, from ``tenants.<id>.compliance`` and its registry."""
        name = self._name(tenant_id)
        options = self._settings.options(tenant_id).compliance
        clients = self._store.tenant(tenant_id).machine_clients.list()
        return FirmProfile(
            tenant_id=tenant_id,
            name=name,
            card_data=options.card_data,
            e_payment=options.e_payment,
            critical_infrastructure=options.critical_infrastructure,
            machine_clients=bool(clients),
            scope=options.scope,
        )

    def _name(self, tenant_id: str) -> str:
        for tenant in self._store.tenants():
            if tenant.id == tenant_id:
                return tenant.name
        raise InvalidInput(f"unknown tenant {tenant_id!r}")

    def _tenant(self, tenant_id: str) -> TenantStore:
        return self._store.tenant(tenant_id)

    def _audit(
        self, tenant_id: str, kind: str, by: str, subject: str | None, details: dict[str, object]
    ) -> None:
        self._record(
            AuditEvent(
                tenant_id=tenant_id,
                kind=kind,
                outcome="success",
                at=self._clock.now(),
                actor=by,
                subject=subject,
                details=details,
            )
        )


def _to_record(tenant_id: str, id_: str, item: Evidence) -> EvidenceRecord:
    return EvidenceRecord(
        tenant_id=tenant_id,
        id=id_,
        check_id=item.check_id,
        collected_at=item.collected_at,
        outcome=item.outcome.value,
        summary={"en": item.summary.en, "zh_tw": item.summary.zh_tw},
        data=dict(item.data),
        value=item.value,
        remedy=None if item.remedy is None else {"en": item.remedy.en, "zh_tw": item.remedy.zh_tw},
        affected=item.affected,
        error=item.error,
    )


def _from_record(row: EvidenceRecord) -> Evidence:
    return Evidence(
        check_id=row.check_id,
        collected_at=row.collected_at,
        outcome=Outcome(row.outcome),
        summary=Bilingual(str(row.summary.get("en", "")), str(row.summary.get("zh_tw", ""))),
        value=row.value,
        data=dict(row.data),
        remedy=None
        if row.remedy is None
        else Bilingual(str(row.remedy.get("en", "")), str(row.remedy.get("zh_tw", ""))),
        affected=row.affected,
        error=row.error,
    )


def _declaration(row: DeclarationRecord) -> Declaration:
    return Declaration(
        control_id=row.control_id,
        outcome=Outcome(row.outcome),
        justification=row.justification,
        by=row.declared_by,
        at=row.declared_at,
        attachment_name=row.attachment_name,
        attachment_sha256=row.attachment_sha256,
        expires_at=row.expires_at,
    )
