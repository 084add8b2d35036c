"""The device repository on SQLite and PostgreSQL: registry, approvals, posture, revocation."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

import pytest

from menshen.errors import Conflict, InvalidInput, NotFound
from menshen.store.records import DeviceAuthorityRecord, DeviceRecord, TenantRecord
from menshen.store.sql import SqlStore, SqlTenantStore
from tests.store.factories import T0, user


def _device(id: str = "d1", user_id: str = "u1", **changes: object) -> DeviceRecord:
    base = DeviceRecord(
        tenant_id="t1",
        id=id,
        user_id=user_id,
        name="Work laptop",
        key_thumbprint=f"thumb-{id}",
        public_jwk={"kty": "EC", "crv": "P-256", "x": "AA", "y": "BB"},
        certificate_serial=None,
        certificate_not_after=None,
        approved_trust="registered",
        approved_by=None,
        approved_at=None,
        posture={},
        posture_reported_at=None,
        last_report_id=None,
        last_seen_at=None,
        created_at=T0,
    )
    return replace(base, **changes)  # type: ignore[arg-type]


@pytest.fixture
def t1(tenant_store: SqlTenantStore) -> SqlTenantStore:
    tenant_store.users.add(user(id="u1"))
    tenant_store.users.add(user(id="u2"))
    return tenant_store


def test_devices_round_trip_and_list_per_user(t1: SqlTenantStore) -> None:
    """Every field comes back as written; each user sees only their devices."""
    first = _device(certificate_serial="ab12", certificate_not_after=T0 + timedelta(days=9))
    second = _device("d2", created_at=T0 + timedelta(seconds=1))
    t1.devices.add(first)
    t1.devices.add(second)
    t1.devices.add(_device("d3", user_id="u2"))
    assert t1.devices.get("d1") == first
    assert t1.devices.list_for_user("u1") == [first, second]
    assert [d.id for d in t1.devices.list()] == ["d1", "d3", "d2"]
    assert t1.devices.get("nope") is None


def test_a_device_id_or_key_is_enrolled_once(t1: SqlTenantStore) -> None:
    """A second device with the same id or the same key is a Conflict."""
    t1.devices.add(_device())
    with pytest.raises(Conflict):
        t1.devices.add(_device(key_thumbprint="other"))
    with pytest.raises(Conflict):
        t1.devices.add(_device("d2", user_id="u2", key_thumbprint="thumb-d1"))


def test_a_device_needs_an_existing_user(t1: SqlTenantStore) -> None:
    """A device of a user the tenant does not have is NotFound."""
    with pytest.raises(NotFound):
        t1.devices.add(_device(user_id="ghost"))


def test_approve_and_revoke_touch_only_live_devices(t1: SqlTenantStore) -> None:
    """Approval sets the ceiling; a revoked device can be neither approved nor revoked again."""
    t1.devices.add(_device())
    assert t1.devices.approve("d1", trust="managed", by="admin", at=T0)
    approved = t1.devices.get("d1")
    assert approved is not None
    assert approved.approved_trust == "managed"
    assert approved.approved_by == "admin"
    assert approved.approved_at == T0
    assert t1.devices.revoke("d1", at=T0, by="admin", reason="lost")
    assert not t1.devices.revoke("d1", at=T0, by="admin", reason="lost")
    assert not t1.devices.approve("d1", trust="managed", by="admin", at=T0)
    assert not t1.devices.approve("nope", trust="managed", by="admin", at=T0)
    revoked = t1.devices.get("d1")
    assert revoked is not None
    assert revoked.revoked_at == T0
    assert revoked.revoke_reason == "lost"


def test_posture_is_stored_only_over_the_report_read(t1: SqlTenantStore) -> None:
    """The compare-and-set lets one of two reports read at the same time through."""
    t1.devices.add(_device())
    later = T0 + timedelta(minutes=1)
    posture = {"diskEncrypted": True, "os": "macos"}
    posture_of: dict[str, object] = dict(posture)

    def report(expected: datetime | None, at: datetime) -> bool:
        return t1.devices.record_posture(
            "d1",
            expected_reported_at=expected,
            posture=posture_of,
            reported_at=at,
            report_id="r1",
            seen_at=later,
        )

    assert report(None, T0)
    assert not report(None, later)
    assert report(T0, later)
    stored = t1.devices.get("d1")
    assert stored is not None
    assert (stored.posture, stored.posture_reported_at) == (posture, later)
    assert (stored.last_report_id, stored.last_seen_at) == ("r1", later)


def test_a_revoked_device_takes_no_posture(t1: SqlTenantStore) -> None:
    """Reports for a revoked device are not stored."""
    t1.devices.add(_device())
    t1.devices.revoke("d1", at=T0, by="admin", reason="lost")
    assert not t1.devices.record_posture(
        "d1",
        expected_reported_at=None,
        posture={},
        reported_at=T0,
        report_id="r1",
        seen_at=T0,
    )


def test_the_device_authority_is_kept_once(t1: SqlTenantStore) -> None:
    """The first CA stored wins; a second is ignored."""
    assert t1.devices.authority() is None
    first = DeviceAuthorityRecord("t1", "PEM-1", b"\x01sealed", T0)
    assert t1.devices.add_authority(first)
    assert not t1.devices.add_authority(replace(first, certificate_pem="PEM-2"))
    assert t1.devices.authority() == first


def test_device_changes_move_the_tenant_revision(store: SqlStore, t1: SqlTenantStore) -> None:
    """Enrolment and revocation reach every gateway replica through the revision."""
    before = store.revisions()["t1"]
    t1.devices.add(_device())
    t1.devices.revoke("d1", at=T0, by="admin", reason="lost")
    assert store.revisions()["t1"] == before + 2


def test_devices_are_isolated_between_tenants(store: SqlStore, t1: SqlTenantStore) -> None:
    """Another tenant sees, approves and revokes none of t1's devices, nor its CA."""
    store.add_tenant(TenantRecord(id="t2", name="Tenant Two", created_at=T0))
    t2 = store.tenant("t2")
    t2.users.add(user(tenant_id="t2", id="u1"))
    t1.devices.add(_device())
    t1.devices.add_authority(DeviceAuthorityRecord("t1", "PEM", b"\x01k", T0))
    assert t2.devices.get("d1") is None
    assert t2.devices.list() == []
    assert t2.devices.list_for_user("u1") == []
    assert not t2.devices.approve("d1", trust="managed", by="x", at=T0)
    assert not t2.devices.revoke("d1", at=T0, by="x", reason="x")
    assert t2.devices.authority() is None
    t2.devices.add(_device(tenant_id="t2"))  # same id and key in another tenant is fine
    with pytest.raises(InvalidInput):
        t2.devices.add(_device("d9"))  # a record of t1 given to t2's store
    live = t1.devices.get("d1")
    assert live is not None
    assert live.revoked_at is None
