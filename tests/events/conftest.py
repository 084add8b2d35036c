"""Fixtures for the events tests: an in-memory audit store whose failures are scripted."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime

import pytest

from menshen.errors import Conflict, InvalidInput, StoreUnavailable
from menshen.events.model import AuditEvent
from menshen.store.records import AuditRecord
from menshen.testing import FixedClock

T0 = datetime(2026, 1, 5, 9, 0, 0, tzinfo=UTC)


class MemoryAudit:
    """An ``AuditRepository`` in memory with the SQL store's rules (seq and id unique).

    ``fail_next`` makes the next appends raise (StoreUnavailable by default);
    ``fail_after_commit`` makes the next append store the rows and then raise, as a lost
    connection after COMMIT does.
    """

    def __init__(self, tenant_id: str) -> None:
        self.tenant_id = tenant_id
        self.rows: list[AuditRecord] = []
        self.fail_next = 0
        self.fail_after_commit = 0
        self.appends = 0
        self.gate: threading.Event | None = None
        self.gate_timed_out = False
        self.entered_gate = False
        self.before_append: Callable[[], None] | None = None

    def last(self) -> AuditRecord | None:
        return self.rows[-1] if self.rows else None

    def append(self, records: Sequence[AuditRecord]) -> None:
        if self.gate is not None:
            self.entered_gate = True
            if not self.gate.wait(timeout=5):
                self.gate_timed_out = True
        if self.before_append is not None:
            hook, self.before_append = self.before_append, None
            hook()
        self.appends += 1
        if self.fail_next:
            self.fail_next -= 1
            raise StoreUnavailable("scripted failure")
        if not records:
            return
        if any(r.tenant_id != self.tenant_id for r in records):
            raise InvalidInput("wrong tenant")
        top = self.rows[-1].seq if self.rows else 0
        if records[0].seq != top + 1:
            raise Conflict("seq taken")
        ids = {r.id for r in self.rows}
        batch_ids = [r.id for r in records]
        if ids.intersection(batch_ids) or len(set(batch_ids)) != len(batch_ids):
            raise Conflict("id taken")
        self.rows.extend(records)
        if self.fail_after_commit:
            self.fail_after_commit -= 1
            raise StoreUnavailable("connection lost after commit")

    def iterate(self, *, after_seq: int = 0, batch: int = 1000) -> Iterator[AuditRecord]:
        return iter([r for r in self.rows if r.seq > after_seq])


class MemoryTenant:
    def __init__(self, tenant_id: str) -> None:
        self.tenant_id = tenant_id
        self.audit = MemoryAudit(tenant_id)


class MemoryAuditStore:
    def __init__(self) -> None:
        self.tenants: dict[str, MemoryTenant] = {}

    def tenant(self, tenant_id: str) -> MemoryTenant:
        if tenant_id not in self.tenants:
            self.tenants[tenant_id] = MemoryTenant(tenant_id)
        return self.tenants[tenant_id]


async def wait_until(condition: Callable[[], bool], *, attempts: int = 3000) -> None:
    """Yield to the event loop until ``condition`` holds (fails after ``attempts`` tries)."""
    for _ in range(attempts):
        if condition():
            return
        await asyncio.sleep(0.001)
    raise AssertionError("condition not reached")


def make_event(n: int = 0, *, tenant_id: str = "t1", kind: str = "access.allow") -> AuditEvent:
    return AuditEvent(
        tenant_id=tenant_id,
        kind=kind,
        outcome="allow",
        at=T0,
        actor=f"user-{n}",
        subject=f"user-{n}",
        app="settlement-admin",
        ip="203.0.113.7",
        session_id=f"s{n}",
        reason="rule staff-admin",
        details={"n": n, "path": "/settlements"},
        id=f"ev{n:08d}",
    )


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(T0)


@pytest.fixture
def memory_store() -> MemoryAuditStore:
    return MemoryAuditStore()
