"""What compliance keeps: measured evidence with its history, the firm's declarations of
controls handled outside menshen (with an optional attachment), and each signed report.

Evidence rows are append-only: a new measurement never replaces an old one, so an auditor can
see a control move over time (ISO/IEC 27001:2022 §9.1 monitoring and measurement; NIST SP
800-53 rev5 CA-7 continuous monitoring). A declaration's attachment is kept with its SHA-256,
checked on the way in: bytes that do not match the stated digest, or an attachment over
``MAX_ATTACHMENT_BYTES``, are refused with ``InvalidInput`` and nothing is written.

None of these writes bumps the tenant's revision (``Scope.changing``): gateways do not read
them. Records are plain values; ``menshen.compliance`` turns them into its own vocabulary.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, insert, select

from menshen.errors import InvalidInput
from menshen.store.schema import compliance_declarations, compliance_evidence, compliance_reports
from menshen.store.scoped import Scope, record_of, upsert

__all__ = [
    "MAX_ATTACHMENT_BYTES",
    "MAX_HISTORY",
    "MAX_JUSTIFICATION_CHARS",
    "DeclarationRecord",
    "EvidenceRecord",
    "ReportRecord",
    "SqlDeclarationRepository",
    "SqlEvidenceRepository",
    "SqlReportRepository",
]

MAX_ATTACHMENT_BYTES = 5 * 1024 * 1024
"""An attachment (a signed policy, a scan report) is at most 5 MiB."""
MAX_JUSTIFICATION_CHARS = 10_000
MAX_HISTORY = 1000
"""The most rows one ``history`` or ``list`` call returns."""
OUTCOMES = frozenset({"pass", "partial", "fail", "not_applicable", "not_assessed"})
_NAME_CHARS = 255

_evidence = compliance_evidence
_declarations = compliance_declarations
_reports = compliance_reports


@dataclass(frozen=True, slots=True)
class EvidenceRecord:
    """One measurement of one check; ``summary`` and ``remedy`` are ``{"en", "zh_tw"}``."""

    tenant_id: str
    id: str
    check_id: str
    collected_at: datetime
    outcome: str
    summary: dict[str, Any]
    data: dict[str, Any] = field(default_factory=dict)
    value: float | None = None
    remedy: dict[str, Any] | None = None
    affected: int = 0
    error: str | None = None


@dataclass(frozen=True, slots=True)
class DeclarationRecord:
    """A control declared as handled outside menshen. ``attachment`` is only filled by
    ``SqlDeclarationRepository.get``; listings leave it None (the digest stays)."""

    tenant_id: str
    control_id: str
    outcome: str
    justification: str
    declared_by: str
    declared_at: datetime
    expires_at: datetime | None = None
    attachment_name: str | None = None
    attachment_sha256: str | None = None
    attachment: bytes | None = None


@dataclass(frozen=True, slots=True)
class ReportRecord:
    """A signed report: what was signed (its content hash), by which key, and the summary
    the next report's trend compares with."""

    tenant_id: str
    id: str
    framework: str
    lang: str
    format: str
    created_at: datetime
    period_start: datetime
    period_end: datetime
    content_sha256: str
    signature: str
    key_id: str
    summary: dict[str, Any] = field(default_factory=dict)


def _limit(limit: int) -> int:
    if limit < 1:
        raise InvalidInput("limit must be at least 1")
    return min(limit, MAX_HISTORY)


def _check_outcome(outcome: str) -> None:
    if outcome not in OUTCOMES:
        raise InvalidInput(f"unknown outcome {outcome!r} (expected one of {sorted(OUTCOMES)})")


class SqlEvidenceRepository:
    """``EvidenceRepository`` on SQL: append-only history per check."""

    def __init__(self, scope: Scope) -> None:
        self._scope = scope

    def append(self, records: Sequence[EvidenceRecord]) -> None:
        """Add measurements in one transaction (all or nothing); Conflict on a duplicate id."""
        if not records:
            return
        rows = []
        for record in records:
            _check_outcome(record.outcome)
            rows.append(self._scope.row(record))
        with self._scope.db.write() as conn:
            conn.execute(insert(_evidence), rows)

    def latest(self) -> dict[str, EvidenceRecord]:
        """The newest measurement of every check measured so far."""
        newest = (
            select(_evidence.c.check_id, func.max(_evidence.c.collected_at).label("at"))
            .where(self._scope.where(_evidence))
            .group_by(_evidence.c.check_id)
            .subquery()
        )
        query = (
            select(_evidence)
            .join(
                newest,
                (_evidence.c.check_id == newest.c.check_id)
                & (_evidence.c.collected_at == newest.c.at),
            )
            .where(self._scope.where(_evidence))
            .order_by(_evidence.c.check_id, _evidence.c.id)
        )
        found: dict[str, EvidenceRecord] = {}
        with self._scope.db.read() as conn:
            for row in conn.execute(query):
                found.setdefault(row.check_id, record_of(EvidenceRecord, row))
        return found

    def history(self, check_id: str, *, limit: int = 100) -> Sequence[EvidenceRecord]:
        """Measurements of ``check_id``, newest first (at most ``limit``, capped)."""
        query = (
            select(_evidence)
            .where(self._scope.where(_evidence), _evidence.c.check_id == check_id)
            .order_by(_evidence.c.collected_at.desc(), _evidence.c.id)
            .limit(_limit(limit))
        )
        with self._scope.db.read() as conn:
            return [record_of(EvidenceRecord, row) for row in conn.execute(query)]


class SqlDeclarationRepository:
    """``DeclarationRepository`` on SQL: one declaration per control, replaced on put."""

    def __init__(self, scope: Scope) -> None:
        self._scope = scope

    def put(self, record: DeclarationRecord) -> None:
        """Insert or replace the declaration of ``record.control_id``.

        InvalidInput (nothing written) for an unknown outcome, an empty or overlong
        justification, an attachment without a name or digest, over ``MAX_ATTACHMENT_BYTES``,
        or whose bytes do not hash to ``attachment_sha256``.
        """
        _check_declaration(record)
        values = self._scope.row(record)
        with self._scope.db.write() as conn:
            upsert(conn, _declarations, values, ["tenant_id", "control_id"])

    def get(self, control_id: str) -> DeclarationRecord | None:
        """The declaration with its attachment bytes, or None."""
        query = select(_declarations).where(
            self._scope.where(_declarations), _declarations.c.control_id == control_id
        )
        with self._scope.db.read() as conn:
            row = conn.execute(query).first()
        return None if row is None else record_of(DeclarationRecord, row)

    def list(self) -> Sequence[DeclarationRecord]:
        """Every declaration by control id, without attachment bytes."""
        columns = [c for c in _declarations.c if c.name != "attachment"]
        query = (
            select(*columns)
            .where(self._scope.where(_declarations))
            .order_by(_declarations.c.control_id)
        )
        with self._scope.db.read() as conn:
            return [record_of(DeclarationRecord, row) for row in conn.execute(query)]

    def delete(self, control_id: str) -> bool:
        """Withdraw a declaration; False if there was none."""
        stmt = delete(_declarations).where(
            self._scope.where(_declarations), _declarations.c.control_id == control_id
        )
        with self._scope.db.write() as conn:
            return bool(conn.execute(stmt).rowcount == 1)


def _check_declaration(record: DeclarationRecord) -> None:
    _check_outcome(record.outcome)
    if not record.control_id.strip() or len(record.control_id) > _NAME_CHARS:
        raise InvalidInput("a declaration needs a control id of at most 255 characters")
    if not record.justification.strip():
        raise InvalidInput("a declaration needs a justification")
    if len(record.justification) > MAX_JUSTIFICATION_CHARS:
        raise InvalidInput(f"the justification is longer than {MAX_JUSTIFICATION_CHARS} chars")
    if not record.declared_by.strip() or len(record.declared_by) > _NAME_CHARS:
        raise InvalidInput("a declaration needs who declared it (at most 255 characters)")
    if record.attachment is None:
        if record.attachment_name is not None or record.attachment_sha256 is not None:
            raise InvalidInput("an attachment name or digest was given without the attachment")
        return
    if len(record.attachment) > MAX_ATTACHMENT_BYTES:
        raise InvalidInput(f"the attachment is larger than {MAX_ATTACHMENT_BYTES} bytes")
    name = record.attachment_name
    if name is None or not name.strip() or len(name) > _NAME_CHARS:
        raise InvalidInput("an attachment needs a file name of at most 255 characters")
    stated = (record.attachment_sha256 or "").lower()
    actual = hashlib.sha256(record.attachment).hexdigest()
    if not hmac.compare_digest(stated, actual):
        raise InvalidInput("the attachment does not match its SHA-256 digest")


class SqlReportRepository:
    """``ReportRepository`` on SQL: a record of every signed report."""

    def __init__(self, scope: Scope) -> None:
        self._scope = scope

    def add(self, record: ReportRecord) -> None:
        """Record a report; Conflict on a duplicate id."""
        if len(record.content_sha256) != 64:
            raise InvalidInput("content_sha256 must be 64 hex digits")
        with self._scope.db.write() as conn:
            conn.execute(insert(_reports).values(self._scope.row(record)))

    def get(self, report_id: str) -> ReportRecord | None:
        query = select(_reports).where(self._scope.where(_reports), _reports.c.id == report_id)
        with self._scope.db.read() as conn:
            row = conn.execute(query).first()
        return None if row is None else record_of(ReportRecord, row)

    def latest(self, framework: str) -> ReportRecord | None:
        """The newest report of ``framework`` (the baseline of the next report's trend)."""
        found = self.list(framework, limit=1)
        return found[0] if found else None

    def list(self, framework: str | None = None, *, limit: int = 100) -> Sequence[ReportRecord]:
        """Reports, newest first (of one framework when given)."""
        query = select(_reports).where(self._scope.where(_reports))
        if framework is not None:
            query = query.where(_reports.c.framework == framework)
        query = query.order_by(_reports.c.created_at.desc(), _reports.c.id).limit(_limit(limit))
        with self._scope.db.read() as conn:
            return [record_of(ReportRecord, row) for row in conn.execute(query)]
