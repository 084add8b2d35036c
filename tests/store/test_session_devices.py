"""Sessions bound to devices, on both back-ends: bound once, revoked with their device."""

from __future__ import annotations

from datetime import timedelta

import pytest

from menshen.store.records import TenantRecord
from menshen.store.sql import SqlStore, SqlTenantStore

from . import factories as f

AT = f.T0 + timedelta(minutes=1)


@pytest.fixture
def t1(tenant_store: SqlTenantStore) -> SqlTenantStore:
    tenant_store.users.add(f.user(id="u1"))
    for sid in ("s1", "s2", "s3"):
        tenant_store.sessions.add(f.session(id=sid))
    return tenant_store


def test_a_session_is_bound_to_its_first_device_only(t1: SqlTenantStore) -> None:
    """The first binding sticks; a later one for another device is ignored, unknown ids too."""
    t1.sessions.bind_devices({"s1": "dev_a", "ghost": "dev_a"})
    t1.sessions.bind_devices({"s1": "dev_b", "s2": "dev_b"})
    t1.sessions.bind_devices({})
    first, second = t1.sessions.get("s1"), t1.sessions.get("s2")
    assert first is not None
    assert second is not None
    assert (first.device_id, second.device_id) == ("dev_a", "dev_b")


def test_revoking_a_device_revokes_its_live_sessions_only(t1: SqlTenantStore) -> None:
    """Sessions bound to the device are revoked once, with who and why; others stay."""
    t1.sessions.bind_devices({"s1": "dev_a", "s2": "dev_a", "s3": "dev_b"})
    t1.sessions.revoke("s2", at=f.T0, by="u1", reason="logout")
    ids = t1.sessions.revoke_for_device("dev_a", at=AT, by="cli", reason="device revoked")
    assert ids == ["s1"]
    assert t1.sessions.revoke_for_device("dev_a", at=AT, by="cli", reason="again") == []
    revoked = t1.sessions.get("s1")
    assert revoked is not None
    assert (revoked.revoked_at, revoked.revoked_by, revoked.revoke_reason) == (
        AT,
        "cli",
        "device revoked",
    )
    other = t1.sessions.get("s3")
    assert other is not None
    assert other.revoked_at is None


def test_device_revocation_stays_in_its_tenant(store: SqlStore, t1: SqlTenantStore) -> None:
    """Revoking a device id in another tenant touches none of t1's sessions."""
    store.add_tenant(TenantRecord(id="t2", name="Two", created_at=f.T0))
    t1.sessions.bind_devices({"s1": "dev_a"})
    t2 = store.tenant("t2")
    t2.sessions.bind_devices({"s2": "dev_a"})
    assert t2.sessions.revoke_for_device("dev_a", at=AT, by="x", reason="y") == []
    s1, s2 = t1.sessions.get("s1"), t1.sessions.get("s2")
    assert s1 is not None
    assert s2 is not None
    assert s1.revoked_at is None
    assert s2.device_id is None
