"""Time values: aware UTC in, aware UTC out, on both back-ends."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from menshen.errors import InvalidInput
from menshen.store.sql import SqlTenantStore

from . import factories as f

TAIPEI = timezone(timedelta(hours=8))


def test_aware_datetimes_come_back_as_the_same_utc_instant(tenant_store: SqlTenantStore) -> None:
    """A Taipei-time value reads back as the same instant, in UTC, to the microsecond."""
    local = datetime(2026, 3, 1, 8, 30, 15, 123456, tzinfo=TAIPEI)
    tenant_store.users.add(f.user(created_at=local, updated_at=local))
    stored = tenant_store.users.get("u1")
    assert stored is not None
    assert stored.created_at == local
    assert stored.created_at.tzinfo is UTC
    assert stored.created_at == datetime(2026, 3, 1, 0, 30, 15, 123456, tzinfo=UTC)


def test_naive_datetime_is_refused(tenant_store: SqlTenantStore) -> None:
    """A naive datetime is InvalidInput, never guessed at."""
    with pytest.raises(InvalidInput):
        tenant_store.users.add(f.user(created_at=datetime(2026, 1, 1, 0, 0)))
    assert tenant_store.users.list() == []


def test_time_comparisons_hold_across_offsets(tenant_store: SqlTenantStore) -> None:
    """Queries compare instants, not wall-clock text, whatever offset a value came with."""
    tenant_store.users.add(f.user())
    tenant_store.sessions.add(f.session(id="s1"))
    revoked_at = datetime(2026, 1, 5, 18, 0, tzinfo=TAIPEI)  # 10:00 UTC
    tenant_store.sessions.revoke("s1", at=revoked_at, by="a", reason="r")
    assert [s.id for s in tenant_store.sessions.revoked_since(f.T0)] == ["s1"]
    after = datetime(2026, 1, 5, 10, 0, 1, tzinfo=UTC)
    assert tenant_store.sessions.revoked_since(after) == []


def test_bytes_and_json_round_trip(tenant_store: SqlTenantStore) -> None:
    """Sealed secrets keep every byte; JSON details keep nested values and unicode."""
    tenant_store.users.add(f.user())
    secret = bytes(range(256))
    tenant_store.credentials.put_totp(f.totp(secret_sealed=secret))
    totp = tenant_store.credentials.get_totp("u1")
    assert totp is not None
    assert totp.secret_sealed == secret
    details = {"門神": "守護", "list": [1, 2.5, None, True], "deep": {"a": {"b": "c"}}}
    tenant_store.audit.append([f.audit("t1", 1, details=details)])
    last = tenant_store.audit.last()
    assert last is not None
    assert last.details == details
