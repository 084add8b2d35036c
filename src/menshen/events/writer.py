"""The audit writer: drains the bus in batches and appends sealed rows to the store.

Writing is off the request path: ``EventBus.publish`` only queues; this task wakes every
``flush_interval`` (or at once while a backlog remains), takes up to ``max_batch`` events
(up to ``backlog_batch`` while more than ``max_batch`` are waiting: fewer, larger
transactions and thread hand-overs let a writer that fell behind catch up), groups them by
tenant, seals each group against the tenant's last row (``chain.seal_batch``)
and appends it in a worker thread (``asyncio.to_thread``), because the store is synchronous.

No event is lost on purpose:

* a store error keeps the events (in order, ahead of newer ones) and retries them with
  exponential back-off; ``pending`` counts everything not yet written;
* ``stop()`` drains everything queued before it returns;
* an append whose outcome is unknown (the commit may have happened before the error) is
  detected on retry: if the tenant's last row is one of the batch's events, the events up to
  it are already written and are not written twice.

One writer per process serialises appends (a lock around the store call). Several replicas
may write the same tenant's chain: the store's uniqueness of ``(tenant, seq)`` turns a race
into ``Conflict``, on which the writer re-reads the last row, re-seals and tries again, so the
chain stays linear. NIST SP 800-92 §4.3 (log integrity and retention).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections import deque
from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

from menshen.clock import Clock
from menshen.errors import Conflict
from menshen.events.bus import EventBus
from menshen.events.chain import seal_batch
from menshen.events.model import AuditEvent
from menshen.store.api import AuditRepository
from menshen.store.records import AuditRecord

_log = logging.getLogger(__name__)


class TenantAudit(Protocol):
    """The part of a ``TenantStore`` the audit log needs."""

    @property
    def audit(self) -> AuditRepository: ...


class AuditStore(Protocol):
    """The part of a ``Store`` the audit writer needs."""

    def tenant(self, tenant_id: str) -> TenantAudit: ...


class AuditWriter:
    """The single task of a process that appends audit events to the store."""

    def __init__(
        self,
        store: AuditStore,
        bus: EventBus,
        clock: Clock,
        *,
        max_batch: int = 500,
        backlog_batch: int = 5000,
        flush_interval: float = 0.05,
        retry_initial: float = 0.1,
        retry_max: float = 5.0,
        max_conflicts: int = 8,
    ) -> None:
        if max_batch < 1 or flush_interval <= 0 or retry_initial <= 0 or retry_max <= 0:
            raise ValueError("batch size and intervals must be positive")
        if backlog_batch < max_batch:
            raise ValueError("backlog_batch must be at least max_batch")
        self._store = store
        self._bus = bus
        self._clock = clock
        self._max_batch = max_batch
        self._backlog_batch = backlog_batch
        self._flush_interval = flush_interval
        self._retry_initial = retry_initial
        self._retry_max = retry_max
        self._max_conflicts = max_conflicts
        self._held: deque[AuditEvent] = deque()  # taken from the bus, not yet written
        self._in_flight = 0
        self._last: dict[str, AuditRecord | None] = {}  # tenant -> last row we know of
        self._lock = threading.Lock()
        self._task: asyncio.Task[None] | None = None
        self._wake: asyncio.Event | None = None
        self._stopping = False
        self.written = 0
        self.failures = 0
        self.last_error: str | None = None
        self.last_error_at: datetime | None = None
        self.last_write_at: datetime | None = None

    @property
    def pending(self) -> int:
        """Events published but not yet in the store (queued, held for retry, in flight)."""
        return self._bus.pending + len(self._held) + self._in_flight

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    async def start(self) -> None:
        """Start the writer task on the running event loop."""
        if self.running:
            return
        self._stopping = False
        self._wake = asyncio.Event()
        self._task = asyncio.get_running_loop().create_task(self._run(), name="audit-writer")

    async def stop(self, *, grace: float | None = None) -> int:
        """Write everything queued, then end the task; returns the events left unwritten.

        With ``grace=None`` this waits as long as the store needs (a clean shutdown loses
        nothing). With ``grace`` seconds, events still unwritten when they pass are counted,
        logged and returned.
        """
        task = self._task
        if task is None:
            return self.pending
        self._stopping = True
        self._signal()
        try:
            await asyncio.wait_for(asyncio.shield(task), grace)
        except TimeoutError:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            _log.error("audit writer stopped with %d events unwritten", self.pending)
        self._task = None
        return self.pending

    async def flush(self) -> None:
        """Wait until the queue is empty and nothing is in flight (the writer must run)."""
        while self.pending and self.running:
            self._signal()
            await asyncio.sleep(self._flush_interval / 4)

    def write_now(self, events: Sequence[AuditEvent]) -> list[AuditRecord]:
        """Seal and append ``events`` synchronously (the CLI's offline changes); raises on error."""
        written: list[AuditRecord] = []
        for tenant_id, group in _by_tenant(events).items():
            written.extend(self._append(tenant_id, group))
        return written

    async def _run(self) -> None:
        backoff = 0.0
        while True:
            batch = self._next_batch()
            if batch:
                self._in_flight = len(batch)
                try:
                    unwritten = await asyncio.to_thread(self._write_batch, batch)
                except asyncio.CancelledError:
                    # Given up on (stop timed out): count the batch as unwritten.
                    self._held.extendleft(reversed(batch))
                    raise
                finally:
                    self._in_flight = 0
                if unwritten:
                    self._held.extendleft(reversed(unwritten))
                    backoff = min(self._retry_max, backoff * 2 or self._retry_initial)
                    await self._wait(backoff)
                    continue
                backoff = 0.0
                if self.pending >= self._max_batch:
                    continue
            if self.pending:
                if self._stopping:
                    continue
            elif self._stopping:
                return
            await self._wait(self._flush_interval)

    def _next_batch(self) -> list[AuditEvent]:
        held = self._held
        limit = self._max_batch
        if len(held) + self._bus.pending > limit:
            limit = self._backlog_batch
        batch: list[AuditEvent] = []
        while held and len(batch) < limit:
            batch.append(held.popleft())
        if len(batch) < limit:
            batch.extend(self._bus.take(limit - len(batch)))
        return batch

    def _write_batch(self, batch: list[AuditEvent]) -> list[AuditEvent]:
        """Append each tenant's events; return those that could not be written, in order."""
        unwritten: list[AuditEvent] = []
        for tenant_id, group in _by_tenant(batch).items():
            try:
                self._append(tenant_id, group)
            except Exception as error:
                self.failures += 1
                self.last_error = f"{type(error).__name__}: {error}"
                self.last_error_at = self._clock.now()
                _log.warning(
                    "audit append for tenant %s failed (%d events kept for retry): %s",
                    tenant_id,
                    len(group),
                    self.last_error,
                )
                unwritten.extend(group)
        if unwritten and len(unwritten) < len(batch):
            order = {id(event): index for index, event in enumerate(batch)}
            unwritten.sort(key=lambda event: order[id(event)])
        return unwritten

    def _append(self, tenant_id: str, events: list[AuditEvent]) -> list[AuditRecord]:
        with self._lock:
            audit = self._store.tenant(tenant_id).audit
            for _ in range(self._max_conflicts):
                if tenant_id in self._last:
                    last = self._last[tenant_id]
                else:
                    last = audit.last()
                    events = _not_yet_written(events, last)
                    if not events:
                        self._last[tenant_id] = last
                        return []
                try:
                    return self._try_append(tenant_id, audit, last, events)
                except Conflict:
                    self._last.pop(tenant_id, None)
                    if _same_row(audit.last(), last):
                        # The chain did not move, so an event id is taken already: the
                        # event was written before (published twice, or an earlier append
                        # committed and then failed). Write one by one, skipping those.
                        return self._append_skipping_duplicates(tenant_id, audit, events)
                    # Another writer extended the chain: re-read the last row and re-seal.
            raise Conflict(f"audit chain of tenant {tenant_id} kept moving; will retry")

    def _try_append(
        self,
        tenant_id: str,
        audit: AuditRepository,
        last: AuditRecord | None,
        events: list[AuditEvent],
    ) -> list[AuditRecord]:
        records = seal_batch(last, events)
        try:
            audit.append(records)
        except BaseException:
            self._last.pop(tenant_id, None)  # outcome unknown: re-read before the retry
            raise
        self._last[tenant_id] = records[-1]
        self.written += len(records)
        self.last_write_at = self._clock.now()
        return records

    def _append_skipping_duplicates(
        self, tenant_id: str, audit: AuditRepository, events: list[AuditEvent]
    ) -> list[AuditRecord]:
        written: list[AuditRecord] = []
        seen: set[str] = set()
        for event in events:
            if event.id in seen:
                continue
            seen.add(event.id)
            last = audit.last()
            try:
                written.extend(self._try_append(tenant_id, audit, last, [event]))
            except Conflict:
                if not _same_row(audit.last(), last):
                    raise  # a race after all: the caller retries the whole group
                _log.warning("audit event %s is already in the log; not written twice", event.id)
        return written

    def _signal(self) -> None:
        if self._wake is not None:
            self._wake.set()

    async def _wait(self, seconds: float) -> None:
        wake = self._wake
        if wake is None:
            await asyncio.sleep(seconds)
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(wake.wait(), seconds)
        wake.clear()


def _by_tenant(events: Sequence[AuditEvent]) -> dict[str, list[AuditEvent]]:
    groups: dict[str, list[AuditEvent]] = {}
    for event in events:
        groups.setdefault(event.tenant_id, []).append(event)
    return groups


def _same_row(a: AuditRecord | None, b: AuditRecord | None) -> bool:
    if a is None or b is None:
        return a is b
    return a.seq == b.seq and a.hash == b.hash


def _not_yet_written(events: list[AuditEvent], last: AuditRecord | None) -> list[AuditEvent]:
    """Drop the events an earlier append already stored (its result was lost in an error)."""
    if last is None:
        return events
    for index in range(len(events) - 1, -1, -1):
        if events[index].id == last.id:
            return events[index + 1 :]
    return events
