"""Database URLs, SQLite connection settings, health and unavailability."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text

from menshen.errors import ConfigError, StoreUnavailable
from menshen.store.db import SQLITE_FILE, Database
from menshen.store.migrate import migrate
from menshen.store.sql import SqlStore


@pytest.mark.parametrize(
    "url",
    [
        "mysql://user@localhost/db",
        "oracle+cx_oracle://scott@host/db",
        "postgresql+psycopg2://postgres@localhost/test",
        "sqlite://",
        "sqlite:///:memory:",
        "not a url at all",
        "",
    ],
)
def test_unsupported_url_is_a_config_error(url: str) -> None:
    """Anything but a SQLite file or PostgreSQL over psycopg 3 is refused at start."""
    with pytest.raises(ConfigError):
        Database(url)


def test_plain_postgresql_url_uses_psycopg3() -> None:
    """postgresql:// is read as postgresql+psycopg:// (no connection is made)."""
    database = Database("postgresql://postgres@db.invalid:5432/menshen")
    assert database.url.drivername == "postgresql+psycopg"
    assert database.backend == "postgresql"
    database.dispose()


def test_schema_is_postgresql_only_and_must_be_an_identifier(tmp_path: Path) -> None:
    """A schema on SQLite, or a schema name that is not an identifier, is a ConfigError."""
    with pytest.raises(ConfigError):
        Database(f"sqlite:///{tmp_path / 'x.db'}", schema="s1")
    with pytest.raises(ConfigError):
        Database("postgresql+psycopg://postgres@db.invalid/test", schema='x"; DROP TABLE users')


def test_sqlite_connections_use_wal_and_foreign_keys(tmp_path: Path) -> None:
    """Every SQLite connection runs in WAL mode, synchronous=NORMAL, foreign keys on."""
    database = Database.for_data_dir(tmp_path)
    try:
        with database.read() as conn:
            assert conn.execute(text("PRAGMA journal_mode")).scalar_one() == "wal"
            assert conn.execute(text("PRAGMA synchronous")).scalar_one() == 1
            assert conn.execute(text("PRAGMA foreign_keys")).scalar_one() == 1
            assert conn.execute(text("PRAGMA busy_timeout")).scalar_one() >= 1000
    finally:
        database.dispose()


def test_data_dir_is_created_and_holds_the_database(tmp_path: Path) -> None:
    """for_data_dir creates the directory and puts menshen.db in it."""
    data_dir = tmp_path / "nested" / "data"
    database = Database.for_data_dir(data_dir)
    try:
        migrate(database)
    finally:
        database.dispose()
    assert (data_dir / SQLITE_FILE).is_file()


def test_data_dir_that_cannot_be_created_is_a_config_error(tmp_path: Path) -> None:
    """A data directory under a regular file cannot be created: ConfigError."""
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(ConfigError):
        Database.for_data_dir(blocker / "data")


def test_unreachable_database_is_store_unavailable(tmp_path: Path) -> None:
    """A database that cannot be opened raises StoreUnavailable, not a driver error."""
    database = Database(f"sqlite:///{tmp_path / 'missing-dir' / 'menshen.db'}")
    try:
        with pytest.raises(StoreUnavailable):
            database.ping()
        with pytest.raises(StoreUnavailable):
            SqlStore(database).tenants()
    finally:
        database.dispose()


def test_ping_answers_on_a_live_store(store: SqlStore) -> None:
    """ping() returns quietly when the database answers."""
    store.ping()
