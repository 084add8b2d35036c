"""Bring a database to the newest schema (Alembic ``upgrade head``), on every start.

The Alembic configuration is built here, pointing inside the installed package, so no
``alembic.ini`` is needed. Upgrading a database that is already current does nothing.
Concurrent starts are serialised: PostgreSQL by an advisory lock, SQLite by its write lock.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import text

from menshen.store.db import Database

MIGRATIONS = Path(__file__).parent / "migrations"
# An arbitrary constant naming "menshen schema migration" among advisory locks.
_ADVISORY_LOCK_KEY = 0x6D656E7368656E


def alembic_config() -> Config:
    """The Alembic configuration for the packaged migrations."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def head_revision() -> str | None:
    """The newest revision the package knows."""
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def current_revision(database: Database) -> str | None:
    """The revision the database is at, or None if it was never migrated."""
    with database.read() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def migrate(database: Database) -> None:
    """Upgrade ``database`` to the newest revision; a no-op when it is current."""
    with database.write() as conn:
        if database.backend == "postgresql":
            if database.schema is not None:
                conn.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{database.schema}"'))
            conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _ADVISORY_LOCK_KEY})
        config = alembic_config()
        config.attributes["connection"] = conn
        command.upgrade(config, "head")
