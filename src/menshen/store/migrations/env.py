"""Alembic environment: runs on the connection that ``menshen.store.migrate`` hands over.

No ``alembic.ini`` and no URL here: the caller owns the connection and its transaction.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from menshen.store.schema import metadata


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        compare_type=True,
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()


def _main() -> None:
    connection = context.config.attributes.get("connection")
    if not isinstance(connection, Connection):
        raise RuntimeError("menshen migrations run through menshen.store.migrate only")
    _run(connection)


_main()
