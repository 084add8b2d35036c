"""Sessions opened through single sign-on and when each is next re-checked at its provider.

OpenID Connect Core 1.0 §12 (refresh) and RP-Initiated Logout 1.0 §2 (``id_token_hint``).
The tokens arrive sealed; this module only stores bytes. A re-check is claimed with a
conditional UPDATE on the ``next_check_at`` value read, so of several replicas only one
uses a refresh token at a time (a provider that rotates refresh tokens would treat a second,
concurrent use as a replay and end the login). A row follows its session through the
sessions repository (``menshen.store.sessions``): moved by a rotation that continues the same
login, deleted by any other rotation and by revocation, in the same transaction. These rows are
not part of the tenant's directory: writing them does not move the tenant's revision.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, delete, exists, insert, or_, select, update

from menshen.store.records import FederatedSessionRecord
from menshen.store.schema import federated_sessions, sessions
from menshen.store.scoped import Scope, record_of

_table = federated_sessions


class SqlFederatedSessionRepository:
    """``FederatedSessionRepository`` on SQL."""

    def __init__(self, scope: Scope) -> None:
        self._scope = scope

    def add(self, record: FederatedSessionRecord) -> None:
        """Store a new record; Conflict if the session has one, NotFound if no such session."""
        row = self._scope.row(record)
        with self._scope.db.write() as conn:
            conn.execute(insert(_table).values(row))

    def get(self, session_id: str) -> FederatedSessionRecord | None:
        query = select(_table).where(self._scope.where(_table), _table.c.session_id == session_id)
        with self._scope.db.read() as conn:
            row = conn.execute(query).first()
        return None if row is None else record_of(FederatedSessionRecord, row)

    def due(self, now: datetime, limit: int) -> Sequence[FederatedSessionRecord]:
        """Records due at ``now`` whose session is live (not revoked, not past its absolute
        expiry), the longest overdue first; at most ``limit``."""
        query = (
            select(_table)
            .where(
                self._scope.where(_table),
                _table.c.next_check_at <= now,
                exists().where(*self._session_of_row(), *self._live_session(now)),
            )
            .order_by(_table.c.next_check_at, _table.c.session_id)
            .limit(limit)
        )
        return self._all(query)

    def purge_ended(self, now: datetime) -> int:
        """Delete the records of sessions past their absolute expiry at ``now`` (or revoked,
        which the sessions repository already does when it revokes); how many."""
        ended = exists().where(
            *self._session_of_row(),
            or_(sessions.c.revoked_at.is_not(None), sessions.c.absolute_expires_at <= now),
        )
        stmt = delete(_table).where(self._scope.where(_table), ended)
        with self._scope.db.write() as conn:
            return int(conn.execute(stmt).rowcount)

    def claim(self, session_id: str, *, expected_next_check_at: datetime, until: datetime) -> bool:
        """Take the re-check: move ``next_check_at`` to ``until`` if it still is the value
        read; False if another process took it (or the record is gone)."""
        return self._update(session_id, expected_next_check_at, next_check_at=until)

    def checked(
        self,
        session_id: str,
        *,
        expected_next_check_at: datetime,
        refresh_token_sealed: bytes | None,
        id_token_sealed: bytes | None,
        checked_at: datetime,
        next_check_at: datetime,
    ) -> bool:
        """Record the outcome of a claimed re-check (new tokens, when it was confirmed, when
        to look again) if the claim still holds; False otherwise."""
        return self._update(
            session_id,
            expected_next_check_at,
            refresh_token_sealed=refresh_token_sealed,
            id_token_sealed=id_token_sealed,
            checked_at=checked_at,
            next_check_at=next_check_at,
        )

    def delete(self, session_id: str) -> bool:
        """Forget the record; False if there was none."""
        stmt = delete(_table).where(self._scope.where(_table), _table.c.session_id == session_id)
        with self._scope.db.write() as conn:
            return conn.execute(stmt).rowcount == 1

    # -- helpers ------------------------------------------------------------------------
    def _update(self, session_id: str, expected: datetime, **values: Any) -> bool:
        stmt = (
            update(_table)
            .where(
                self._scope.where(_table),
                _table.c.session_id == session_id,
                _table.c.next_check_at == expected,
            )
            .values(**values)
        )
        with self._scope.db.write() as conn:
            return conn.execute(stmt).rowcount == 1

    def _session_of_row(self) -> tuple[ColumnElement[bool], ...]:
        return (sessions.c.tenant_id == _table.c.tenant_id, sessions.c.id == _table.c.session_id)

    @staticmethod
    def _live_session(now: datetime) -> tuple[ColumnElement[bool], ...]:
        return (sessions.c.revoked_at.is_(None), sessions.c.absolute_expires_at > now)

    def _all(self, query: Any) -> list[FederatedSessionRecord]:
        with self._scope.db.read() as conn:
            return [record_of(FederatedSessionRecord, row) for row in conn.execute(query)]
