"""What the monitor's response keeps: risk scores, response actions and incidents.

Writes here do not bump the tenant's revision (``Scope.changing``): the gateway's directory
does not depend on them, and a finding must not make every replica reload it. An action's
``dedupe_key`` is unique per tenant, so one finding leads to one action even when two
replicas see it (NIST SP 800-61r2 §3.3 containment; §3.2.5 incident documentation).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import delete, or_, select, update

from menshen.errors import NotFound
from menshen.store.schema import incidents, response_actions, risk_scores
from menshen.store.scoped import Scope, insert_ignore, record_of, upsert


@dataclass(frozen=True, slots=True)
class RiskScoreRecord:
    tenant_id: str
    subject: str  # "kind:id", as ``str(Entity)``
    score: float
    level: str
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class ResponseActionRecord:
    """One action of a playbook: ``state`` is done, observed (observe-only), failed, undone."""

    tenant_id: str
    id: str
    dedupe_key: str
    playbook: str
    action: str
    subject: str
    target: str
    state: str
    reason: str
    created_at: datetime
    incident_id: str | None = None
    details: dict[str, Any] = field(default_factory=dict)
    expires_at: datetime | None = None
    undone_at: datetime | None = None
    undone_by: str | None = None


@dataclass(frozen=True, slots=True)
class IncidentRecord:
    """An incident row; ``findings`` and ``notes`` are lists of JSON objects."""

    tenant_id: str
    id: str
    subject: str
    source_ip: str | None
    title: str
    severity: int
    state: str
    first_event_at: datetime
    detected_at: datetime
    last_finding_at: datetime
    responded_at: datetime | None = None
    acknowledged_at: datetime | None = None
    closed_at: datetime | None = None
    assignee: str | None = None
    findings: list[dict[str, Any]] = field(default_factory=list)
    notes: list[dict[str, Any]] = field(default_factory=list)


class SqlRiskScoreRepository:
    def __init__(self, scope: Scope) -> None:
        self._scope = scope

    def put(self, record: RiskScoreRecord) -> None:
        with self._scope.db.write() as conn:
            upsert(conn, risk_scores, self._scope.row(record), ["tenant_id", "subject"])

    def delete(self, subject: str) -> None:
        stmt = delete(risk_scores).where(
            self._scope.where(risk_scores), risk_scores.c.subject == subject
        )
        with self._scope.db.write() as conn:
            conn.execute(stmt)

    def list(self) -> Sequence[RiskScoreRecord]:
        query = select(risk_scores).where(self._scope.where(risk_scores))
        with self._scope.db.read() as conn:
            return [record_of(RiskScoreRecord, row) for row in conn.execute(query)]


class SqlResponseActionRepository:
    def __init__(self, scope: Scope) -> None:
        self._scope = scope

    def add(self, record: ResponseActionRecord) -> ResponseActionRecord:
        """Store ``record`` unless an action with its ``dedupe_key`` exists; the stored one
        (``record`` itself, or the earlier action with that key)."""
        table = response_actions
        query = select(table).where(
            self._scope.where(table), table.c.dedupe_key == record.dedupe_key
        )
        with self._scope.db.write() as conn:
            insert_ignore(conn, table, self._scope.row(record), ["tenant_id", "dedupe_key"])
            row = conn.execute(query).one()
        return record_of(ResponseActionRecord, row)

    def get(self, action_id: str) -> ResponseActionRecord | None:
        table = response_actions
        query = select(table).where(self._scope.where(table), table.c.id == action_id)
        with self._scope.db.read() as conn:
            row = conn.execute(query).first()
        return None if row is None else record_of(ResponseActionRecord, row)

    def list(self, *, limit: int = 100) -> Sequence[ResponseActionRecord]:
        """The newest ``limit`` actions, newest first."""
        table = response_actions
        query = (
            select(table)
            .where(self._scope.where(table))
            .order_by(table.c.created_at.desc(), table.c.id)
            .limit(limit)
        )
        with self._scope.db.read() as conn:
            return [record_of(ResponseActionRecord, row) for row in conn.execute(query)]

    def active(self, now: datetime) -> Sequence[ResponseActionRecord]:
        """Actions in force at ``now``: done (or being taken), not undone, not expired."""
        table = response_actions
        query = select(table).where(
            self._scope.where(table),
            table.c.state.in_(("done", "running")),
            table.c.undone_at.is_(None),
            or_(table.c.expires_at.is_(None), table.c.expires_at > now),
        )
        with self._scope.db.read() as conn:
            return [record_of(ResponseActionRecord, row) for row in conn.execute(query)]

    def finish(self, action_id: str, *, state: str, details: dict[str, Any]) -> None:
        """Record how the action went (done or failed) and what it did."""
        self._update(action_id, state=state, details=details)

    def undo(self, action_id: str, *, at: datetime, by: str) -> bool:
        """Mark a done action undone; False if it is not (absent, observed, already undone)."""
        table = response_actions
        stmt = (
            update(table)
            .where(
                self._scope.where(table),
                table.c.id == action_id,
                table.c.state == "done",
                table.c.undone_at.is_(None),
            )
            .values(state="undone", undone_at=at, undone_by=by)
        )
        with self._scope.db.write() as conn:
            return conn.execute(stmt).rowcount == 1

    def _update(self, action_id: str, **values: Any) -> None:
        table = response_actions
        stmt = (
            update(table).where(self._scope.where(table), table.c.id == action_id).values(**values)
        )
        with self._scope.db.write() as conn:
            if conn.execute(stmt).rowcount != 1:
                raise NotFound(f"no action {action_id!r}")


class SqlIncidentRepository:
    def __init__(self, scope: Scope) -> None:
        self._scope = scope

    def put(self, record: IncidentRecord) -> None:
        """Insert or replace the incident."""
        with self._scope.db.write() as conn:
            upsert(conn, incidents, self._scope.row(record), ["tenant_id", "id"])

    def get(self, incident_id: str) -> IncidentRecord | None:
        query = select(incidents).where(self._scope.where(incidents), incidents.c.id == incident_id)
        with self._scope.db.read() as conn:
            row = conn.execute(query).first()
        return None if row is None else record_of(IncidentRecord, row)

    def list(
        self, *, since: datetime | None = None, until: datetime | None = None, limit: int = 1000
    ) -> Sequence[IncidentRecord]:
        """Incidents detected in [since, until), newest first."""
        table = incidents
        query = select(table).where(self._scope.where(table))
        if since is not None:
            query = query.where(table.c.detected_at >= since)
        if until is not None:
            query = query.where(table.c.detected_at < until)
        query = query.order_by(table.c.detected_at.desc(), table.c.id).limit(limit)
        with self._scope.db.read() as conn:
            return [record_of(IncidentRecord, row) for row in conn.execute(query)]

    def open_since(self, since: datetime) -> Sequence[IncidentRecord]:
        """Incidents not closed with a finding at or after ``since`` (grouping candidates)."""
        table = incidents
        query = select(table).where(
            self._scope.where(table), table.c.state != "closed", table.c.last_finding_at >= since
        )
        with self._scope.db.read() as conn:
            return [record_of(IncidentRecord, row) for row in conn.execute(query)]
