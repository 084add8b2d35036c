"""The device a request comes from: the snapshot look-up behind the guard's LiveAttributes."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import timedelta

import pytest

from menshen.access.device_trust import WRONG_USER, LiveDevices, TenantDevices
from menshen.events.model import AuditEvent
from menshen.gateway.contract import RequestHead
from menshen.identity.devices import TrustRules
from menshen.sessions.service import SessionService, SessionTimeouts
from menshen.store.records import DeviceRecord, SessionRecord, UserRecord
from menshen.store.sql import SqlStore
from menshen.testing import FixedClock

RULES = TrustRules(max_report_age=timedelta(hours=1))


class _World:
    def __init__(self, store: SqlStore) -> None:
        self.clock = FixedClock()
        now = self.clock.now()
        for uid in ("u-ann", "u-ben"):
            store.tenant("t1").users.add(
                UserRecord("t1", uid, uid, f"{uid}@x.example", uid, None, False, now, now)
            )
        self.sessions = SessionService(store, self.clock, SessionTimeouts())
        self.events: list[AuditEvent] = []
        self.live = LiveDevices(sessions=self.sessions, publish=self.events.append)

    def session(self, user_id: str = "u-ann") -> SessionRecord:
        made = asyncio.run(
            self.sessions.create(
                "t1", user_id, user_agent_family="Chrome", ip="127.0.0.1", auth_level="mfa"
            )
        )
        return made.record

    def device(self, session: SessionRecord, serial: str | None) -> str | None:
        """The id and trust the guard would see, as ``id:trust``, or None."""
        current = self.sessions.get(session.id) or session
        found = self.live.device("t1", current, _head(serial), self.clock.now())
        return None if found is None else f"{found.id}:{found.trust}"

    def load(self, *records: DeviceRecord) -> list[tuple[str, str]]:
        return self.live.set_snapshot({"t1": TenantDevices(records, RULES)}, self.clock.now())


def _head(serial: str | None) -> RequestHead:
    return RequestHead(
        method="GET",
        path="/wiki/",
        query="",
        host="apps.example",
        port=443,
        scheme="https",
        headers=(),
        client_ip="198.51.100.7",
        peer_ip="198.51.100.7",
        client_cert_serial=serial,
    )


def _record(device_id: str = "dev_a", user_id: str = "u-ann", **changes: object) -> DeviceRecord:
    base = DeviceRecord(
        tenant_id="t1",
        id=device_id,
        user_id=user_id,
        name="Laptop",
        key_thumbprint=f"thumb-{device_id}",
        public_jwk={},
        certificate_serial=f"serial-{device_id}",
        certificate_not_after=FixedClock().now() + timedelta(days=365),
        approved_trust="managed",
        approved_by="admin",
        approved_at=FixedClock().now(),
        posture={"diskEncrypted": True, "screenLock": True, "os": "linux"},
        posture_reported_at=FixedClock().now(),
        last_report_id="r1",
        last_seen_at=None,
        created_at=FixedClock().now(),
    )
    return replace(base, **changes)  # type: ignore[arg-type]


@pytest.fixture
def world(sqlite_store: SqlStore) -> _World:
    return _World(sqlite_store)


def test_no_certificate_or_an_unknown_one_is_no_device(world: _World) -> None:
    """Without a certificate, or with a serial the registry does not know: unknown device."""
    world.load(_record())
    session = world.session()
    assert world.device(session, None) is None
    assert world.device(session, "serial-nope") is None
    assert world.sessions.take_device_bindings() == {}


def test_the_owners_certificate_gives_the_device_and_binds_the_session(world: _World) -> None:
    """A managed device with a fresh report is managed; the session is bound to it."""
    world.load(_record())
    session = world.session()
    assert world.device(session, "serial-dev_a") == "dev_a:managed"
    bound = world.sessions.get(session.id)
    assert bound is not None
    assert bound.device_id == "dev_a"
    assert world.device(session, "serial-dev_a") == "dev_a:managed"


def test_a_bound_session_with_another_or_no_certificate_is_an_unknown_device(
    world: _World,
) -> None:
    """Once bound to one device, a session arriving from another (even the user's) is not."""
    world.load(_record(), _record("dev_b", certificate_serial="serial-dev_b"))
    session = world.session()
    assert world.device(session, "serial-dev_a") == "dev_a:managed"
    assert world.device(session, "serial-dev_b") is None
    assert world.device(session, None) is None
    assert world.device(session, "serial-dev_a") == "dev_a:managed"


def test_another_users_certificate_is_no_device_and_audited_once(world: _World) -> None:
    """Ben's session with Ann's certificate: no device, no binding, one attack event."""
    world.load(_record())
    bens = world.session("u-ben")
    assert world.device(bens, "serial-dev_a") is None
    assert world.device(bens, "serial-dev_a") is None
    still = world.sessions.get(bens.id)
    assert still is not None
    assert still.device_id is None
    assert [(e.kind, e.reason, e.actor, e.subject) for e in world.events] == [
        ("attack.blocked", WRONG_USER, "u-ben", "u-ann")
    ]
    assert world.events[0].details["device"] == "dev_a"
    assert world.events[0].ip == "198.51.100.7"


def test_a_revoked_device_is_no_device_and_reported_as_newly_revoked(world: _World) -> None:
    """The next snapshot drops a revoked device and names it once so its sessions end."""
    world.load(_record())
    session = world.session()
    assert world.device(session, "serial-dev_a") is not None
    gone = world.load(_record(revoked_at=world.clock.now()))
    assert gone == [("t1", "dev_a")]
    assert world.device(session, "serial-dev_a") is None
    assert world.load(_record(revoked_at=world.clock.now())) == []


def test_trust_falls_when_the_last_report_grows_old(world: _World) -> None:
    """No refresh needed: past the report's age the same snapshot says registered."""
    world.load(_record())
    session = world.session()
    assert world.device(session, "serial-dev_a") == "dev_a:managed"
    world.clock.advance(RULES.max_report_age.total_seconds() + 1)
    assert world.device(session, "serial-dev_a") == "dev_a:registered"


def test_an_expired_certificate_is_no_device(world: _World) -> None:
    """A certificate past its not-after date (a long-lived connection) is refused."""
    world.load(_record(certificate_not_after=world.clock.now() + timedelta(seconds=10)))
    session = world.session()
    assert world.device(session, "serial-dev_a") is not None
    world.clock.advance(11)
    assert world.device(session, "serial-dev_a") is None


def test_another_tenants_serial_is_unknown(world: _World) -> None:
    """The snapshot is per tenant: a serial known in t2 means nothing in t1."""
    world.live.set_snapshot(
        {"t1": TenantDevices((), RULES), "t2": TenantDevices((_record(),), RULES)},
        world.clock.now(),
    )
    assert world.device(world.session(), "serial-dev_a") is None
