"""Declarative objects of one tenant (apps, policies, inventory, zones) as applied from YAML.

Stored whole as JSON, keyed by kind and name, so ``menshen apply`` and ``menshen export``
round-trip what the firm keeps in git.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import delete, select

from menshen.errors import NotFound
from menshen.store.records import ConfigObjectRecord
from menshen.store.schema import config_objects
from menshen.store.scoped import Scope, record_of, upsert


class SqlConfigRepository:
    """``ConfigRepository`` on SQL."""

    def __init__(self, scope: Scope) -> None:
        self._scope = scope

    def get(self, kind: str, name: str) -> ConfigObjectRecord | None:
        query = select(config_objects).where(
            self._scope.where(config_objects),
            config_objects.c.kind == kind,
            config_objects.c.name == name,
        )
        with self._scope.db.read() as conn:
            row = conn.execute(query).first()
        return None if row is None else record_of(ConfigObjectRecord, row)

    def list(self, kind: str | None = None) -> Sequence[ConfigObjectRecord]:
        """Objects of ``kind`` (every kind when None), by kind then name."""
        query = select(config_objects).where(self._scope.where(config_objects))
        if kind is not None:
            query = query.where(config_objects.c.kind == kind)
        query = query.order_by(config_objects.c.kind, config_objects.c.name)
        with self._scope.db.read() as conn:
            return [record_of(ConfigObjectRecord, row) for row in conn.execute(query)]

    def put(self, record: ConfigObjectRecord) -> None:
        row = self._scope.row(record)
        with self._scope.changing() as conn:
            upsert(conn, config_objects, row, ["tenant_id", "kind", "name"])

    def delete(self, kind: str, name: str) -> None:
        """Remove one object; NotFound if there is no such object."""
        stmt = delete(config_objects).where(
            self._scope.where(config_objects),
            config_objects.c.kind == kind,
            config_objects.c.name == name,
        )
        with self._scope.changing() as conn:
            if conn.execute(stmt).rowcount == 0:
                raise NotFound(f"no {kind} {name!r}")
