"""Session tests run on both back-ends."""

from __future__ import annotations

import pytest

from menshen.store.sql import SqlStore, SqlTenantStore


@pytest.fixture
def both_store(store: SqlStore, tenant_store: SqlTenantStore) -> SqlStore:
    """``store`` (SQLite and PostgreSQL) with tenant "t1" added."""
    assert tenant_store.tenant_id == "t1"
    return store
