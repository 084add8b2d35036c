"""ThrottleRepository.update: an atomic read-change-write of one counter, on both back-ends."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import timedelta

import pytest

from menshen.errors import InvalidInput
from menshen.store.records import ThrottleRecord
from menshen.store.sql import SqlTenantStore

from . import factories as f

KEY = "user:u1"
THREADS = 8
PER_THREAD = 5


def _one_more(current: ThrottleRecord | None) -> ThrottleRecord:
    """Count one failure; lock once the tenth is seen (a stand-in for the real policy)."""
    if current is None:
        return f.throttle(key=KEY, failures=1)
    failures = current.failures + 1
    until = f.T0 + timedelta(minutes=1) if failures >= 10 else current.locked_until
    return replace(current, failures=failures, locked_until=until)


def test_update_creates_then_changes_the_counter(tenant_store: SqlTenantStore) -> None:
    """The first update sees no counter, the next sees the stored one; both are returned."""
    seen: list[ThrottleRecord | None] = []

    def change(current: ThrottleRecord | None) -> ThrottleRecord:
        seen.append(current)
        return _one_more(current)

    first = tenant_store.throttle.update(KEY, change)
    second = tenant_store.throttle.update(KEY, change)
    assert seen == [None, first]
    assert second.failures == 2
    assert tenant_store.throttle.get(KEY) == second


def test_update_refuses_a_record_for_another_key(tenant_store: SqlTenantStore) -> None:
    """A change that returns another key's record is refused and nothing is stored."""
    with pytest.raises(InvalidInput):
        tenant_store.throttle.update(KEY, lambda _: f.throttle(key="user:u2"))
    assert tenant_store.throttle.get(KEY) is None
    assert tenant_store.throttle.get("user:u2") is None


def test_update_refuses_a_record_of_another_tenant(tenant_store: SqlTenantStore) -> None:
    """A change that returns another tenant's record is refused; the stored one stays."""
    stored = tenant_store.throttle.update(KEY, _one_more)
    with pytest.raises(InvalidInput):
        tenant_store.throttle.update(KEY, lambda _: f.throttle(tenant_id="t2", key=KEY))
    assert tenant_store.throttle.get(KEY) == stored


def test_parallel_updates_of_one_counter_lose_no_count(tenant_store: SqlTenantStore) -> None:
    """8 threads x 5 updates racing on one new key end with exactly 40 counted and the lock set."""
    barrier = threading.Barrier(THREADS)

    def run() -> None:
        barrier.wait()
        for _ in range(PER_THREAD):
            tenant_store.throttle.update(KEY, _one_more)

    with ThreadPoolExecutor(max_workers=THREADS) as pool:
        for future in [pool.submit(run) for _ in range(THREADS)]:
            future.result()

    counter = tenant_store.throttle.get(KEY)
    assert counter is not None
    assert counter.failures == THREADS * PER_THREAD
    assert counter.locked_until == f.T0 + timedelta(minutes=1)
