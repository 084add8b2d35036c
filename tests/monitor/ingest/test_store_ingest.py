"""The ingest tables: sources by token hash, quarantine with retention, cursors."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from menshen.errors import Conflict
from menshen.events.bus import EventBus
from menshen.events.model import AuditEvent
from menshen.events.writer import AuditWriter
from menshen.store.monitor_ingest import MonitorSourceRecord, QuarantineRecord
from menshen.store.records import TenantRecord
from menshen.store.sql import SqlStore, SqlTenantStore
from menshen.testing import FixedClock

T0 = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)


def _source(name: str = "vpn", token_hash: str = "h" * 64) -> MonitorSourceRecord:
    return MonitorSourceRecord("t1", name, "menshen", token_hash, T0)


def _entry(n: int, at: datetime, source: str = "vpn") -> QuarantineRecord:
    return QuarantineRecord("t1", f"q{n:04d}", source, at, "bad_json", "detail", '{"ti')


def test_sources_are_found_by_token_hash_and_removed(tenant_store: SqlTenantStore) -> None:
    """A source is looked up by its token's hash; removing it ends that."""
    tenant_store.monitor_sources.add(_source())
    assert tenant_store.monitor_sources.by_token_hash("h" * 64) == _source()
    assert tenant_store.monitor_sources.by_token_hash("x" * 64) is None
    assert [s.name for s in tenant_store.monitor_sources.list()] == ["vpn"]
    assert tenant_store.monitor_sources.remove("vpn") is True
    assert tenant_store.monitor_sources.remove("vpn") is False
    assert tenant_store.monitor_sources.by_token_hash("h" * 64) is None


def test_a_duplicate_source_name_is_a_conflict(tenant_store: SqlTenantStore) -> None:
    """Names are unique per tenant."""
    tenant_store.monitor_sources.add(_source())
    with pytest.raises(Conflict):
        tenant_store.monitor_sources.add(_source(token_hash="z" * 64))


def test_sources_of_another_tenant_are_not_seen(store: SqlStore) -> None:
    """A token registered in one tenant does not open another."""
    for tenant_id in ("t1", "t2"):
        store.add_tenant(TenantRecord(tenant_id, tenant_id, T0))
    store.tenant("t1").monitor_sources.add(_source())
    assert store.tenant("t2").monitor_sources.by_token_hash("h" * 64) is None


def test_quarantine_lists_newest_first_and_filters_by_source(
    tenant_store: SqlTenantStore,
) -> None:
    """Entries come back newest first, optionally for one source."""
    repo = tenant_store.monitor_quarantine
    repo.add_many([_entry(1, T0), _entry(2, T0 + timedelta(minutes=1), "syslog")])
    assert [e.id for e in repo.list()] == ["q0002", "q0001"]
    assert [e.id for e in repo.list(source="vpn")] == ["q0001"]


def test_quarantine_retention_by_age_and_count(tenant_store: SqlTenantStore) -> None:
    """Purge drops entries older than the cut-off and all but the newest ``keep``."""
    repo = tenant_store.monitor_quarantine
    repo.add_many([_entry(n, T0 + timedelta(minutes=n)) for n in range(10)])
    assert repo.purge(before=T0 + timedelta(minutes=2), keep=100) == 2
    assert repo.purge(before=T0, keep=5) == 3
    assert [e.id for e in repo.list()] == ["q0009", "q0008", "q0007", "q0006", "q0005"]


def test_cursor_is_stored_and_moved(tenant_store: SqlTenantStore) -> None:
    """A cursor starts absent, is set, and moves."""
    repo = tenant_store.monitor_cursors
    assert repo.get("monitor.ingest") is None
    repo.put("monitor.ingest", 5, T0)
    repo.put("monitor.ingest", 9, T0)
    assert repo.get("monitor.ingest") == 9


def test_catch_up_reads_ids_then_only_the_rows_it_needs(store: SqlStore) -> None:
    """The narrow read gives (seq, id) after a cursor; full rows come only for chosen seqs."""
    store.add_tenant(TenantRecord("t1", "t1", T0))
    events = [
        AuditEvent(tenant_id="t1", kind="access.allow", outcome="allow", at=T0, id=f"e{n}")
        for n in range(5)
    ]
    AuditWriter(store, EventBus(), FixedClock(T0)).write_now(events)
    cursors = store.tenant("t1").monitor_cursors
    assert cursors.audit_ids_after(2, 10) == [(3, "e2"), (4, "e3"), (5, "e4")]
    assert cursors.audit_ids_after(0, 2) == [(1, "e0"), (2, "e1")]
    assert [r.id for r in cursors.audit_rows([5, 2])] == ["e1", "e4"]
