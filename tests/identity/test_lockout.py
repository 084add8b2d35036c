"""Lockout over a real store: parallel guesses are all counted (NIST SP 800-63B §5.2.2)."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

from menshen.identity.lockout import Lockout
from menshen.identity.throttle import DEFAULT_THROTTLE, account_key, ip_key
from menshen.store.api import TenantStore
from menshen.testing import FixedClock

IP = "203.0.113.7"
USER = "u1"
THREADS = 8
PER_THREAD = 5


def _lockout(tenant_store: TenantStore) -> Lockout:
    return Lockout(tenant_store.throttle, tenant_store.tenant_id, DEFAULT_THROTTLE)


def test_failures_count_up_and_trip_the_account_lock(
    tenant_store: TenantStore, clock: FixedClock
) -> None:
    """Four failures leave the account open; the fifth locks it for one minute."""
    lockout = _lockout(tenant_store)
    now = clock.now()
    for _ in range(4):
        assert lockout.fail(USER, IP, now) is None
    assert not lockout.locked(USER, IP, now)
    assert lockout.fail(USER, IP, now) == now + timedelta(minutes=1)
    assert lockout.account_locked_until(USER, now) == now + timedelta(minutes=1)
    assert lockout.source_locked_until(IP, now) is None


def test_parallel_failures_are_all_counted_and_lock_account_and_source(
    tenant_store: TenantStore, clock: FixedClock
) -> None:
    """8 threads x 5 failures on one account and source: 40 counted on each, both locked."""
    lockout = _lockout(tenant_store)
    now = clock.now()
    barrier = threading.Barrier(THREADS)

    def guess() -> None:
        barrier.wait()
        for _ in range(PER_THREAD):
            lockout.fail(USER, IP, now)

    with ThreadPoolExecutor(max_workers=THREADS) as pool:
        for future in [pool.submit(guess) for _ in range(THREADS)]:
            future.result()

    account = tenant_store.throttle.get(account_key(USER))
    source = tenant_store.throttle.get(ip_key(IP))
    assert account is not None
    assert source is not None
    assert (account.failures, source.failures) == (40, 40)
    # 40 failures double the account lock past its one-hour cap; the source lock is fixed.
    assert account.locked_until == now + DEFAULT_THROTTLE.account.max_lockout
    assert source.locked_until == now + DEFAULT_THROTTLE.ip.lockout
    assert lockout.locked(USER, IP, now)


def test_a_success_clears_the_account_counter_but_not_the_source(
    tenant_store: TenantStore, clock: FixedClock
) -> None:
    """succeed() forgets the account's failures; the source keeps counting."""
    lockout = _lockout(tenant_store)
    now = clock.now()
    for _ in range(3):
        lockout.fail(USER, IP, now)
    lockout.succeed(USER)
    assert tenant_store.throttle.get(account_key(USER)) is None
    source = tenant_store.throttle.get(ip_key(IP))
    assert source is not None
    assert source.failures == 3
