"""Shared fixtures: stores on SQLite and PostgreSQL, and the missing-service policy.

``store`` / ``tenant_store`` run a test once per back-end (PostgreSQL cases carry the
``postgres`` marker); ``sqlite_store`` is the fast choice for tests that only need a working
store. Each PostgreSQL store lives in its own schema, dropped afterwards, so parallel
workers and parallel runs never see each other's rows.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import NoReturn

import pytest
from sqlalchemy import text

from menshen.errors import StoreUnavailable
from menshen.store.db import Database
from menshen.store.migrate import migrate
from menshen.store.records import TenantRecord
from menshen.store.sql import SqlStore, SqlTenantStore

POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
TENANT_CREATED = datetime(2026, 1, 1, tzinfo=UTC)


def require_service(name: str, reason: str) -> NoReturn:
    """A needed service is missing: skip locally, fail on CI (where nothing may be missing)."""
    message = f"{name} is not available: {reason}"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture(scope="session")
def postgres_url() -> str:
    """The test PostgreSQL server's URL, once it has answered a ping."""
    url = os.environ.get("MENSHEN_TEST_POSTGRES_URL", POSTGRES_URL)
    probe = Database(url)
    try:
        probe.ping()
    except StoreUnavailable as exc:
        require_service("PostgreSQL", f"{url} does not answer ({exc})")
    finally:
        probe.dispose()
    return url


def make_postgres_database(url: str) -> Database:
    """A database in a fresh, empty schema of its own (drop it with ``drop_postgres_schema``)."""
    schema = f"menshen_{secrets.token_hex(8)}"
    admin = Database(url)
    try:
        with admin.write() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    finally:
        admin.dispose()
    return Database(url, schema=schema)


def drop_postgres_schema(database: Database) -> None:
    """Drop the schema ``database`` lives in, with everything in it."""
    database.dispose()
    admin = Database(database.url.render_as_string(hide_password=False))
    try:
        with admin.write() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{database.schema}" CASCADE'))
    finally:
        admin.dispose()


def _sqlite_database(directory: Path) -> Database:
    return Database.for_data_dir(directory)


@pytest.fixture(
    params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)],
)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[SqlStore]:
    """A migrated, empty ``SqlStore`` on each back-end."""
    if request.param == "sqlite":
        database = _sqlite_database(tmp_path / "data")
        migrate(database)
        yield SqlStore(database)
        database.dispose()
        return
    url: str = request.getfixturevalue("postgres_url")
    database = make_postgres_database(url)
    try:
        migrate(database)
        yield SqlStore(database)
    finally:
        drop_postgres_schema(database)


@pytest.fixture
def tenant_store(store: SqlStore) -> SqlTenantStore:
    """The repositories of a fresh tenant "t1" in ``store``."""
    store.add_tenant(TenantRecord(id="t1", name="Tenant One", created_at=TENANT_CREATED))
    return store.tenant("t1")


@pytest.fixture
def sqlite_store(tmp_path: Path) -> Iterator[SqlStore]:
    """A migrated SQLite store in a temporary directory, with tenant "t1" added."""
    database = _sqlite_database(tmp_path / "sqlite-data")
    migrate(database)
    sql_store = SqlStore(database)
    sql_store.add_tenant(TenantRecord(id="t1", name="Tenant One", created_at=TENANT_CREATED))
    yield sql_store
    database.dispose()
