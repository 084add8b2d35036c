"""Device enrolment codes on SQLite and PostgreSQL: single use, expiry, tenant scope."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from menshen.errors import Conflict, NotFound
from menshen.store.records import DeviceEnrolmentRecord, TenantRecord
from menshen.store.sql import SqlStore, SqlTenantStore

from . import factories as f

LATER = f.T0 + timedelta(minutes=5)


def _code(code_hash: str = "h1", user_id: str = "u1", **changes: object) -> DeviceEnrolmentRecord:
    base = DeviceEnrolmentRecord(
        tenant_id="t1",
        code_hash=code_hash,
        user_id=user_id,
        created_at=f.T0,
        expires_at=f.T0 + timedelta(minutes=10),
    )
    return replace(base, **changes)  # type: ignore[arg-type]


@pytest.fixture
def t1(tenant_store: SqlTenantStore) -> SqlTenantStore:
    tenant_store.users.add(f.user(id="u1"))
    return tenant_store


def test_a_code_round_trips_by_its_hash(t1: SqlTenantStore) -> None:
    """A stored code reads back equal; an unknown hash is None."""
    t1.device_enrolments.add(_code())
    assert t1.device_enrolments.get("h1") == _code()
    assert t1.device_enrolments.get("h2") is None


def test_a_code_needs_a_user_and_a_fresh_hash(t1: SqlTenantStore) -> None:
    """A code of an unknown user is NotFound; a second code with the same hash a Conflict."""
    with pytest.raises(NotFound):
        t1.device_enrolments.add(_code(user_id="ghost"))
    t1.device_enrolments.add(_code())
    with pytest.raises(Conflict):
        t1.device_enrolments.add(_code())


def test_a_code_is_redeemed_once(t1: SqlTenantStore) -> None:
    """The first redemption wins and records the device; a second one is refused."""
    t1.device_enrolments.add(_code())
    assert t1.device_enrolments.redeem("h1", at=LATER, device_id="dev_1") is True
    assert t1.device_enrolments.redeem("h1", at=LATER, device_id="dev_2") is False
    spent = t1.device_enrolments.get("h1")
    assert spent is not None
    assert (spent.used_at, spent.device_id) == (LATER, "dev_1")


def test_an_expired_or_unknown_code_is_not_redeemed(t1: SqlTenantStore) -> None:
    """At or after its expiry a code is refused, as is a hash never issued."""
    t1.device_enrolments.add(_code())
    expiry = f.T0 + timedelta(minutes=10)
    assert t1.device_enrolments.redeem("h1", at=expiry, device_id="dev_1") is False
    assert t1.device_enrolments.redeem("nope", at=LATER, device_id="dev_1") is False
    stored = t1.device_enrolments.get("h1")
    assert stored is not None
    assert stored.used_at is None


def test_purge_deletes_only_codes_expired_before(t1: SqlTenantStore) -> None:
    """Purging removes long-expired codes, used or not, and keeps live ones."""
    t1.device_enrolments.add(_code("old", expires_at=f.T0 - timedelta(days=1)))
    t1.device_enrolments.add(_code("live"))
    assert t1.device_enrolments.purge(f.T0) == 1
    assert t1.device_enrolments.get("old") is None
    assert t1.device_enrolments.get("live") is not None


def test_codes_are_scoped_to_their_tenant(store: SqlStore, t1: SqlTenantStore) -> None:
    """Another tenant neither sees nor redeems a code of t1."""
    store.add_tenant(TenantRecord(id="t2", name="Two", created_at=f.T0))
    t2 = store.tenant("t2")
    t1.device_enrolments.add(_code())
    assert t2.device_enrolments.get("h1") is None
    assert t2.device_enrolments.redeem("h1", at=LATER, device_id="dev_x") is False
    assert t2.device_enrolments.purge(f.T0 + timedelta(days=9)) == 0
    assert t1.device_enrolments.get("h1") == _code()
