"""Behavioural baselines and imported bad-address lists of one tenant (migration 0008).

Baselines are opaque versioned JSON documents to the store (their shape belongs to
``menshen.monitor.baselines.codec``); ``save`` upserts a batch in one transaction and
``iterate`` pages through them by key so start-up never holds one huge result set.
A bad-address list is replaced whole on import, so a re-import of a shorter feed drops the
prefixes that left it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, select, tuple_

from menshen.store.schema import monitor_bad_networks, monitor_baselines
from menshen.store.scoped import Scope, _insert, record_of

__all__ = [
    "BadNetworkRecord",
    "BaselineRecord",
    "SqlBadNetworkRepository",
    "SqlBaselineRepository",
]


@dataclass(frozen=True, slots=True)
class BaselineRecord:
    """One entity's saved baseline (``state`` is the codec's JSON document)."""

    tenant_id: str
    kind: str
    entity_id: str
    version: int
    state: dict[str, Any]
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class BadNetworkRecord:
    tenant_id: str
    list_name: str
    cidr: str
    note: str
    imported_at: datetime


class SqlBaselineRepository:
    """``BaselineRepository`` on SQL."""

    def __init__(self, scope: Scope) -> None:
        self._scope = scope

    def save(self, records: Sequence[BaselineRecord]) -> None:
        """Insert or replace ``records`` in one transaction."""
        if not records:
            return
        rows = [self._scope.row(record) for record in records]
        with self._scope.db.write() as conn:
            stmt = _insert(conn, monitor_baselines)
            stmt = stmt.on_conflict_do_update(
                index_elements=["tenant_id", "kind", "entity_id"],
                set_={
                    "version": stmt.excluded.version,
                    "state": stmt.excluded.state,
                    "updated_at": stmt.excluded.updated_at,
                },
            )
            conn.execute(stmt, rows)

    def get(self, kind: str, entity_id: str) -> BaselineRecord | None:
        query = select(monitor_baselines).where(
            self._scope.where(monitor_baselines),
            monitor_baselines.c.kind == kind,
            monitor_baselines.c.entity_id == entity_id,
        )
        with self._scope.db.read() as conn:
            row = conn.execute(query).first()
        return None if row is None else record_of(BaselineRecord, row)

    def iterate(self, *, batch: int = 1000) -> Iterable[BaselineRecord]:
        """Every saved baseline, ordered by kind and entity id, fetched ``batch`` at a time."""
        table = monitor_baselines
        after: tuple[str, str] | None = None
        while True:
            query = select(table).where(self._scope.where(table))
            if after is not None:
                query = query.where(tuple_(table.c.kind, table.c.entity_id) > after)
            query = query.order_by(table.c.kind, table.c.entity_id).limit(batch)
            with self._scope.db.read() as conn:
                page = [record_of(BaselineRecord, row) for row in conn.execute(query)]
            yield from page
            if len(page) < batch:
                return
            after = (page[-1].kind, page[-1].entity_id)

    def count(self) -> int:
        query = select(func.count()).where(self._scope.where(monitor_baselines))
        with self._scope.db.read() as conn:
            return int(conn.execute(query).scalar_one())

    def clear(self) -> int:
        """Forget every baseline of the tenant (before a rebuild); how many were removed."""
        stmt = delete(monitor_baselines).where(self._scope.where(monitor_baselines))
        with self._scope.db.write() as conn:
            return int(conn.execute(stmt).rowcount)


class SqlBadNetworkRepository:
    """``BadNetworkRepository`` on SQL."""

    def __init__(self, scope: Scope) -> None:
        self._scope = scope

    def replace(self, list_name: str, entries: Sequence[tuple[str, str]], at: datetime) -> int:
        """Make ``list_name`` exactly ``entries`` (cidr, note); how many prefixes it holds."""
        table = monitor_bad_networks
        unique = dict(entries)
        rows = [
            self._scope.row(BadNetworkRecord(self._scope.tenant_id, list_name, cidr, note, at))
            for cidr, note in unique.items()
        ]
        with self._scope.db.write() as conn:
            conn.execute(
                delete(table).where(self._scope.where(table), table.c.list_name == list_name)
            )
            if rows:
                conn.execute(table.insert(), rows)
        return len(rows)

    def list(self, list_name: str | None = None) -> Sequence[BadNetworkRecord]:
        table = monitor_bad_networks
        query = select(table).where(self._scope.where(table))
        if list_name is not None:
            query = query.where(table.c.list_name == list_name)
        query = query.order_by(table.c.list_name, table.c.cidr)
        with self._scope.db.read() as conn:
            return [record_of(BadNetworkRecord, row) for row in conn.execute(query)]

    def lists(self) -> dict[str, int]:
        """List name -> number of prefixes."""
        table = monitor_bad_networks
        query = (
            select(table.c.list_name, func.count())
            .where(self._scope.where(table))
            .group_by(table.c.list_name)
            .order_by(table.c.list_name)
        )
        with self._scope.db.read() as conn:
            return {str(name): int(count) for name, count in conn.execute(query)}

    def delete_list(self, list_name: str) -> int:
        table = monitor_bad_networks
        stmt = delete(table).where(self._scope.where(table), table.c.list_name == list_name)
        with self._scope.db.write() as conn:
            return int(conn.execute(stmt).rowcount)
