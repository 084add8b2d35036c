"""Second factors and the login throttle of one tenant.

TOTP replay protection (RFC 6238 §5.2: a verifier must not accept the same time step twice)
and single-use recovery codes (NIST SP 800-63B §5.1.2, look-up secrets) are conditional
UPDATEs whose row count is the answer, so two concurrent uses cannot both succeed.
Throttle counters back the rate limiting of NIST SP 800-63B §5.2.2; ``update`` holds the
counter's row lock from read to write so that parallel guesses cannot lose a count.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime

from sqlalchemy import Connection, delete, insert, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite

from menshen.errors import Conflict, InvalidInput
from menshen.store.records import RecoveryCodeRecord, ThrottleRecord, TotpRecord
from menshen.store.schema import login_throttle, recovery_codes, totp_credentials
from menshen.store.scoped import Scope, record_of, upsert

_UPDATE_ATTEMPTS = 3


class SqlCredentialRepository:
    """``CredentialRepository`` on SQL."""

    def __init__(self, scope: Scope) -> None:
        self._scope = scope

    def get_totp(self, user_id: str) -> TotpRecord | None:
        query = select(totp_credentials).where(
            self._scope.where(totp_credentials), totp_credentials.c.user_id == user_id
        )
        with self._scope.db.read() as conn:
            row = conn.execute(query).first()
        return None if row is None else record_of(TotpRecord, row)

    def put_totp(self, record: TotpRecord) -> None:
        """Insert or replace the user's TOTP credential; NotFound if the user is unknown."""
        row = self._scope.row(record)
        with self._scope.changing() as conn:
            upsert(conn, totp_credentials, row, ["tenant_id", "user_id"])

    def delete_totp(self, user_id: str) -> None:
        """Remove the user's TOTP credential; nothing happens if there is none."""
        stmt = delete(totp_credentials).where(
            self._scope.where(totp_credentials), totp_credentials.c.user_id == user_id
        )
        with self._scope.changing() as conn:
            conn.execute(stmt)

    def advance_totp_step(self, user_id: str, step: int) -> bool:
        """Atomically set last_used_step=step if it is greater; False if not (replay)."""
        column = totp_credentials.c.last_used_step
        stmt = (
            update(totp_credentials)
            .where(
                self._scope.where(totp_credentials),
                totp_credentials.c.user_id == user_id,
                or_(column.is_(None), column < step),
            )
            .values(last_used_step=step)
        )
        with self._scope.db.write() as conn:
            return conn.execute(stmt).rowcount == 1

    def replace_recovery_codes(self, user_id: str, codes: Sequence[RecoveryCodeRecord]) -> None:
        """Drop every code of the user and store ``codes`` instead, in one transaction."""
        rows = [self._scope.row(code) for code in codes]
        if any(row["user_id"] != user_id for row in rows):
            raise InvalidInput(f"recovery codes given for {user_id!r} name another user")
        with self._scope.db.write() as conn:
            conn.execute(
                delete(recovery_codes).where(
                    self._scope.where(recovery_codes), recovery_codes.c.user_id == user_id
                )
            )
            if rows:
                conn.execute(insert(recovery_codes), rows)

    def recovery_codes(self, user_id: str) -> Sequence[RecoveryCodeRecord]:
        query = (
            select(recovery_codes)
            .where(self._scope.where(recovery_codes), recovery_codes.c.user_id == user_id)
            .order_by(recovery_codes.c.id)
        )
        with self._scope.db.read() as conn:
            return [record_of(RecoveryCodeRecord, row) for row in conn.execute(query)]

    def use_recovery_code(self, user_id: str, code_hash: str, at: datetime) -> bool:
        """Atomically mark an unused code used; False if none matched (or already used)."""
        stmt = (
            update(recovery_codes)
            .where(
                self._scope.where(recovery_codes),
                recovery_codes.c.user_id == user_id,
                recovery_codes.c.code_hash == code_hash,
                recovery_codes.c.used_at.is_(None),
            )
            .values(used_at=at)
        )
        with self._scope.db.write() as conn:
            return conn.execute(stmt).rowcount == 1


class SqlThrottleRepository:
    """``ThrottleRepository`` on SQL."""

    def __init__(self, scope: Scope) -> None:
        self._scope = scope

    def get(self, key: str) -> ThrottleRecord | None:
        query = select(login_throttle).where(
            self._scope.where(login_throttle), login_throttle.c.key == key
        )
        with self._scope.db.read() as conn:
            row = conn.execute(query).first()
        return None if row is None else record_of(ThrottleRecord, row)

    def put(self, record: ThrottleRecord) -> None:
        row = self._scope.row(record)
        with self._scope.db.write() as conn:
            upsert(conn, login_throttle, row, ["tenant_id", "key"])

    def clear(self, key: str) -> None:
        """Forget the counter for ``key``; nothing happens if there is none."""
        stmt = delete(login_throttle).where(
            self._scope.where(login_throttle), login_throttle.c.key == key
        )
        with self._scope.db.write() as conn:
            conn.execute(stmt)

    def update(
        self, key: str, change: Callable[[ThrottleRecord | None], ThrottleRecord]
    ) -> ThrottleRecord:
        """Atomically store ``change(current)`` for ``key`` and return it.

        Inside one write transaction: read the row ``FOR UPDATE`` (PostgreSQL; SQLite's
        ``BEGIN IMMEDIATE`` already holds the database write lock), apply ``change``, write.
        A missing row cannot be locked, so the first counter is inserted with ON CONFLICT
        DO NOTHING; if a racing transaction inserted it first (PostgreSQL waits for it to
        commit), read it again, locked: under READ COMMITTED that read sees the new row.
        """
        where = (self._scope.where(login_throttle), login_throttle.c.key == key)
        locked_read = select(login_throttle).where(*where).with_for_update()
        with self._scope.db.write() as conn:
            for _ in range(_UPDATE_ATTEMPTS):
                row = conn.execute(locked_read).first()
                current = None if row is None else record_of(ThrottleRecord, row)
                record = change(current)
                values = self._values_for(key, record)
                if current is not None:
                    conn.execute(update(login_throttle).where(*where).values(values))
                    return record
                if _insert_new(conn, values):
                    return record
        # Only a counter created and cleared again between every attempt gets here.
        raise Conflict(f"throttle counter {key!r} kept changing during the update")

    def _values_for(self, key: str, record: ThrottleRecord) -> dict[str, object]:
        if record.key != key:
            raise InvalidInput(f"throttle update for {key!r} produced a record for {record.key!r}")
        return self._scope.row(record)


def _insert_new(conn: Connection, values: dict[str, object]) -> bool:
    """Insert the first counter for a key; False if a racing transaction inserted it first."""
    # RETURNING, not rowcount: SQLAlchemy reports no rowcount for INSERT on psycopg.
    dialect_insert = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
    stmt = (
        dialect_insert(login_throttle)
        .values(values)
        .on_conflict_do_nothing(index_elements=["tenant_id", "key"])
        .returning(login_throttle.c.key)
    )
    return conn.execute(stmt).first() is not None
