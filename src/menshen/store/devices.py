"""The device registry of one tenant and its device certificate authority.

NIST SP 800-207 §2.1 (tenet 5: the enterprise monitors the posture of every device). Posture
reports land through a conditional UPDATE on the last report time read before verification,
so of two reports verified at once only one is stored and a replayed report cannot win a
race against the report it copies. Revocation is a row state, never a delete: the device's
certificate serial stays on record as revoked.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, insert, select, update

from menshen.store.records import DeviceAuthorityRecord, DeviceRecord
from menshen.store.schema import device_authorities, devices
from menshen.store.scoped import Scope, insert_ignore, record_of

_table = devices


class SqlDeviceRepository:
    """``DeviceRepository`` on SQL."""

    def __init__(self, scope: Scope) -> None:
        self._scope = scope

    def add(self, device: DeviceRecord) -> None:
        """Store a new device; Conflict if its id or key is enrolled, NotFound if no user."""
        with self._scope.changing() as conn:
            conn.execute(insert(_table).values(self._scope.row(device)))

    def get(self, device_id: str) -> DeviceRecord | None:
        query = select(_table).where(self._scope.where(_table), _table.c.id == device_id)
        with self._scope.db.read() as conn:
            row = conn.execute(query).first()
        return None if row is None else record_of(DeviceRecord, row)

    def list_for_user(self, user_id: str) -> Sequence[DeviceRecord]:
        """The user's devices (revoked ones too), oldest first."""
        return self._list(_table.c.user_id == user_id)

    def list(self) -> Sequence[DeviceRecord]:
        """Every device of the tenant, oldest first."""
        return self._list()

    def approve(self, device_id: str, *, trust: str, by: str, at: datetime) -> bool:
        """Set the trust an admin vouches for; False if absent or revoked."""
        stmt = (
            update(_table)
            .where(*self._live(device_id))
            .values(approved_trust=trust, approved_by=by, approved_at=at)
        )
        with self._scope.changing() as conn:
            return conn.execute(stmt).rowcount == 1

    def record_posture(
        self,
        device_id: str,
        *,
        expected_reported_at: datetime | None,
        posture: dict[str, Any],
        reported_at: datetime,
        report_id: str,
        seen_at: datetime,
    ) -> bool:
        """Store a verified report if the last report time is still ``expected_reported_at``
        (and the device is not revoked); False otherwise."""
        column = _table.c.posture_reported_at
        last = column.is_(None) if expected_reported_at is None else column == expected_reported_at
        stmt = (
            update(_table)
            .where(*self._live(device_id), last)
            .values(
                posture=posture,
                posture_reported_at=reported_at,
                last_report_id=report_id,
                last_seen_at=seen_at,
            )
        )
        with self._scope.changing() as conn:
            return conn.execute(stmt).rowcount == 1

    def revoke(self, device_id: str, *, at: datetime, by: str, reason: str) -> bool:
        """Refuse the device from now on; False if absent or already revoked."""
        stmt = (
            update(_table)
            .where(*self._live(device_id))
            .values(revoked_at=at, revoked_by=by, revoke_reason=reason)
        )
        with self._scope.changing() as conn:
            return conn.execute(stmt).rowcount == 1

    def rename(self, device_id: str, name: str) -> bool:
        """Give a live device a new name; False if absent or revoked."""
        stmt = update(_table).where(*self._live(device_id)).values(name=name)
        with self._scope.changing() as conn:
            return conn.execute(stmt).rowcount == 1

    def authority(self) -> DeviceAuthorityRecord | None:
        """The tenant's device CA, if it has one yet."""
        query = select(device_authorities).where(self._scope.where(device_authorities))
        with self._scope.db.read() as conn:
            row = conn.execute(query).first()
        return None if row is None else record_of(DeviceAuthorityRecord, row)

    def add_authority(self, record: DeviceAuthorityRecord) -> bool:
        """Keep ``record`` as the tenant's CA unless one exists; whether it was kept."""
        values = self._scope.row(record)
        query = select(device_authorities.c.certificate_pem).where(
            self._scope.where(device_authorities)
        )
        with self._scope.changing() as conn:
            # Not the insert's rowcount: psycopg reports -1 for some ON CONFLICT inserts.
            insert_ignore(conn, device_authorities, values, ["tenant_id"])
            kept = conn.execute(query).scalar_one()
        return bool(kept == record.certificate_pem)

    def _list(self, *conditions: ColumnElement[bool]) -> Sequence[DeviceRecord]:
        query = (
            select(_table)
            .where(self._scope.where(_table), *conditions)
            .order_by(_table.c.created_at, _table.c.id)
        )
        with self._scope.db.read() as conn:
            return [record_of(DeviceRecord, row) for row in conn.execute(query)]

    def _live(self, device_id: str) -> tuple[ColumnElement[bool], ...]:
        return (
            self._scope.where(_table),
            _table.c.id == device_id,
            _table.c.revoked_at.is_(None),
        )
