"""The append-only audit log on both back-ends."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone

import pytest

from menshen.errors import Conflict, InvalidInput
from menshen.store.schema import audit_events
from menshen.store.sql import SqlStore, SqlTenantStore

from . import factories as f


def test_empty_log_has_no_last_row(tenant_store: SqlTenantStore) -> None:
    """last() of an empty log is None and iterate() yields nothing."""
    assert tenant_store.audit.last() is None
    assert list(tenant_store.audit.iterate()) == []


def test_append_then_iterate_in_seq_order(tenant_store: SqlTenantStore) -> None:
    """Appended batches read back whole, in seq order, across page boundaries."""
    rows = f.audit_chain("t1", 1, 7)
    tenant_store.audit.append(rows[:3])
    tenant_store.audit.append(rows[3:])
    assert list(tenant_store.audit.iterate(batch=2)) == rows
    assert list(tenant_store.audit.iterate(after_seq=4, batch=3)) == rows[4:]
    assert tenant_store.audit.last() == rows[-1]


def test_taken_seq_is_a_conflict_and_nothing_is_written(tenant_store: SqlTenantStore) -> None:
    """A batch reusing a taken seq is refused whole."""
    tenant_store.audit.append(f.audit_chain("t1", 1, 3))
    with pytest.raises(Conflict):
        tenant_store.audit.append(f.audit_chain("t1", 3, 2))
    with pytest.raises(Conflict):
        tenant_store.audit.append([f.audit("t1", 2, id="fresh-id")])
    last = tenant_store.audit.last()
    assert last is not None
    assert last.seq == 3


def test_gap_after_last_seq_is_a_conflict(tenant_store: SqlTenantStore) -> None:
    """A batch that does not start right after the last seq is refused."""
    tenant_store.audit.append(f.audit_chain("t1", 1, 2))
    with pytest.raises(Conflict):
        tenant_store.audit.append(f.audit_chain("t1", 5, 1))
    assert [r.seq for r in tenant_store.audit.iterate()] == [1, 2]


def test_batch_with_non_consecutive_seq_is_invalid(tenant_store: SqlTenantStore) -> None:
    """The seq numbers inside one append must be consecutive."""
    with pytest.raises(InvalidInput):
        tenant_store.audit.append([f.audit("t1", 1), f.audit("t1", 3)])
    assert tenant_store.audit.last() is None


def test_duplicate_event_id_is_a_conflict(tenant_store: SqlTenantStore) -> None:
    """Two audit rows cannot share an event id."""
    tenant_store.audit.append([f.audit("t1", 1, id="same")])
    with pytest.raises(Conflict):
        tenant_store.audit.append([f.audit("t1", 2, id="same")])


def test_audit_repository_offers_no_update_or_delete(tenant_store: SqlTenantStore) -> None:
    """The audit repository exposes only last, append and iterate."""
    public = {name for name in dir(tenant_store.audit) if not name.startswith("_")}
    assert public == {"append", "iterate", "last"}


def test_empty_append_and_bad_batch_size(tenant_store: SqlTenantStore) -> None:
    """Appending nothing is a no-op; a batch size below one is refused."""
    tenant_store.audit.append([])
    assert tenant_store.audit.last() is None
    with pytest.raises(InvalidInput):
        list(tenant_store.audit.iterate(batch=0))


def test_stored_columns_are_what_sqlalchemy_would_bind(sqlite_store: SqlStore) -> None:
    """The fast append stores each column exactly as the table's SQLAlchemy types bind it."""
    tenant = sqlite_store.tenant("t1")
    rows = [
        f.audit("t1", 1, at=datetime(2026, 1, 5, 17, 0, 0, tzinfo=timezone(timedelta(hours=8)))),
        f.audit("t1", 2, at=datetime(999, 1, 5, tzinfo=UTC), details={"林": "\u00e9", "z": 1.5}),
        f.audit("t1", 3, reason="r" * 5000, app="wiki"),
    ]
    tenant.audit.append(rows)
    database = sqlite_store.database
    dialect = database.engine.dialect
    processors = [
        column.type.dialect_impl(dialect).bind_processor(dialect) for column in audit_events.columns
    ]
    expected = [
        tuple(
            value if bind is None else bind(value)
            for bind, value in zip(
                processors, (getattr(row, c.name) for c in audit_events.columns), strict=True
            )
        )
        for row in rows
    ]
    with database.read() as conn:
        stored = [tuple(r) for r in conn.exec_driver_sql("SELECT * FROM audit_events ORDER BY seq")]
    assert stored == expected
    assert list(tenant.audit.iterate()) == rows


def test_append_refuses_a_row_of_another_tenant(tenant_store: SqlTenantStore) -> None:
    """A batch holding another tenant's row is refused whole, before anything is written."""
    with pytest.raises(InvalidInput):
        tenant_store.audit.append([f.audit("t1", 1), f.audit("t2", 2)])
    assert tenant_store.audit.last() is None


def test_append_refuses_a_naive_time(tenant_store: SqlTenantStore) -> None:
    """A row whose time has no zone is refused, as the UtcDateTime column does."""
    with pytest.raises(InvalidInput):
        tenant_store.audit.append([f.audit("t1", 1, at=datetime(2026, 1, 5))])
    assert tenant_store.audit.last() is None


def test_large_append_spans_several_statements(tenant_store: SqlTenantStore) -> None:
    """A batch larger than one INSERT statement is written whole and in order."""
    rows = f.audit_chain("t1", 1, 1_234)
    tenant_store.audit.append(rows)
    assert list(tenant_store.audit.iterate(batch=500)) == rows


def test_a_duplicate_id_late_in_a_large_batch_writes_nothing(
    tenant_store: SqlTenantStore,
) -> None:
    """A taken event id anywhere in a batch is a Conflict and the whole batch is rolled back."""
    tenant_store.audit.append([f.audit("t1", 1, id="taken")])
    rows = f.audit_chain("t1", 2, 1_100)
    rows[1_050] = replace(rows[1_050], id="taken")
    with pytest.raises(Conflict):
        tenant_store.audit.append(rows)
    assert [r.seq for r in tenant_store.audit.iterate()] == [1]


def test_an_overlong_value_is_refused_not_cut(tenant_store: SqlTenantStore) -> None:
    """A value longer than its column is an error on PostgreSQL, never silently shortened."""
    row = f.audit("t1", 1, ip="1" * 65)
    try:
        tenant_store.audit.append([row])
    except InvalidInput:
        assert tenant_store.audit.last() is None
    else:  # SQLite does not enforce VARCHAR lengths: the value is kept whole
        assert tenant_store.audit.last() == row


def test_sqlite_batches_use_a_bounded_set_of_statements() -> None:
    """Any batch size is cut into power-of-two chunks, so few statements are ever prepared."""
    from menshen.store.audit import _CHUNK_SIZES, _chunks

    seen: set[int] = set()
    for count in range(1, 1200):
        sizes = list(_chunks(count))
        assert sum(sizes) == count
        seen.update(sizes)
    assert seen <= set(_CHUNK_SIZES)
