"""What the console's compliance pages read and change, for the one tenant it serves.

Like the monitoring desk (``desk``), the console is built for one tenant and every read goes
through that tenant's id: the evidence, declarations, profile and reports of another tenant
are never asked for (NIST SP 800-207 §2.1 tenet 6; DESIGN.md §5, every query scoped by
tenant). The services are the CLI's own: ``ComplianceService`` measures and keeps the
evidence, ``ReportService`` produces the signed reports, so a report downloaded from the
console is signed exactly like one written by ``menshen report``. Blocking (SQL, WeasyPrint):
the pages call these from a worker thread.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from menshen.app import Platform
from menshen.compliance.model import (
    Catalog,
    Declaration,
    Evidence,
    FirmProfile,
    JsonValue,
    Lang,
    Outcome,
)
from menshen.compliance.report.service import Format, RenderedReport, ReportService
from menshen.compliance.roi import roi_inputs
from menshen.compliance.service import ComplianceService
from menshen.events.model import AuditEvent

__all__ = [
    "ComplianceDesk",
    "DeclarationBook",
    "EvidenceBook",
    "ReportMaker",
    "compliance_desk_for",
]


class EvidenceBook(Protocol):
    """The part of ``menshen.compliance.service.ComplianceService`` the console uses."""

    def collect(
        self, tenant_id: str, *, by: str = "system", days: int = 30
    ) -> Mapping[str, Evidence]: ...
    def latest_evidence(self, tenant_id: str) -> Mapping[str, Evidence]: ...
    def history(self, tenant_id: str, check_id: str) -> Sequence[Evidence]: ...
    def declarations(self, tenant_id: str) -> Mapping[str, Declaration]: ...
    def profile(self, tenant_id: str) -> FirmProfile: ...


class DeclarationBook(Protocol):
    """The declaring part of ``ComplianceService`` (it validates, stores and audits)."""

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
    ) -> Declaration: ...
    def withdraw(self, tenant_id: str, control_id: str, *, by: str) -> bool: ...
    def declarations(self, tenant_id: str) -> Mapping[str, Declaration]: ...


class ReportMaker(Protocol):
    """The part of ``menshen.compliance.report.service.ReportService`` the console uses."""

    def produce(
        self, framework_id: str, lang: Lang, fmt: Format, *, period_days: int = 30
    ) -> RenderedReport: ...


@dataclass(frozen=True, slots=True)
class ComplianceDesk:
    """One tenant's compliance services, wired by the composition root (``console serve``)."""

    tenant_id: str
    catalog: Catalog
    evidence: EvidenceBook
    reports: ReportMaker
    previous_summary: Callable[[str], Mapping[str, JsonValue] | None]
    """The summary of the tenant's last stored report of a framework (for the trend)."""
    audit: Callable[[Sequence[AuditEvent]], None]
    """Writes audit events to the tenant's log at once (blocking)."""
    declarations: DeclarationBook | None = None
    """Declaring controls from the console (``declarations``); None: no such forms."""

    def default_framework(self) -> str:
        """The framework a page shows when none is asked for: the FSC guidelines if loaded."""
        known = sorted(self.catalog.frameworks)
        if not known:
            return ""
        return "fsc-zta" if "fsc-zta" in known else known[0]


def compliance_desk_for(
    platform: Platform, tenant_id: str, catalog: Catalog | None = None
) -> ComplianceDesk:
    """The desk for ``tenant_id`` made of the platform's services, as ``menshen report``
    wires them (the packaged catalogs and the firm's ``catalog_dirs`` unless one is given;
    a bad catalog file stops here with the catalog's error)."""
    service = ComplianceService(platform.store, platform.settings, platform.clock)
    loaded = catalog if catalog is not None else service.catalog(tenant_id)
    tenant = platform.store.tenant(tenant_id)
    reports = ReportService(
        loaded,
        service,
        tenant,
        lambda: platform.keyring(tenant_id).active_signing_key(),
        platform.clock,
        roi_inputs=roi_inputs(platform.settings.options(tenant_id).compliance),
    )

    def previous(framework_id: str) -> Mapping[str, JsonValue] | None:
        found = tenant.compliance_reports.latest(framework_id)
        return None if found is None else found.summary

    return ComplianceDesk(
        tenant_id, loaded, service, reports, previous, platform.write_audit, declarations=service
    )
