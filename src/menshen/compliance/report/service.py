"""Producing a signed report for one tenant: the I/O edge around the pure document.

Measure the evidence now (``ComplianceService.collect``, which stores it as history), read the
firm's declarations and profile, the previous report of the same framework (for the trend),
build the ``ReportDocument``, hash its canonical JSON, sign the hash with the tenant's active
ES256 key, render the asked format, and record the report (``compliance_reports``) so the next
one has a trend. A tenant with no users and no apps has nothing to report on: that is a clear
``InvalidInput``, never an empty "all pass" report.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum
from typing import Protocol

from menshen.assertions.keyring import SigningKey
from menshen.clock import Clock
from menshen.compliance.model import (
    Catalog,
    Declaration,
    Evidence,
    FirmProfile,
    JsonValue,
    Lang,
)
from menshen.compliance.report.canonical import canonical_bytes, content_hash, document_json
from menshen.compliance.report.document import ReportDocument, build_document
from menshen.compliance.report.html import render_html
from menshen.compliance.report.oscal import oscal_bytes
from menshen.compliance.report.pdf import render_pdf
from menshen.compliance.report.sign import Signature, detached_envelope, envelope, sign_hash
from menshen.compliance.roi import RoiInputs
from menshen.errors import InvalidInput
from menshen.store.compliance import ReportRecord

__all__ = [
    "ComplianceSource",
    "Format",
    "RenderedReport",
    "ReportService",
    "TenantView",
    "parse_lang",
]

MAX_PERIOD_DAYS = 3660


class Format(StrEnum):
    """What ``menshen report --format`` writes."""

    PDF = "pdf"
    HTML = "html"
    JSON = "json"
    OSCAL = "oscal"


class ComplianceSource(Protocol):
    """The part of ``ComplianceService`` a report needs."""

    def collect(self, tenant_id: str, *, days: int = 30) -> Mapping[str, Evidence]: ...
    def declarations(self, tenant_id: str) -> Mapping[str, Declaration]: ...
    def profile(self, tenant_id: str) -> FirmProfile: ...


class _Listing(Protocol):
    def list(self) -> Sequence[object]: ...


class _Config(Protocol):
    def list(self, kind: str | None = None) -> Sequence[object]: ...


class _Reports(Protocol):
    def add(self, record: ReportRecord) -> None: ...
    def latest(self, framework: str) -> ReportRecord | None: ...


class TenantView(Protocol):
    """The part of a ``TenantStore`` a report reads and writes."""

    @property
    def tenant_id(self) -> str: ...
    @property
    def users(self) -> _Listing: ...
    @property
    def config(self) -> _Config: ...
    @property
    def compliance_reports(self) -> _Reports: ...


@dataclass(frozen=True, slots=True)
class RenderedReport:
    """A signed report ready to write: ``body`` (and for HTML/PDF a detached ``.sig``)."""

    format: Format
    body: bytes
    detached: bytes | None
    signature: Signature
    document: ReportDocument
    record: ReportRecord


def parse_lang(value: str) -> Lang:
    """``en`` or ``zh-TW`` (case-insensitive, ``_`` accepted); InvalidInput otherwise."""
    wanted = value.strip().replace("_", "-").lower()
    for lang in Lang:
        if lang.value.lower() == wanted:
            return lang
    raise InvalidInput(f"unknown language {value!r} (known: en, zh-TW)")


class ReportService:
    """Signed compliance reports of one tenant."""

    def __init__(
        self,
        catalog: Catalog,
        compliance: ComplianceSource,
        tenant: TenantView,
        signing_key: Callable[[], SigningKey],
        clock: Clock,
        *,
        roi_inputs: RoiInputs | None = None,
        report_id: Callable[[], str] = lambda: secrets.token_hex(16),
    ) -> None:
        self._catalog = catalog
        self._compliance = compliance
        self._tenant = tenant
        self._signing_key = signing_key
        self._clock = clock
        self._roi_inputs = roi_inputs
        self._report_id = report_id

    def produce(
        self, framework_id: str, lang: Lang, fmt: Format, *, period_days: int = 30
    ) -> RenderedReport:
        """Measure, assess, sign, render and record one report."""
        framework = self._catalog.framework(framework_id)  # InvalidInput names the known ones
        if not 1 <= period_days <= MAX_PERIOD_DAYS:
            raise InvalidInput(f"the period must be 1 to {MAX_PERIOD_DAYS} days")
        tenant_id = self._tenant.tenant_id
        self._refuse_empty(tenant_id)
        key = self._signing_key()  # fail before measuring if the tenant cannot sign
        now = self._clock.now()
        previous = self._tenant.compliance_reports.latest(framework.id)
        doc = build_document(
            framework,
            self._compliance.collect(tenant_id, days=period_days),
            self._compliance.declarations(tenant_id),
            self._compliance.profile(tenant_id),
            lang=lang,
            period_start=now - timedelta(days=period_days),
            period_end=now,
            at=now,
            previous_summary=previous.summary if previous is not None else None,
            roi_inputs=self._roi_inputs,
        )
        content = document_json(doc)
        digest = content_hash(content)
        signature = sign_hash(tenant_id, digest, key)
        body, detached = self._render(doc, content, signature, fmt, key)
        record = ReportRecord(
            tenant_id=tenant_id,
            id=self._report_id(),
            framework=framework.id,
            lang=lang.value,
            format=fmt.value,
            created_at=now,
            period_start=doc.period_start,
            period_end=doc.period_end,
            content_sha256=digest,
            signature=signature.jws,
            key_id=signature.key_id,
            summary=dict(doc.summary),
        )
        self._tenant.compliance_reports.add(record)
        return RenderedReport(fmt, body, detached, signature, doc, record)

    def _refuse_empty(self, tenant_id: str) -> None:
        if not self._tenant.users.list() and not self._tenant.config.list("App"):
            raise InvalidInput(
                f"tenant {tenant_id!r} has no users and no apps: nothing to report on"
                " (load the firm's configuration with `menshen apply` first)"
            )

    def _render(
        self,
        doc: ReportDocument,
        content: dict[str, JsonValue],
        signature: Signature,
        fmt: Format,
        key: SigningKey,
    ) -> tuple[bytes, bytes | None]:
        if fmt is Format.JSON:
            signed = envelope(content, signature)
            return canonical_bytes(signed) + b"\n", None
        if fmt is Format.OSCAL:
            body = oscal_bytes(doc, signature.content_sha256)
        else:
            html = render_html(doc, signature)
            body = render_pdf(html) if fmt is Format.PDF else html.encode("utf-8")
        file_sha256 = hashlib.sha256(body).hexdigest()
        file_signature = sign_hash(
            doc.tenant_id, signature.content_sha256, key, file_sha256=file_sha256
        )
        return body, detached_envelope(fmt.value, file_signature, file_sha256)
