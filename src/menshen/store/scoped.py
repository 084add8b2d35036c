"""What every tenant repository shares: the tenant scope and the row <-> record mapping.

Every query a repository builds starts from ``Scope.where(table)`` and every row it writes
goes through ``Scope.row(record)``, which refuses a record of another tenant. This is the
one place the multi-tenant rule of DESIGN.md §5 is enforced for the SQL store.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import fields
from typing import Any, Protocol, TypeVar

from sqlalchemy import ColumnElement, Connection, Table, update
from sqlalchemy.dialects import postgresql, sqlite

from menshen.errors import InvalidInput
from menshen.store.db import Database
from menshen.store.schema import tenants


class _Record(Protocol):
    @property
    def tenant_id(self) -> str: ...


R = TypeVar("R")


class Scope:
    """One tenant of one database."""

    __slots__ = ("db", "tenant_id")

    def __init__(self, db: Database, tenant_id: str) -> None:
        self.db = db
        self.tenant_id = tenant_id

    @contextmanager
    def changing(self) -> Iterator[Connection]:
        """A write transaction that also bumps the tenant's revision (see ``schema.tenants``)."""
        with self.db.write() as conn:
            yield conn
            conn.execute(
                update(tenants)
                .where(tenants.c.id == self.tenant_id)
                .values(revision=tenants.c.revision + 1)
            )

    def where(self, table: Table) -> ColumnElement[bool]:
        """The tenant condition every statement on ``table`` carries."""
        return table.c.tenant_id == self.tenant_id

    def row(self, record: _Record) -> dict[str, Any]:
        """``record`` as column values; InvalidInput if it belongs to another tenant."""
        if record.tenant_id != self.tenant_id:
            raise InvalidInput(
                f"record of tenant {record.tenant_id!r} given to the store of {self.tenant_id!r}"
            )
        return {f.name: getattr(record, f.name) for f in fields(record)}  # type: ignore[arg-type]


def record_of(cls: type[R], row: Any) -> R:
    """Build a record from a result row whose column names are the record's field names."""
    mapping: Mapping[str, Any] = row._mapping
    return cls(**mapping)


def upsert(conn: Connection, table: Table, values: dict[str, Any], keys: list[str]) -> None:
    """Insert ``values`` or, when the key exists, replace its other columns."""
    stmt = _insert(conn, table).values(values)
    changed = {name: stmt.excluded[name] for name in values if name not in keys}
    conn.execute(stmt.on_conflict_do_update(index_elements=keys, set_=changed))


def insert_ignore(conn: Connection, table: Table, values: dict[str, Any], keys: list[str]) -> int:
    """Insert ``values`` unless the key exists; the number of rows inserted."""
    stmt = _insert(conn, table).values(values).on_conflict_do_nothing(index_elements=keys)
    return conn.execute(stmt).rowcount


def _insert(conn: Connection, table: Table) -> Any:
    if conn.dialect.name == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)
