"""The append-only audit log of one tenant (NIST SP 800-92 §4.3; hash chain in ``events``).

Rows are only ever inserted: there is no update or delete here. ``seq`` numbers the chain;
the primary key (tenant_id, seq) makes a second writer of the same seq fail, and a batch
must carry on exactly from the last row, so a stale writer cannot fork or gap the chain.

``append`` is the audit writer's hot path (one row per proxied request), so it skips
SQLAlchemy's per-row parameter processing: rows go to the driver as plain tuples in
multi-row ``INSERT ... VALUES`` statements of power-of-two row counts (``_CHUNK_SIZES``). The values
are those SQLAlchemy's column types would bind (``UtcDateTime``'s text form on SQLite, the
JSON text of ``details``), so what is stored does not change. Few statements per batch also
means few GIL hand-overs: the driver releases the GIL once per statement, not once per row.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import Connection, func, select

from menshen.errors import Conflict, InvalidInput, NotFound, StoreUnavailable
from menshen.store.records import AuditRecord
from menshen.store.schema import audit_events
from menshen.store.scoped import Scope, record_of

# 15 columns x 256 rows = 3,840 parameters: under SQLite's 32,766 limit. Batches are cut into
# power-of-two chunks (256, 128, ..., 1), so at most nine distinct statements are ever
# prepared: one statement per batch size would fill SQLite's statement cache with large
# prepared statements (measured: RSS +70 MB under load).
_CHUNK_SIZES = (256, 128, 64, 32, 16, 8, 4, 2, 1)
_COLUMNS = tuple(column.name for column in audit_events.columns)
_COPY_SQL = f"COPY audit_events ({', '.join(_COLUMNS)}) FROM STDIN"


class SqlAuditRepository:
    """``AuditRepository`` on SQL."""

    def __init__(self, scope: Scope) -> None:
        self._scope = scope

    def last(self) -> AuditRecord | None:
        """The row with the highest seq, or None for an empty log."""
        query = (
            select(audit_events)
            .where(self._scope.where(audit_events))
            .order_by(audit_events.c.seq.desc())
            .limit(1)
        )
        with self._scope.db.read() as conn:
            row = conn.execute(query).first()
        return None if row is None else record_of(AuditRecord, row)

    def append(self, records: Sequence[AuditRecord]) -> None:
        """Append rows whose seq continue the chain; Conflict if a seq is taken.

        The batch must be consecutive (InvalidInput otherwise) and start right after the
        current last seq (Conflict otherwise); it is inserted whole, in one transaction.
        """
        if not records:
            return
        db = self._scope.db
        sqlite = db.backend == "sqlite"
        # Values are built before the transaction, so the write lock is held for less time.
        rows = _sqlite_values(self._scope.tenant_id, records) if sqlite else None
        copied = None if sqlite else _postgres_values(self._scope.tenant_id, records)
        first = records[0].seq
        with db.write() as conn:
            top = conn.execute(
                select(func.max(audit_events.c.seq)).where(self._scope.where(audit_events))
            ).scalar_one_or_none()
            if top is not None and first != top + 1:
                raise Conflict(f"audit seq {first} does not follow the last seq {top}")
            if rows is not None:
                width = len(_COLUMNS)
                start = 0
                for size in _chunks(len(rows) // width):
                    end = start + size * width
                    conn.exec_driver_sql(_sqlite_insert(size), tuple(rows[start:end]))
                    start = end
            elif copied is not None:
                _copy_postgres(conn, copied)

    def iterate(self, *, after_seq: int = 0, batch: int = 1000) -> Iterator[AuditRecord]:
        """Every row with seq > ``after_seq`` in seq order, fetched ``batch`` rows at a time.

        No connection is held between batches, so a slow reader never blocks writers.
        """
        if batch < 1:
            raise InvalidInput("batch must be at least 1")
        cursor = after_seq
        while True:
            query = (
                select(audit_events)
                .where(self._scope.where(audit_events), audit_events.c.seq > cursor)
                .order_by(audit_events.c.seq)
                .limit(batch)
            )
            with self._scope.db.read() as conn:
                page = [record_of(AuditRecord, row) for row in conn.execute(query)]
            yield from page
            if len(page) < batch:
                return
            cursor = page[-1].seq


def _checked(tenant_id: str, records: Sequence[AuditRecord]) -> None:
    """The scope rule (``Scope.row``) and the chain rule, checked before anything is sent."""
    first = records[0].seq
    for index, record in enumerate(records):
        if record.tenant_id != tenant_id:
            raise InvalidInput(
                f"record of tenant {record.tenant_id!r} given to the store of {tenant_id!r}"
            )
        if record.seq != first + index:
            raise InvalidInput("audit rows of one append must have consecutive seq numbers")


def _utc(at: datetime) -> datetime:
    """What ``UtcDateTime`` binds on PostgreSQL: the instant in UTC; naive times refused."""
    if at.tzinfo is None or at.utcoffset() is None:
        raise InvalidInput(f"naive datetime {at.isoformat()} (times must be aware UTC)")
    return at.astimezone(UTC)


def _sqlite_values(tenant_id: str, records: Sequence[AuditRecord]) -> list[Any]:
    """The rows' column values, flat, as SQLAlchemy would bind them on SQLite."""
    _checked(tenant_id, records)
    dumps = json.dumps  # what the JSON type binds (no json_serializer is configured)
    params: list[Any] = []
    extend = params.extend
    for r in records:
        # UtcDateTime's naive UTC value in the SQLite DATETIME storage format
        # "YYYY-MM-DD HH:MM:SS.ffffff" (microseconds always written).
        at = _utc(r.at).isoformat(" ", "microseconds")[:-6]  # less "+00:00"
        extend(
            (
                r.tenant_id,
                r.seq,
                r.id,
                at,
                r.kind,
                r.outcome,
                r.actor,
                r.subject,
                r.app,
                r.ip,
                r.session_id,
                r.reason,
                dumps(r.details),
                r.prev_hash,
                r.hash,
            )
        )
    return params


def _postgres_values(tenant_id: str, records: Sequence[AuditRecord]) -> list[tuple[Any, ...]]:
    """The rows as tuples for psycopg's COPY (``details`` as JSON text for jsonb)."""
    _checked(tenant_id, records)
    dumps = json.dumps
    return [
        (
            r.tenant_id,
            r.seq,
            r.id,
            _utc(r.at),
            r.kind,
            r.outcome,
            r.actor,
            r.subject,
            r.app,
            r.ip,
            r.session_id,
            r.reason,
            dumps(r.details),
            r.prev_hash,
            r.hash,
        )
        for r in records
    ]


def _copy_postgres(conn: Connection, rows: list[tuple[Any, ...]]) -> None:
    """``COPY audit_events FROM STDIN`` on the transaction's own psycopg connection.

    COPY is PostgreSQL's bulk path: psycopg formats each row in C and streams them, with
    no per-row statement. Its errors do not pass through SQLAlchemy, so they are
    translated here as ``translate_errors`` would (a taken seq or id is a Conflict).
    """
    import psycopg  # only a PostgreSQL store needs the driver

    cursor = conn.connection.cursor()
    try:
        with cursor.copy(_COPY_SQL) as copy:
            write = copy.write_row
            for row in rows:
                write(row)
    except psycopg.errors.ForeignKeyViolation as exc:
        raise NotFound("a referenced object does not exist in this tenant") from exc
    except psycopg.IntegrityError as exc:
        raise Conflict("the object exists already or would break a uniqueness rule") from exc
    except psycopg.DataError as exc:
        raise InvalidInput("a value does not fit its column") from exc
    except (psycopg.OperationalError, psycopg.InterfaceError) as exc:
        raise StoreUnavailable(f"store unavailable: {type(exc).__name__}") from exc
    finally:
        cursor.close()


def _chunks(count: int) -> Iterator[int]:
    """``count`` rows as power-of-two chunk sizes, largest first (300 -> 256, 32, 8, 4)."""
    for size in _CHUNK_SIZES:
        while count >= size:
            yield size
            count -= size


@lru_cache(maxsize=len(_CHUNK_SIZES))
def _sqlite_insert(rows: int) -> str:
    """``INSERT INTO audit_events (...) VALUES (?, ...), ...`` for ``rows`` rows."""
    row = "(" + ", ".join("?" for _ in _COLUMNS) + ")"
    # Only our own identifiers and placeholders: every value travels as a parameter.
    return f"INSERT INTO audit_events ({', '.join(_COLUMNS)}) VALUES " + ", ".join(  # noqa: S608
        [row] * rows
    )
