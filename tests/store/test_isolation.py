"""Tenant isolation: no repository of tenant A reads or changes a row of tenant B."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from menshen.errors import NotFound
from menshen.store.records import TenantRecord
from menshen.store.sql import SqlStore, SqlTenantStore

from . import factories as f

LATER = f.T0 + timedelta(hours=1)


def _populate(ts: SqlTenantStore) -> None:
    tid = ts.tenant_id
    ts.users.add(f.user(tid, "ub", username="bob"))
    ts.groups.add(f.group(tid, "gb", name="ops"))
    ts.groups.add_member("gb", "ub")
    ts.credentials.put_totp(f.totp(tid, "ub", last_used_step=5))
    ts.credentials.replace_recovery_codes("ub", [f.recovery_code(tid, "rc1", "ub")])
    ts.throttle.put(f.throttle(tid, "user:ub"))
    ts.sessions.add(f.session(tid, "sb", "ub"))
    ts.keys.add(f.signing_key(tid, "kb"))
    ts.audit.append(f.audit_chain(tid, 1, 2))
    ts.config.put(f.config_object(tid, "App", "wiki"))


def _snapshot(ts: SqlTenantStore) -> dict[str, Any]:
    return {
        "users": ts.users.list(),
        "groups": ts.groups.list(),
        "members": ts.groups.members("gb"),
        "totp": ts.credentials.get_totp("ub"),
        "codes": ts.credentials.recovery_codes("ub"),
        "throttle": ts.throttle.get("user:ub"),
        "sessions": ts.sessions.list_for_user("ub", include_revoked=True),
        "keys": ts.keys.list(),
        "audit": list(ts.audit.iterate()),
        "config": ts.config.list(),
    }


@pytest.fixture
def tenants(store: SqlStore) -> tuple[SqlTenantStore, SqlTenantStore]:
    """Tenant "a" (empty) and tenant "b" (one of everything)."""
    for tid in ("a", "b"):
        store.add_tenant(TenantRecord(id=tid, name=tid.upper(), created_at=f.T0))
    a, b = store.tenant("a"), store.tenant("b")
    _populate(b)
    return a, b


def test_tenant_cannot_read_another_tenants_rows(
    tenants: tuple[SqlTenantStore, SqlTenantStore],
) -> None:
    """Every read of tenant A misses tenant B's rows, even by their exact keys."""
    a, _ = tenants
    assert a.users.get("ub") is None
    assert a.users.by_username("bob") is None
    assert a.users.list() == []
    assert a.users.groups_of("ub") == []
    assert a.groups.get("gb") is None
    assert a.groups.by_name("ops") is None
    assert a.groups.list() == []
    assert a.groups.members("gb") == []
    assert a.credentials.get_totp("ub") is None
    assert a.credentials.recovery_codes("ub") == []
    assert a.throttle.get("user:ub") is None
    assert a.sessions.get("sb") is None
    assert a.sessions.by_token_hash("token-hash-sb") is None
    assert a.sessions.list_for_user("ub", include_revoked=True) == []
    assert a.sessions.list_active(f.T0) == []
    assert a.keys.list() == []
    assert a.audit.last() is None
    assert list(a.audit.iterate()) == []
    assert a.config.get("App", "wiki") is None
    assert a.config.list() == []


def test_tenant_cannot_change_another_tenants_rows(
    tenants: tuple[SqlTenantStore, SqlTenantStore],
) -> None:
    """Every write of tenant A aimed at tenant B's keys fails or does nothing to B."""
    a, b = tenants
    before = _snapshot(b)
    with pytest.raises(NotFound):
        a.users.update(f.user("a", "ub", username="mallory"))
    with pytest.raises(NotFound):
        a.groups.update(f.group("a", "gb", name="pwned"))
    with pytest.raises(NotFound):
        a.groups.add_member("gb", "ub")
    a.groups.remove_member("gb", "ub")
    with pytest.raises(NotFound):
        a.groups.delete("gb")
    assert a.credentials.advance_totp_step("ub", 99) is False
    assert a.credentials.use_recovery_code("ub", "hash-rc1", LATER) is False
    a.credentials.delete_totp("ub")
    a.credentials.replace_recovery_codes("ub", [])
    a.throttle.clear("user:ub")
    assert a.sessions.revoke("sb", at=LATER, by="a", reason="x") is False
    assert a.sessions.revoke_for_user("ub", at=LATER, by="a", reason="x") == []
    a.sessions.touch_many({"sb": LATER})
    with pytest.raises(NotFound):
        a.sessions.replace("sb", f.session("a", "new", "ub"))
    with pytest.raises(NotFound):
        a.keys.retire("kb", LATER)
    with pytest.raises(NotFound):
        a.keys.delete("kb")
    with pytest.raises(NotFound):
        a.config.delete("App", "wiki")
    assert _snapshot(b) == before
    assert b.sessions.revoked_since(f.T0) == []


def test_tenants_may_reuse_ids_and_names(tenants: tuple[SqlTenantStore, SqlTenantStore]) -> None:
    """Uniqueness is per tenant: A may use B's ids, usernames, tokens and audit seqs."""
    a, b = tenants
    before = _snapshot(b)
    _populate(a)
    assert _snapshot(a)["users"] == [f.user("a", "ub", username="bob")]
    assert [r.seq for r in a.audit.iterate()] == [1, 2]
    assert _snapshot(b) == before


def test_writes_into_an_unknown_tenant_are_refused(store: SqlStore) -> None:
    """A tenant store for a tenant never added cannot write anything."""
    ghost = store.tenant("ghost")
    with pytest.raises(NotFound):
        ghost.users.add(f.user("ghost", "u1"))
    with pytest.raises(NotFound):
        ghost.audit.append([f.audit("ghost", 1)])
    with pytest.raises(NotFound):
        ghost.config.put(f.config_object("ghost"))


def test_tenants_are_listed_and_add_is_idempotent(store: SqlStore) -> None:
    """add_tenant twice keeps one tenant; tenants() lists them by id."""
    store.add_tenant(TenantRecord(id="b", name="B", created_at=f.T0))
    store.add_tenant(TenantRecord(id="a", name="A", created_at=f.T0))
    store.add_tenant(TenantRecord(id="a", name="A again", created_at=LATER))
    assert store.tenants() == [
        TenantRecord(id="a", name="A", created_at=f.T0),
        TenantRecord(id="b", name="B", created_at=f.T0),
    ]
