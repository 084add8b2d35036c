"""Sessions bound to devices: bound once in memory, written in a batch, ended with the device."""

from __future__ import annotations

import asyncio
from dataclasses import replace

from menshen.sessions.service import SessionService
from menshen.store.records import SessionRecord
from menshen.store.sql import SqlStore
from menshen.testing import FixedClock
from tests.sessions.test_service import UA, _create, _service


def _bound(service: SessionService, record: SessionRecord, device_id: str) -> SessionRecord:
    return service.bind_device(record, device_id)


def test_a_session_is_bound_at_once_in_memory_and_later_in_the_store(
    both_store: SqlStore,
) -> None:
    """The next lookup sees the device; the store learns it with the batch."""
    service = _service(both_store, FixedClock())
    token, record = _create(service)
    bound = _bound(service, record, "dev_a")
    assert bound.device_id == "dev_a"
    found = service.lookup("t1", token, UA).session
    assert found is not None
    assert found.device_id == "dev_a"
    stored = both_store.tenant("t1").sessions.get(record.id)
    assert stored is not None
    assert stored.device_id is None
    batch = service.take_device_bindings()
    assert batch == {"t1": {record.id: "dev_a"}}
    assert service.write_device_bindings(batch) == 1
    assert service.take_device_bindings() == {}
    stored = both_store.tenant("t1").sessions.get(record.id)
    assert stored is not None
    assert stored.device_id == "dev_a"


def test_a_bound_session_keeps_its_first_device(both_store: SqlStore) -> None:
    """Binding again to another device changes nothing; an unknown session is not bound."""
    service = _service(both_store, FixedClock())
    _, record = _create(service)
    first = _bound(service, record, "dev_a")
    assert _bound(service, first, "dev_b").device_id == "dev_a"
    ghost = replace(record, id="ghost", token_hash="x")
    assert _bound(service, ghost, "dev_a").device_id is None
    assert service.take_device_bindings() == {"t1": {record.id: "dev_a"}}


def test_revoking_a_device_ends_its_sessions_here_and_in_the_store(both_store: SqlStore) -> None:
    """Bound sessions (even those not yet written) are refused at once; others live on."""
    service = _service(both_store, FixedClock())
    told: list[str] = []
    service.on_revoke(lambda revoked: told.append(revoked.id))
    token_a, on_device = _create(service)
    token_b, elsewhere = _create(service)
    _bound(service, on_device, "dev_a")
    ended = asyncio.run(service.revoke_device("t1", "dev_a", by="u1", reason="device removed"))
    assert ended == 1
    assert told == [on_device.id]
    assert service.lookup("t1", token_a, UA).session is None
    assert service.lookup("t1", token_b, UA).session is not None
    stored = both_store.tenant("t1").sessions.get(on_device.id)
    assert stored is not None
    assert (stored.device_id, stored.revoke_reason) == ("dev_a", "device removed")
    assert service.take_device_bindings() == {}
    assert elsewhere.device_id is None


def test_a_restarted_process_knows_the_binding(both_store: SqlStore) -> None:
    """Sessions loaded from the store come back bound to their device."""
    clock = FixedClock()
    service = _service(both_store, clock)
    token, record = _create(service)
    _bound(service, record, "dev_a")
    service.write_device_bindings(service.take_device_bindings())
    restarted = _service(both_store, clock)
    restarted.load(["t1"])
    found = restarted.lookup("t1", token, UA).session
    assert found is not None
    assert found.device_id == "dev_a"
