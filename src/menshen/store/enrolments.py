"""Device enrolment codes of one tenant: short-lived, single-use, kept only as hashes.

A signed-in user asks for a code and types it into the device agent, which presents it
once to enrol a device (NIST SP 800-63B §5.1.1.2 look-up secrets: the verifier stores a
hash, a code is used at most once). Redemption is a conditional UPDATE on ``used_at IS
NULL`` and the expiry, so two agents racing with one code cannot both enrol; done inside
the enrolment's transaction, the device and the spent code are written together or not at
all. Codes never bump the tenant revision: they change nothing the gateway keeps in memory.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, insert, select, update

from menshen.store.records import DeviceEnrolmentRecord
from menshen.store.schema import device_enrolments
from menshen.store.scoped import Scope, record_of

_table = device_enrolments


class SqlDeviceEnrolmentRepository:
    """``DeviceEnrolmentRepository`` on SQL."""

    def __init__(self, scope: Scope) -> None:
        self._scope = scope

    def add(self, record: DeviceEnrolmentRecord) -> None:
        """Store a new code; Conflict if its hash exists, NotFound if the user does not."""
        with self._scope.db.write() as conn:
            conn.execute(insert(_table).values(self._scope.row(record)))

    def get(self, code_hash: str) -> DeviceEnrolmentRecord | None:
        query = select(_table).where(self._scope.where(_table), _table.c.code_hash == code_hash)
        with self._scope.db.read() as conn:
            row = conn.execute(query).first()
        return None if row is None else record_of(DeviceEnrolmentRecord, row)

    def redeem(self, code_hash: str, *, at: datetime, device_id: str) -> bool:
        """Spend an unused, unexpired code on ``device_id``; False if it is not one."""
        stmt = (
            update(_table)
            .where(
                self._scope.where(_table),
                _table.c.code_hash == code_hash,
                _table.c.used_at.is_(None),
                _table.c.expires_at > at,
            )
            .values(used_at=at, device_id=device_id)
        )
        with self._scope.db.write() as conn:
            return conn.execute(stmt).rowcount == 1

    def purge(self, before: datetime) -> int:
        """Delete codes that expired before ``before`` (used or not); how many."""
        stmt = delete(_table).where(self._scope.where(_table), _table.c.expires_at < before)
        with self._scope.db.write() as conn:
            return int(conn.execute(stmt).rowcount)
