"""TOTP credentials, recovery codes and the login throttle on both back-ends."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest

from menshen.errors import InvalidInput, NotFound
from menshen.store.sql import SqlTenantStore

from . import factories as f


@pytest.fixture
def alice(tenant_store: SqlTenantStore) -> str:
    """A stored user u1 to hang credentials on."""
    tenant_store.users.add(f.user(id="u1", username="alice"))
    return "u1"


def test_totp_put_replaces_and_delete_removes(tenant_store: SqlTenantStore, alice: str) -> None:
    """put_totp inserts, a second put replaces, delete_totp removes (twice is harmless)."""
    assert tenant_store.credentials.get_totp(alice) is None
    pending = f.totp(user_id=alice, confirmed=False)
    tenant_store.credentials.put_totp(pending)
    assert tenant_store.credentials.get_totp(alice) == pending
    confirmed = f.totp(user_id=alice, secret_sealed=b"other", confirmed=True, last_used_step=7)
    tenant_store.credentials.put_totp(confirmed)
    assert tenant_store.credentials.get_totp(alice) == confirmed
    tenant_store.credentials.delete_totp(alice)
    tenant_store.credentials.delete_totp(alice)
    assert tenant_store.credentials.get_totp(alice) is None


def test_totp_for_unknown_user_is_not_found(tenant_store: SqlTenantStore) -> None:
    """A TOTP credential cannot be stored for a user that does not exist."""
    with pytest.raises(NotFound):
        tenant_store.credentials.put_totp(f.totp(user_id="ghost"))


def test_totp_step_advances_only_forwards(tenant_store: SqlTenantStore, alice: str) -> None:
    """A step is accepted once; the same or an older step is a replay and refused."""
    tenant_store.credentials.put_totp(f.totp(user_id=alice))
    assert tenant_store.credentials.advance_totp_step(alice, 100) is True
    assert tenant_store.credentials.advance_totp_step(alice, 100) is False
    assert tenant_store.credentials.advance_totp_step(alice, 99) is False
    assert tenant_store.credentials.advance_totp_step(alice, 101) is True
    record = tenant_store.credentials.get_totp(alice)
    assert record is not None
    assert record.last_used_step == 101


def test_totp_step_without_credential_is_refused(tenant_store: SqlTenantStore, alice: str) -> None:
    """advance_totp_step for a user without TOTP returns False."""
    assert tenant_store.credentials.advance_totp_step(alice, 1) is False


def test_recovery_codes_replace_and_use_once(tenant_store: SqlTenantStore, alice: str) -> None:
    """A recovery code is used once; replacing the set forgets the old codes."""
    codes = [f.recovery_code(id=f"rc{i}", user_id=alice) for i in range(3)]
    tenant_store.credentials.replace_recovery_codes(alice, codes)
    assert tenant_store.credentials.recovery_codes(alice) == codes
    at = f.T0 + timedelta(minutes=5)
    assert tenant_store.credentials.use_recovery_code(alice, "hash-rc1", at) is True
    assert tenant_store.credentials.use_recovery_code(alice, "hash-rc1", at) is False
    assert tenant_store.credentials.use_recovery_code(alice, "hash-unknown", at) is False
    used = {c.id: c.used_at for c in tenant_store.credentials.recovery_codes(alice)}
    assert used == {"rc0": None, "rc1": at, "rc2": None}
    fresh = [f.recovery_code(id="new1", user_id=alice)]
    tenant_store.credentials.replace_recovery_codes(alice, fresh)
    assert tenant_store.credentials.recovery_codes(alice) == fresh
    assert tenant_store.credentials.use_recovery_code(alice, "hash-rc0", at) is False


def test_recovery_codes_of_another_user_are_refused(
    tenant_store: SqlTenantStore, alice: str
) -> None:
    """replace_recovery_codes refuses codes naming another user, keeping the old set."""
    tenant_store.credentials.replace_recovery_codes(alice, [f.recovery_code(user_id=alice)])
    with pytest.raises(InvalidInput):
        tenant_store.credentials.replace_recovery_codes(
            alice, [f.recovery_code(id="x", user_id="u2")]
        )
    assert len(tenant_store.credentials.recovery_codes(alice)) == 1


def _race(attempt: Callable[[], bool], workers: int = 4) -> list[bool]:
    """Run ``attempt`` on several threads released at the same moment."""
    barrier = threading.Barrier(workers)

    def run() -> bool:
        barrier.wait()
        return attempt()

    with ThreadPoolExecutor(max_workers=workers) as pool:
        futures = [pool.submit(run) for _ in range(workers)]
        return [future.result() for future in futures]


def test_concurrent_uses_of_one_recovery_code_succeed_once(
    tenant_store: SqlTenantStore, alice: str
) -> None:
    """Racing threads presenting the same recovery code: exactly one succeeds."""
    tenant_store.credentials.replace_recovery_codes(alice, [f.recovery_code(user_id=alice)])
    results = _race(lambda: tenant_store.credentials.use_recovery_code(alice, "hash-rc1", f.T0))
    assert sorted(results) == [False, False, False, True]


def test_concurrent_uses_of_one_totp_step_succeed_once(
    tenant_store: SqlTenantStore, alice: str
) -> None:
    """Racing threads presenting the same TOTP step: exactly one succeeds."""
    tenant_store.credentials.put_totp(f.totp(user_id=alice, last_used_step=10))
    results = _race(lambda: tenant_store.credentials.advance_totp_step(alice, 11))
    assert sorted(results) == [False, False, False, True]


def test_throttle_put_get_clear(tenant_store: SqlTenantStore) -> None:
    """A throttle counter is stored, replaced by a later put, and cleared."""
    assert tenant_store.throttle.get("ip:203.0.113.7") is None
    first = f.throttle(key="ip:203.0.113.7", failures=1)
    tenant_store.throttle.put(first)
    assert tenant_store.throttle.get("ip:203.0.113.7") == first
    locked = f.throttle(key="ip:203.0.113.7", failures=5, locked_until=f.T0 + timedelta(minutes=15))
    tenant_store.throttle.put(locked)
    assert tenant_store.throttle.get("ip:203.0.113.7") == locked
    tenant_store.throttle.clear("ip:203.0.113.7")
    tenant_store.throttle.clear("ip:203.0.113.7")
    assert tenant_store.throttle.get("ip:203.0.113.7") is None
