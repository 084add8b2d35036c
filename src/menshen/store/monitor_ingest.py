"""Repositories of the monitoring pipeline: event sources, quarantined input, cursors.

Source tokens are stored as their SHA-256 only (a database read does not give a token away);
the lookup is by hash, which is as good as a constant-time compare for a 256-bit random
token. The quarantine is bounded by time and by count (``purge``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, func, select

from menshen.store.records import AuditRecord
from menshen.store.schema import (
    audit_events,
    monitor_cursors,
    monitor_quarantine,
    monitor_sources,
)
from menshen.store.scoped import Scope, record_of, upsert

__all__ = [
    "MonitorSourceRecord",
    "QuarantineRecord",
    "SqlMonitorCursorRepository",
    "SqlMonitorSourceRepository",
    "SqlQuarantineRepository",
]


@dataclass(frozen=True, slots=True)
class MonitorSourceRecord:
    tenant_id: str
    name: str
    format: str
    token_hash: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class QuarantineRecord:
    """Input that was refused: when, from which source, why (``reason`` a fixed label,
    ``detail`` the specifics) and at most a few hundred characters of it."""

    tenant_id: str
    id: str
    source: str
    at: datetime
    reason: str
    detail: str
    excerpt: str


class SqlMonitorSourceRepository:
    def __init__(self, scope: Scope) -> None:
        self._scope = scope

    def add(self, record: MonitorSourceRecord) -> None:
        """Add a source; Conflict if the name (or token) is taken."""
        with self._scope.db.write() as conn:
            conn.execute(monitor_sources.insert().values(self._scope.row(record)))

    def list(self) -> Sequence[MonitorSourceRecord]:
        query = (
            select(monitor_sources)
            .where(self._scope.where(monitor_sources))
            .order_by(monitor_sources.c.name)
        )
        with self._scope.db.read() as conn:
            return [record_of(MonitorSourceRecord, row) for row in conn.execute(query)]

    def by_token_hash(self, token_hash: str) -> MonitorSourceRecord | None:
        query = select(monitor_sources).where(
            self._scope.where(monitor_sources), monitor_sources.c.token_hash == token_hash
        )
        with self._scope.db.read() as conn:
            row = conn.execute(query).first()
        return None if row is None else record_of(MonitorSourceRecord, row)

    def remove(self, name: str) -> bool:
        """Delete the source; False if there was none."""
        with self._scope.db.write() as conn:
            result = conn.execute(
                delete(monitor_sources).where(
                    self._scope.where(monitor_sources), monitor_sources.c.name == name
                )
            )
        return result.rowcount > 0


class SqlQuarantineRepository:
    def __init__(self, scope: Scope) -> None:
        self._scope = scope

    def add_many(self, records: Sequence[QuarantineRecord]) -> None:
        if not records:
            return
        rows = [self._scope.row(record) for record in records]
        with self._scope.db.write() as conn:
            conn.execute(monitor_quarantine.insert(), rows)

    def list(self, *, source: str | None = None, limit: int = 100) -> Sequence[QuarantineRecord]:
        """The newest entries first."""
        query = select(monitor_quarantine).where(self._scope.where(monitor_quarantine))
        if source is not None:
            query = query.where(monitor_quarantine.c.source == source)
        query = query.order_by(monitor_quarantine.c.at.desc(), monitor_quarantine.c.id).limit(limit)
        with self._scope.db.read() as conn:
            return [record_of(QuarantineRecord, row) for row in conn.execute(query)]

    def purge(self, *, before: datetime, keep: int) -> int:
        """Delete entries older than ``before`` and all but the newest ``keep``; how many."""
        table = monitor_quarantine
        with self._scope.db.write() as conn:
            removed = conn.execute(
                delete(table).where(self._scope.where(table), table.c.at < before)
            ).rowcount
            count = conn.execute(
                select(func.count()).select_from(table).where(self._scope.where(table))
            ).scalar_one()
            if count > keep:
                cutoff = conn.execute(
                    select(table.c.at)
                    .where(self._scope.where(table))
                    .order_by(table.c.at.desc())
                    .offset(keep)
                    .limit(1)
                ).scalar_one()
                removed += conn.execute(
                    delete(table).where(self._scope.where(table), table.c.at <= cutoff)
                ).rowcount
        return int(removed)


class SqlMonitorCursorRepository:
    def __init__(self, scope: Scope) -> None:
        self._scope = scope

    def get(self, consumer: str) -> int | None:
        query = select(monitor_cursors.c.seq).where(
            self._scope.where(monitor_cursors), monitor_cursors.c.consumer == consumer
        )
        with self._scope.db.read() as conn:
            value = conn.execute(query).scalar_one_or_none()
        return None if value is None else int(value)

    def put(self, consumer: str, seq: int, at: datetime) -> None:
        values = {"tenant_id": self._scope.tenant_id, "consumer": consumer, "seq": seq}
        values_at = {**values, "updated_at": at}
        with self._scope.db.write() as conn:
            upsert(conn, monitor_cursors, values_at, ["tenant_id", "consumer"])

    def audit_ids_after(self, after_seq: int, limit: int) -> list[tuple[int, str]]:
        """(seq, id) of the audit rows after ``after_seq``, in order: the narrow read the
        catch-up ticks live events off with (no JSON details decoded)."""
        query = (
            select(audit_events.c.seq, audit_events.c.id)
            .where(self._scope.where(audit_events), audit_events.c.seq > after_seq)
            .order_by(audit_events.c.seq)
            .limit(limit)
        )
        with self._scope.db.read() as conn:
            return [(int(row.seq), str(row.id)) for row in conn.execute(query)]

    def audit_rows(self, seqs: Sequence[int]) -> list[AuditRecord]:
        """The full audit rows with these seq numbers, in seq order."""
        rows: list[AuditRecord] = []
        for start in range(0, len(seqs), 500):
            chunk = list(seqs[start : start + 500])
            query = (
                select(audit_events)
                .where(self._scope.where(audit_events), audit_events.c.seq.in_(chunk))
                .order_by(audit_events.c.seq)
            )
            with self._scope.db.read() as conn:
                rows.extend(record_of(AuditRecord, row) for row in conn.execute(query))
        return rows
