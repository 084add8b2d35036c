"""A tenant with a user, sessions and a device, and the response parts around them."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from menshen.events.model import AuditEvent
from menshen.identity.passwords import PasswordHasher
from menshen.identity.service import IdentityService
from menshen.monitor.response.actions import ActionRunner
from menshen.monitor.response.live import LiveResponse
from menshen.sessions.service import SessionService, SessionTimeouts
from menshen.store.records import DeviceRecord, UserRecord
from menshen.store.sql import SqlStore
from menshen.testing import FixedClock

from .findings import T0


@dataclass
class World:
    store: SqlStore
    clock: FixedClock = field(default_factory=lambda: FixedClock(T0))
    events: list[AuditEvent] = field(default_factory=list)
    live: LiveResponse = field(default_factory=LiveResponse)
    observe: bool = False

    def __post_init__(self) -> None:
        now = self.clock.now()
        users = self.store.tenant("t1").users
        for uid in ("u-alice", "u-bob"):
            users.add(UserRecord("t1", uid, uid, f"{uid}@x.example", uid, None, False, now, now))
        self.sessions = SessionService(self.store, self.clock, SessionTimeouts())
        self.identity = IdentityService(
            self.store.tenant("t1"), PasswordHasher(), self.clock, bytes, bytes
        )
        self.runner = ActionRunner(
            store=self.store,
            sessions=self.sessions,
            identity=lambda tenant_id: self.identity,
            live=self.live,
            publish=self.events.append,
            clock=self.clock,
            observe_only=lambda tenant_id: self.observe,
        )

    def session(self, user_id: str = "u-alice") -> str:
        made = asyncio.run(
            self.sessions.create(
                "t1", user_id, user_agent_family="Chrome", ip="192.0.2.1", auth_level="mfa"
            )
        )
        return made.record.id

    def live_sessions(self, user_id: str = "u-alice") -> int:
        return len(self.sessions.sessions_of("t1", user_id))

    def device(self, trust: str = "managed") -> str:
        now = self.clock.now()
        record = DeviceRecord(
            "t1",
            "d1",
            "u-alice",
            "laptop",
            "thumb",
            {},
            "0a",
            None,
            trust,
            "admin",
            now,
            {},
            None,
            None,
            None,
            now,
        )
        self.store.tenant("t1").devices.add(record)
        return record.id

    def kinds(self) -> list[str]:
        return [f"{e.kind}:{e.outcome}" for e in self.events]
