"""The database connection: one SQLAlchemy engine per store, SQLite (WAL) or PostgreSQL.

SQLite runs in write-ahead-log mode (https://sqlite.org/wal.html) with foreign keys on and a
busy timeout; SQLAlchemy, not the ``sqlite3`` driver, emits BEGIN, so every read sees one
snapshot and every write takes the write lock up front (``BEGIN IMMEDIATE``) instead of
failing on a lock upgrade halfway through. PostgreSQL goes through psycopg 3.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import (
    ArgumentError,
    DataError,
    DBAPIError,
    IntegrityError,
    InterfaceError,
    OperationalError,
    StatementError,
)
from sqlalchemy.pool import ConnectionPoolEntry

from menshen.errors import (
    ConfigError,
    Conflict,
    InvalidInput,
    MenshenError,
    NotFound,
    StoreUnavailable,
)

SQLITE_FILE = "menshen.db"
BUSY_TIMEOUT_MS = 5000
_WRITE_OPTION = "menshen_write"
_SCHEMA_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")


class Database:
    """An engine for ``url``: ``sqlite:///PATH`` or ``postgresql+psycopg://...``.

    ``schema`` (PostgreSQL only) becomes the ``search_path`` of every connection, so one
    server can hold several independent stores (tests use this for isolation).
    """

    def __init__(self, url: str, *, schema: str | None = None) -> None:
        parsed = _parse(url)
        self.schema = schema
        self.backend: str
        if parsed.get_backend_name() == "sqlite":
            if schema is not None:
                raise ConfigError("a schema can only be chosen on PostgreSQL")
            self.backend = "sqlite"
            self.engine = _sqlite_engine(parsed)
        else:
            if schema is not None and not _SCHEMA_NAME.match(schema):
                raise ConfigError(f"invalid schema name {schema!r}")
            self.backend = "postgresql"
            self.engine = _postgres_engine(parsed, schema)
        self.url = parsed
        self._unit: ContextVar[Connection | None] = ContextVar(
            f"menshen_unit_{id(self)}", default=None
        )

    @classmethod
    def for_data_dir(cls, data_dir: str | Path) -> Database:
        """SQLite in ``data_dir/menshen.db``; the directory is created if needed."""
        directory = Path(data_dir)
        try:
            directory.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ConfigError(
                f"cannot create data directory: {exc}", source=str(directory)
            ) from exc
        return cls(f"sqlite:///{directory / SQLITE_FILE}")

    @contextmanager
    def read(self) -> Iterator[Connection]:
        """A connection with one consistent snapshot; nothing it does is committed.

        Inside ``unit_of_work`` it is the unit's connection, so reads see its writes.
        """
        shared = self._unit.get()
        if shared is not None:
            yield shared
            return
        with translate_errors(), self.engine.connect() as conn:
            yield conn

    @contextmanager
    def write(self) -> Iterator[Connection]:
        """One transaction that commits when the block ends and rolls back on error.

        Inside ``unit_of_work`` it joins the unit's transaction instead.
        """
        shared = self._unit.get()
        if shared is not None:
            yield shared
            return
        with translate_errors(), self.engine.connect() as conn:
            conn = conn.execution_options(**{_WRITE_OPTION: True})
            with conn.begin():
                yield conn

    @contextmanager
    def unit_of_work(self) -> Iterator[None]:
        """Every read and write of this thread in the block is one transaction: all or nothing."""
        if self._unit.get() is not None:
            yield  # already inside one: join it
            return
        with self.write() as conn:
            token = self._unit.set(conn)
            try:
                yield
            finally:
                self._unit.reset(token)

    def ping(self) -> None:
        """Round-trip to the database; ``StoreUnavailable`` if it does not answer."""
        with self.read() as conn:
            conn.execute(text("SELECT 1"))

    def dispose(self) -> None:
        self.engine.dispose()


@contextmanager
def translate_errors() -> Iterator[None]:
    """Turn a lost or unreachable database into ``StoreUnavailable`` (callers then deny)."""
    try:
        yield
    except IntegrityError as exc:
        if _is_missing_reference(exc):
            raise NotFound("a referenced object does not exist in this tenant") from exc
        raise Conflict("the object exists already or would break a uniqueness rule") from exc
    except DataError as exc:
        raise InvalidInput("a value does not fit its column") from exc
    except DBAPIError as exc:
        if _is_unavailable(exc):
            raise StoreUnavailable(f"store unavailable: {type(exc.orig).__name__}") from exc
        raise
    except StatementError as exc:
        # A value refused by a column type (e.g. a naive datetime) arrives wrapped.
        if isinstance(exc.orig, MenshenError):
            raise exc.orig from exc
        raise


def _is_missing_reference(exc: IntegrityError) -> bool:
    if getattr(exc.orig, "sqlstate", None) == "23503":
        return True
    return "FOREIGN KEY constraint failed" in str(exc.orig)


def _is_unavailable(exc: DBAPIError) -> bool:
    # SQLAlchemy picks the wrapper class from the DBAPI error's base class, so driver
    # subclasses (psycopg's ConnectionFailure, AdminShutdown...) all land here.
    return exc.connection_invalidated or isinstance(exc, OperationalError | InterfaceError)


def _parse(url: str) -> URL:
    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError) as exc:
        raise ConfigError(f"invalid database URL: {exc}") from exc
    backend, driver = parsed.get_backend_name(), parsed.get_driver_name()
    if backend == "sqlite" and driver in {"pysqlite", "sqlite"}:
        if parsed.database in (None, "", ":memory:"):
            raise ConfigError("a SQLite URL needs a file path: sqlite:///PATH")
        return parsed
    if backend == "postgresql" and (driver == "psycopg" or "+" not in parsed.drivername):
        return parsed.set(drivername="postgresql+psycopg")
    raise ConfigError(
        f"unsupported database URL scheme {parsed.drivername!r}: "
        "use sqlite:///PATH or postgresql+psycopg://..."
    )


def _sqlite_engine(url: URL) -> Engine:
    engine = create_engine(url, connect_args={"timeout": BUSY_TIMEOUT_MS / 1000})

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: ConnectionPoolEntry) -> None:
        # Take BEGIN away from the driver (see SQLAlchemy "sqlite_transactions").
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        immediate = conn.get_execution_options().get(_WRITE_OPTION, False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine


def _postgres_engine(url: URL, schema: str | None) -> Engine:
    connect_args: dict[str, Any] = {"connect_timeout": 5}
    if schema is not None:
        connect_args["options"] = f"-csearch_path={schema}"
    return create_engine(
        url,
        connect_args=connect_args,
        pool_pre_ping=True,
        pool_size=5,
        max_overflow=10,
    )
