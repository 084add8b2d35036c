"""The audit writer: batching off the hot path, retries, and no loss on shutdown."""

from __future__ import annotations

import asyncio
import threading

import pytest

from menshen.errors import StoreUnavailable
from menshen.events.bus import EventBus
from menshen.events.chain import verify_chain
from menshen.events.export import verify
from menshen.events.writer import AuditWriter
from menshen.store.sql import SqlStore
from menshen.testing import FixedClock

from .conftest import MemoryAuditStore, make_event, wait_until


def _writer(store: MemoryAuditStore | SqlStore, bus: EventBus, clock: FixedClock) -> AuditWriter:
    return AuditWriter(
        store, bus, clock, flush_interval=0.002, retry_initial=0.001, retry_max=0.004
    )


def test_stop_drains_every_queued_event(sqlite_store: SqlStore, clock: FixedClock) -> None:
    """10,000 events published and then a stop: all 10,000 are stored in a valid chain."""
    bus = EventBus()
    writer = _writer(sqlite_store, bus, clock)

    async def scenario() -> int:
        await writer.start()
        for i in range(10_000):
            bus.publish(make_event(i))
        return await writer.stop()

    assert asyncio.run(scenario()) == 0
    tenant = sqlite_store.tenant("t1")
    report = verify(tenant)
    assert report.ok, report.reason
    assert report.count == 10_000
    assert [r.id for r in tenant.audit.iterate(after_seq=9_998)] == ["ev00009998", "ev00009999"]
    assert writer.pending == 0


def test_writer_retries_after_store_failures(
    memory_store: MemoryAuditStore, clock: FixedClock
) -> None:
    """A store that fails twice: events are kept, retried, and all written in order."""
    memory_store.tenant("t1").audit.fail_next = 2
    bus = EventBus()
    writer = _writer(memory_store, bus, clock)

    async def scenario() -> None:
        for i in range(5):
            bus.publish(make_event(i))
        await writer.start()
        assert await writer.stop(grace=5) == 0

    asyncio.run(scenario())
    audit = memory_store.tenant("t1").audit
    assert [r.id for r in audit.rows] == [f"ev{i:08d}" for i in range(5)]
    assert audit.appends == 3
    assert writer.failures == 2
    assert writer.last_error is not None
    assert "StoreUnavailable" in writer.last_error
    assert writer.last_error_at == clock.now()
    assert verify_chain(audit.rows).ok


def test_pending_counts_events_held_for_retry(
    memory_store: MemoryAuditStore, clock: FixedClock
) -> None:
    """While the store is down, pending counts every unwritten event."""
    memory_store.tenant("t1").audit.fail_next = 10**9
    bus = EventBus()
    writer = _writer(memory_store, bus, clock)

    async def scenario() -> tuple[int, int]:
        await writer.start()
        for i in range(7):
            bus.publish(make_event(i))
        await wait_until(lambda: writer.failures >= 3)
        pending = writer.pending
        left = await writer.stop(grace=0.01)
        return pending, left

    pending, left = asyncio.run(scenario())
    assert pending == 7
    assert left == 7
    assert memory_store.tenant("t1").audit.rows == []


def test_publish_never_waits_for_the_store(
    memory_store: MemoryAuditStore, clock: FixedClock
) -> None:
    """An append stuck in the store blocks neither the event loop nor publish."""
    audit = memory_store.tenant("t1").audit
    gate = threading.Event()
    audit.gate = gate
    bus = EventBus()
    writer = _writer(memory_store, bus, clock)

    async def scenario() -> int:
        await writer.start()
        bus.publish(make_event(0))
        await wait_until(lambda: audit.entered_gate)
        for i in range(1, 5_001):
            bus.publish(make_event(i))
        queued = bus.pending
        gate.set()  # only reachable if the loop is free while the append waits
        assert await writer.stop(grace=5) == 0
        return queued

    assert asyncio.run(scenario()) == 5_000
    assert not audit.gate_timed_out
    assert len(audit.rows) == 5_001
    assert verify_chain(audit.rows).ok


def test_an_append_committed_before_an_error_is_not_written_twice(
    memory_store: MemoryAuditStore, clock: FixedClock
) -> None:
    """If the commit happened but the call failed, the retry does not duplicate rows."""
    audit = memory_store.tenant("t1").audit
    audit.fail_after_commit = 1
    bus = EventBus()
    writer = _writer(memory_store, bus, clock)

    async def scenario() -> None:
        for i in range(4):
            bus.publish(make_event(i))
        await writer.start()
        await wait_until(lambda: writer.pending == 0)
        bus.publish(make_event(4))
        assert await writer.stop(grace=5) == 0

    asyncio.run(scenario())
    assert [r.id for r in audit.rows] == [f"ev{i:08d}" for i in range(5)]
    assert verify_chain(audit.rows).ok


def test_writer_reseals_after_another_writer_extends_the_chain(
    memory_store: MemoryAuditStore, clock: FixedClock
) -> None:
    """A second replica's rows make the first re-read the head and re-seal (no fork)."""
    first = _writer(memory_store, EventBus(), clock)
    second = _writer(memory_store, EventBus(), clock)
    first.write_now([make_event(0), make_event(1)])
    second.write_now([make_event(2)])
    first.write_now([make_event(3)])
    rows = memory_store.tenant("t1").audit.rows
    assert [r.seq for r in rows] == [1, 2, 3, 4]
    assert [r.id for r in rows] == [f"ev{i:08d}" for i in range(4)]
    assert verify_chain(rows).ok


def test_an_event_published_twice_is_written_once(
    memory_store: MemoryAuditStore, clock: FixedClock
) -> None:
    """The event id is the identity of an event: a repeat is skipped, not a blocker."""
    writer = _writer(memory_store, EventBus(), clock)
    writer.write_now([make_event(0), make_event(1), make_event(1)])
    writer.write_now([make_event(0), make_event(2)])
    rows = memory_store.tenant("t1").audit.rows
    assert [r.id for r in rows] == ["ev00000000", "ev00000001", "ev00000002"]
    assert verify_chain(rows).ok


def test_write_now_keeps_one_chain_per_tenant(
    memory_store: MemoryAuditStore, clock: FixedClock
) -> None:
    """Events of two tenants go to two chains, each starting at seq 1."""
    writer = _writer(memory_store, EventBus(), clock)
    records = writer.write_now(
        [make_event(0), make_event(1, tenant_id="t2"), make_event(2), make_event(3, tenant_id="t2")]
    )
    assert len(records) == 4
    for tenant_id in ("t1", "t2"):
        rows = memory_store.tenant(tenant_id).audit.rows
        assert [r.seq for r in rows] == [1, 2]
        assert verify_chain(rows).ok


def test_write_now_raises_when_the_store_fails(
    memory_store: MemoryAuditStore, clock: FixedClock
) -> None:
    """The CLI's synchronous write reports a store failure instead of hiding it."""
    memory_store.tenant("t1").audit.fail_next = 1
    writer = _writer(memory_store, EventBus(), clock)
    with pytest.raises(StoreUnavailable):
        writer.write_now([make_event(0)])
    writer.write_now([make_event(0)])
    assert len(memory_store.tenant("t1").audit.rows) == 1


def test_a_failing_tenant_does_not_hold_back_the_others(
    memory_store: MemoryAuditStore, clock: FixedClock
) -> None:
    """One tenant's store errors delay only that tenant's events."""
    memory_store.tenant("t2").audit.fail_next = 10**9
    bus = EventBus()
    writer = _writer(memory_store, bus, clock)

    async def scenario() -> int:
        for i in range(6):
            bus.publish(make_event(i, tenant_id="t1" if i % 2 else "t2"))
        await writer.start()
        await wait_until(lambda: len(memory_store.tenant("t1").audit.rows) >= 3)
        return await writer.stop(grace=0.01)

    assert asyncio.run(scenario()) == 3
    assert [r.id for r in memory_store.tenant("t1").audit.rows] == [
        "ev00000001",
        "ev00000003",
        "ev00000005",
    ]


def test_writer_batches_large_backlogs(memory_store: MemoryAuditStore, clock: FixedClock) -> None:
    """A backlog is written in batches of at most backlog_batch events."""
    bus = EventBus()
    writer = AuditWriter(
        memory_store, bus, clock, max_batch=50, backlog_batch=100, flush_interval=0.002
    )

    async def scenario() -> None:
        for i in range(1_050):
            bus.publish(make_event(i))
        await writer.start()
        assert await writer.stop(grace=5) == 0

    asyncio.run(scenario())
    audit = memory_store.tenant("t1").audit
    assert audit.appends == 11
    assert len(audit.rows) == 1_050


def test_writer_takes_larger_batches_only_while_behind(
    memory_store: MemoryAuditStore, clock: FixedClock
) -> None:
    """A backlog goes in backlog_batch chunks; the tail that fits max_batch goes as one."""
    bus = EventBus()
    writer = AuditWriter(
        memory_store, bus, clock, max_batch=100, backlog_batch=1_000, flush_interval=0.002
    )

    async def scenario() -> None:
        for i in range(1_050):
            bus.publish(make_event(i))
        await writer.start()
        assert await writer.stop(grace=5) == 0

    asyncio.run(scenario())
    audit = memory_store.tenant("t1").audit
    assert audit.appends == 2
    assert [r.seq for r in audit.rows] == list(range(1, 1_051))
    assert verify_chain(audit.rows).ok


def test_backlog_batch_below_max_batch_is_refused(
    memory_store: MemoryAuditStore, clock: FixedClock
) -> None:
    """backlog_batch may not be smaller than max_batch."""
    with pytest.raises(ValueError, match="backlog_batch"):
        AuditWriter(memory_store, EventBus(), clock, max_batch=100, backlog_batch=99)
