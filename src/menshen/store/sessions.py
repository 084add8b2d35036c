"""Server-side sessions of one tenant (OWASP ASVS v4 §3: session management).

Only the hash of the cookie token is stored and looked up. Revocation is a conditional
UPDATE (``revoked_at IS NULL``), so a session is revoked once and a rotation (NIST SP
800-63B §7.1: new session secret on re-authentication) cannot race a second rotation.
A session is bound to the enrolled device it is first used from (``device_id``, set once),
so revoking the device ends the sessions bound to it (NIST SP 800-207 §2.1 tenet 5).

A session opened through single sign-on has its provider login in ``federated_sessions``.
The login is handed over explicitly, in the transaction that changes the session: a rotation
that continues the same login (a second factor, a step-up) moves it to the new session id;
any other rotation (a new sign-in) and every revocation delete it, so a provider login never
outlives its session or passes to an unrelated one.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, bindparam, delete, insert, select, update

from menshen.errors import Conflict, InvalidInput, NotFound
from menshen.store.records import SessionRecord
from menshen.store.schema import federated_sessions, sessions
from menshen.store.scoped import Scope, record_of

ROTATED = "rotated"
ROTATED_BY = "system"


class SqlSessionRepository:
    """``SessionRepository`` on SQL."""

    def __init__(self, scope: Scope) -> None:
        self._scope = scope

    def add(self, session: SessionRecord) -> None:
        row = self._scope.row(session)
        with self._scope.db.write() as conn:
            conn.execute(insert(sessions).values(row))

    def get(self, session_id: str) -> SessionRecord | None:
        return self._first(select(sessions).where(sessions.c.id == session_id))

    def by_token_hash(self, token_hash: str) -> SessionRecord | None:
        return self._first(select(sessions).where(sessions.c.token_hash == token_hash))

    def list_for_user(
        self, user_id: str, *, include_revoked: bool = False
    ) -> Sequence[SessionRecord]:
        query = select(sessions).where(self._scope.where(sessions), sessions.c.user_id == user_id)
        if not include_revoked:
            query = query.where(sessions.c.revoked_at.is_(None))
        return self._all(query.order_by(sessions.c.created_at, sessions.c.id))

    def list_active(self, now: datetime) -> Sequence[SessionRecord]:
        """Sessions neither revoked, past their absolute expiry, nor idle too long."""
        query = (
            select(sessions)
            .where(
                self._scope.where(sessions),
                sessions.c.revoked_at.is_(None),
                sessions.c.absolute_expires_at > now,
            )
            .order_by(sessions.c.created_at, sessions.c.id)
        )
        # The idle rule needs per-row arithmetic that differs by dialect; it is cheap here.
        return [
            s
            for s in self._all(query)
            if s.last_seen_at + timedelta(seconds=s.idle_timeout_seconds) > now
        ]

    def replace(self, old_session_id: str, new: SessionRecord, *, same_login: bool = False) -> None:
        """Revoke ``old_session_id`` (reason 'rotated') and add ``new`` in one transaction.

        ``same_login``: ``new`` continues the old session's login (a second factor or a
        step-up), so its provider login moves to ``new``; otherwise ``new`` is a sign-in of
        its own and the old provider login is deleted. NotFound if the old session does not
        exist, Conflict if it is already revoked (a second rotation of the same session),
        InvalidInput if ``new`` is another user's.
        """
        row = self._scope.row(new)
        with self._scope.db.write() as conn:
            old = conn.execute(
                select(sessions.c.user_id, sessions.c.revoked_at).where(
                    self._scope.where(sessions), sessions.c.id == old_session_id
                )
            ).first()
            if old is None:
                raise NotFound(f"no session {old_session_id!r}")
            if old.user_id != new.user_id:
                raise InvalidInput("a session can only be replaced by one of the same user")
            revoked = conn.execute(
                self._revoke_statement(old_session_id).values(
                    revoked_at=new.created_at, revoked_by=ROTATED_BY, revoke_reason=ROTATED
                )
            ).rowcount
            if revoked != 1:
                raise Conflict(f"session {old_session_id!r} is already revoked")
            conn.execute(insert(sessions).values(row))
            if same_login:
                conn.execute(
                    update(federated_sessions)
                    .where(
                        self._scope.where(federated_sessions),
                        federated_sessions.c.session_id == old_session_id,
                    )
                    .values(session_id=new.id)
                )
            else:
                self._end_logins(conn, [old_session_id])

    def touch_many(self, last_seen: dict[str, datetime]) -> None:
        """Record last-seen times; a time never moves backwards, unknown ids are skipped."""
        if not last_seen:
            return
        stmt = (
            update(sessions)
            .where(
                self._scope.where(sessions),
                sessions.c.id == bindparam("b_id"),
                sessions.c.last_seen_at < bindparam("b_seen"),
            )
            .values(last_seen_at=bindparam("b_seen"))
        )
        params: list[dict[str, Any]] = [
            {"b_id": sid, "b_seen": seen} for sid, seen in sorted(last_seen.items())
        ]
        with self._scope.db.write() as conn:
            conn.execute(stmt, params)

    def bind_devices(self, devices: dict[str, str]) -> None:
        """Record the device each session was first used from (session id -> device id);
        a session bound already keeps its device, unknown ids are skipped."""
        if not devices:
            return
        stmt = (
            update(sessions)
            .where(
                self._scope.where(sessions),
                sessions.c.id == bindparam("b_id"),
                sessions.c.device_id.is_(None),
            )
            .values(device_id=bindparam("b_device"))
        )
        params: list[dict[str, Any]] = [
            {"b_id": sid, "b_device": device} for sid, device in sorted(devices.items())
        ]
        with self._scope.db.write() as conn:
            conn.execute(stmt, params)

    def revoke_for_device(self, device_id: str, *, at: datetime, by: str, reason: str) -> list[str]:
        """Revoke every live session bound to the device; the ids this call revoked."""
        stmt = (
            update(sessions)
            .where(
                self._scope.where(sessions),
                sessions.c.device_id == device_id,
                sessions.c.revoked_at.is_(None),
            )
            .values(revoked_at=at, revoked_by=by, revoke_reason=reason)
            .returning(sessions.c.id)
        )
        with self._scope.db.write() as conn:
            ids = sorted(conn.execute(stmt).scalars())
            self._end_logins(conn, ids)
        return ids

    def revoke(self, session_id: str, *, at: datetime, by: str, reason: str) -> bool:
        """Revoke one session; False if it does not exist or was revoked already."""
        stmt = self._revoke_statement(session_id).values(
            revoked_at=at, revoked_by=by, revoke_reason=reason
        )
        with self._scope.db.write() as conn:
            done: bool = conn.execute(stmt).rowcount == 1
            self._end_logins(conn, [session_id])
        return done

    def revoke_for_user(self, user_id: str, *, at: datetime, by: str, reason: str) -> list[str]:
        """Revoke every live session of the user; the ids this call revoked."""
        stmt = (
            update(sessions)
            .where(
                self._scope.where(sessions),
                sessions.c.user_id == user_id,
                sessions.c.revoked_at.is_(None),
            )
            .values(revoked_at=at, revoked_by=by, revoke_reason=reason)
            .returning(sessions.c.id)
        )
        with self._scope.db.write() as conn:
            ids = sorted(conn.execute(stmt).scalars())
            self._end_logins(conn, ids)
        return ids

    def revoked_since(self, since: datetime) -> Sequence[SessionRecord]:
        """Sessions revoked at or after ``since``, oldest revocation first."""
        query = (
            select(sessions)
            .where(self._scope.where(sessions), sessions.c.revoked_at >= since)
            .order_by(sessions.c.revoked_at, sessions.c.id)
        )
        return self._all(query)

    def _revoke_statement(self, session_id: str) -> Any:
        return update(sessions).where(
            self._scope.where(sessions),
            sessions.c.id == session_id,
            sessions.c.revoked_at.is_(None),
        )

    def _end_logins(self, conn: Connection, session_ids: list[str]) -> None:
        """Delete the provider logins of sessions that ended, in the caller's transaction."""
        if session_ids:
            conn.execute(
                delete(federated_sessions).where(
                    self._scope.where(federated_sessions),
                    federated_sessions.c.session_id.in_(session_ids),
                )
            )

    def _first(self, query: Any) -> SessionRecord | None:
        with self._scope.db.read() as conn:
            row = conn.execute(query.where(self._scope.where(sessions))).first()
        return None if row is None else record_of(SessionRecord, row)

    def _all(self, query: Any) -> list[SessionRecord]:
        with self._scope.db.read() as conn:
            return [record_of(SessionRecord, row) for row in conn.execute(query)]
