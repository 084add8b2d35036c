"""The append-only audit log on both back-ends."""

from __future__ import annotations

import pytest

from menshen.errors import Conflict, InvalidInput
from menshen.store.sql import SqlTenantStore

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
