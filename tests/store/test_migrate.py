"""Migrations: applied on every start, idempotent, and equal to the models."""

from __future__ import annotations

from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect

from menshen.store.migrate import current_revision, head_revision, migrate
from menshen.store.records import TenantRecord
from menshen.store.schema import metadata
from menshen.store.sql import SqlStore

from . import factories as f


def test_migrate_twice_is_a_no_op(store: SqlStore) -> None:
    """A second migrate leaves the revision at head and every row in place."""
    store.add_tenant(TenantRecord(id="t1", name="T", created_at=f.T0))
    store.tenant("t1").users.add(f.user())
    migrate(store.database)
    assert current_revision(store.database) == head_revision()
    assert head_revision() is not None
    assert store.tenant("t1").users.get("u1") == f.user()


def test_migrated_schema_matches_the_models(store: SqlStore) -> None:
    """The tables the migrations build are the tables the repositories use."""
    with store.database.read() as conn:
        differences = compare_metadata(MigrationContext.configure(conn), metadata)
    assert differences == []


def test_every_key_leads_with_tenant_id(store: SqlStore) -> None:
    """Each tenant table has tenant_id first in its primary and unique keys, FK to tenants."""
    with store.database.read() as conn:
        inspector = inspect(conn)
        tables = set(inspector.get_table_names()) - {"alembic_version", "tenants"}
        assert tables == set(metadata.tables) - {"tenants"}
        for table in tables:
            keys = [inspector.get_pk_constraint(table)["constrained_columns"]]
            keys += [u["column_names"] for u in inspector.get_unique_constraints(table)]
            assert all(key[0] == "tenant_id" for key in keys), table
            referred = {fk["referred_table"] for fk in inspector.get_foreign_keys(table)}
            assert "tenants" in referred, table


def test_open_without_url_migrates_sqlite_in_data_dir(tmp_path: Path) -> None:
    """SqlStore.open(None, dir) gives a migrated SQLite store under dir."""
    opened = SqlStore.open(None, tmp_path / "data")
    try:
        assert opened.database.backend == "sqlite"
        assert current_revision(opened.database) == head_revision()
        assert opened.tenants() == []
    finally:
        opened.close()
