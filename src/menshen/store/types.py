"""Column types that make both back-ends hand back the same Python values.

Datetimes are stored as UTC (ISO 8601 / RFC 3339 instants) and always come back as aware
UTC ``datetime`` objects; SQLite has no time-zone type, so the zone is normalised on the way
in and re-attached on the way out. JSON bodies use ``jsonb`` on PostgreSQL.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, DateTime
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator, TypeEngine

from menshen.errors import InvalidInput


class UtcDateTime(TypeDecorator[datetime]):
    """An aware UTC datetime on every back-end; naive datetimes are refused."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise InvalidInput(f"naive datetime {value.isoformat()} (times must be aware UTC)")
        utc = value.astimezone(UTC)
        if dialect.name == "sqlite":
            # Stored as text "YYYY-MM-DD HH:MM:SS.ffffff" in UTC, which sorts as time sorts.
            return utc.replace(tzinfo=None)
        return utc

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def json_type() -> TypeEngine[Any]:
    """JSON on SQLite, JSONB on PostgreSQL."""
    return JSON().with_variant(JSONB(), "postgresql")
