"""Several repository calls in one transaction: all or nothing, on both back-ends."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from menshen.store.records import ConfigObjectRecord, GroupRecord
from menshen.store.sql import SqlTenantStore

NOW = datetime(2026, 3, 1, tzinfo=UTC)


def test_failure_inside_a_transaction_writes_nothing(tenant_store: SqlTenantStore) -> None:
    """An error after two writes rolls both back."""

    def write_two_then_fail() -> None:
        with tenant_store.transaction():
            tenant_store.groups.add(GroupRecord("t1", "g1", "ops", "", True))
            tenant_store.config.put(ConfigObjectRecord("t1", "App", "wiki", {"a": 1}, NOW))
            raise RuntimeError("store failed part-way")

    with pytest.raises(RuntimeError):
        write_two_then_fail()
    assert tenant_store.groups.by_name("ops") is None
    assert tenant_store.config.get("App", "wiki") is None


def test_writes_inside_a_transaction_are_read_back_and_committed(
    tenant_store: SqlTenantStore,
) -> None:
    """Reads inside the unit see its writes; the end of the block commits them."""
    with tenant_store.transaction():
        tenant_store.groups.add(GroupRecord("t1", "g1", "ops", "", True))
        assert tenant_store.groups.by_name("ops") is not None
        with tenant_store.transaction():  # nested: joins the outer one
            tenant_store.config.put(ConfigObjectRecord("t1", "App", "wiki", {"a": 1}, NOW))
    assert tenant_store.groups.by_name("ops") is not None
    assert tenant_store.config.get("App", "wiki") is not None
