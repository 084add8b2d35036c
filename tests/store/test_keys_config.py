"""Signing keys and declarative config objects on both back-ends."""

from __future__ import annotations

from datetime import timedelta

import pytest

from menshen.errors import Conflict, NotFound
from menshen.store.sql import SqlTenantStore

from . import factories as f


def test_keys_list_oldest_first(tenant_store: SqlTenantStore) -> None:
    """Keys come back whole (sealed bytes, JWK) and oldest first."""
    newer = f.signing_key(kid="k2", created_at=f.T0 + timedelta(days=1))
    older = f.signing_key(kid="k9")
    tenant_store.keys.add(newer)
    tenant_store.keys.add(older)
    assert tenant_store.keys.list() == [older, newer]
    with pytest.raises(Conflict):
        tenant_store.keys.add(f.signing_key(kid="k2"))


def test_retire_keeps_first_time_and_delete_removes(tenant_store: SqlTenantStore) -> None:
    """retire sets retired_at once; delete removes; both refuse an unknown kid."""
    tenant_store.keys.add(f.signing_key(kid="k1"))
    first = f.T0 + timedelta(hours=1)
    tenant_store.keys.retire("k1", first)
    tenant_store.keys.retire("k1", first + timedelta(hours=1))
    assert [k.retired_at for k in tenant_store.keys.list()] == [first]
    with pytest.raises(NotFound):
        tenant_store.keys.retire("ghost", first)
    tenant_store.keys.delete("k1")
    assert tenant_store.keys.list() == []
    with pytest.raises(NotFound):
        tenant_store.keys.delete("k1")


def test_config_put_replaces_and_lists_by_kind(tenant_store: SqlTenantStore) -> None:
    """put inserts or replaces; list filters by kind and orders by kind then name."""
    wiki = f.config_object(kind="App", name="wiki")
    tenant_store.config.put(wiki)
    tenant_store.config.put(f.config_object(kind="App", name="admin"))
    tenant_store.config.put(f.config_object(kind="Policy", name="default"))
    assert tenant_store.config.get("App", "wiki") == wiki
    changed = f.config_object(
        kind="App", name="wiki", spec={"host": "w.test"}, updated_at=f.T0 + timedelta(days=1)
    )
    tenant_store.config.put(changed)
    assert tenant_store.config.get("App", "wiki") == changed
    assert [(o.kind, o.name) for o in tenant_store.config.list()] == [
        ("App", "admin"),
        ("App", "wiki"),
        ("Policy", "default"),
    ]
    assert [o.name for o in tenant_store.config.list("Policy")] == ["default"]
    assert tenant_store.config.get("Policy", "wiki") is None


def test_config_delete(tenant_store: SqlTenantStore) -> None:
    """delete removes one object; deleting a missing object is NotFound."""
    tenant_store.config.put(f.config_object())
    tenant_store.config.delete("App", "wiki")
    assert tenant_store.config.list() == []
    with pytest.raises(NotFound):
        tenant_store.config.delete("App", "wiki")
