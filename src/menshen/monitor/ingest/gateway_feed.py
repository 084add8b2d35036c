"""The gateway's audit events into the pipeline, without ever blocking the gateway, and
without losing one (NIST SP 800-207 §3.4; NIST SP 800-92 §4.3).

Two paths, one record:

* **Live.** ``GatewayFeed`` subscribes to the ``EventBus``; its callback, which runs inside
  ``publish`` on the request path, only appends to a bounded deque (or, when it is full,
  adds one to ``dropped``). ``pump`` maps and queues the events off the request path.
* **Catch-up.** The audit writer is separate and stays the record. ``reconcile`` reads each
  tenant's audit log after the monitor's cursor (``monitor_cursors``, persisted): a row whose
  event came live is ticked off; any other row — dropped from a full hand-off, written while
  the monitor was down, or written by another replica — is mapped and queued now. The cursor
  then moves to the last row read.

So monitoring may lag (by ``reconcile_interval`` when it fell behind) but never misses an
event that reached the audit log. Both paths run on the event loop's thread (only the reads
run in a worker), so an event that reaches both is delivered once: each path records the ids
it delivered and the other skips them. The id sets are bounded; past the bound an event could
at worst be delivered twice (never lost).
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict, deque
from collections.abc import Sequence
from typing import Protocol

from menshen.clock import Clock
from menshen.events.model import AuditEvent
from menshen.monitor.ingest.gateway_map import GATEWAY_SOURCE, map_audit, map_audit_record
from menshen.monitor.ingest.pipeline import Pipeline
from menshen.monitor.model import ObservedEvent
from menshen.store.api import AuditRepository, MonitorCursorRepository
from menshen.store.records import TenantRecord

__all__ = ["GatewayFeed"]

_log = logging.getLogger(__name__)
CONSUMER = "monitor.ingest"
_TICK = 2_000  # audit ids ticked off per turn of the event loop


class _TenantLog(Protocol):
    @property
    def audit(self) -> AuditRepository: ...
    @property
    def monitor_cursors(self) -> MonitorCursorRepository: ...


class FeedStore(Protocol):
    def tenant(self, tenant_id: str) -> _TenantLog: ...
    def tenants(self) -> Sequence[TenantRecord]: ...


class _Ids:
    """A bounded set of event ids in insertion order."""

    def __init__(self, limit: int) -> None:
        self._ids: OrderedDict[str, None] = OrderedDict()
        self._limit = limit

    def add(self, event_id: str) -> None:
        self._ids[event_id] = None
        if len(self._ids) > self._limit:
            self._ids.popitem(last=False)

    def pop(self, event_id: str) -> bool:
        return self._ids.pop(event_id, 0) is None

    def __len__(self) -> int:
        return len(self._ids)


class GatewayFeed:
    def __init__(
        self,
        pipeline: Pipeline,
        store: FeedStore,
        clock: Clock,
        *,
        capacity: int = 10_000,
        batch: int = 500,
        reconcile_interval: float = 5.0,
        read_limit: int = 20_000,
        remembered: int = 200_000,
    ) -> None:
        self._pipeline = pipeline
        self._store = store
        self._clock = clock
        self._handoff: deque[AuditEvent] = deque()
        self.capacity = capacity
        self._batch = batch
        self._interval = reconcile_interval
        self._read_limit = read_limit
        self._live: dict[str, _Ids] = {}
        self._recovered: dict[str, _Ids] = {}
        self._remembered = remembered
        self._cursors: dict[str, int] = {}
        self.dropped = 0
        self.recovered = 0
        self.behind = False  # the last catch-up read a full page

    # -- live path ---------------------------------------------------------------------
    def __call__(self, event: AuditEvent) -> None:
        """The bus subscriber: O(1), never blocks, never raises."""
        handoff = self._handoff
        if len(handoff) < self.capacity:
            handoff.append(event)
        else:
            self.dropped += 1

    def _ids(self, table: dict[str, _Ids], tenant_id: str) -> _Ids:
        ids = table.get(tenant_id)
        if ids is None:
            ids = table[tenant_id] = _Ids(self._remembered)
        return ids

    def pump(self, most: int | None = None) -> int:
        """Map and queue what the hand-off holds, at most ``most`` events (default: four
        batches, so one call never holds the event loop for long); how many it took."""
        moved = 0
        handoff = self._handoff
        limit = 4 * self._batch if most is None else most
        while handoff and moved < limit:
            taken = [handoff.popleft() for _ in range(min(self._batch, len(handoff)))]
            by_tenant: dict[str, list[ObservedEvent]] = {}
            for event in taken:
                if self._ids(self._recovered, event.tenant_id).pop(event.id):
                    continue  # the catch-up delivered it already
                observed = map_audit(event)
                if observed is not None:
                    by_tenant.setdefault(event.tenant_id, []).append(observed)
            for tenant_id, events in by_tenant.items():
                admission = self._pipeline.submit_events((tenant_id, GATEWAY_SOURCE), events)
                if admission.retry_after is not None:
                    # The pipeline is full: these are dropped here and recovered from the
                    # audit log by ``reconcile``; the rest of the hand-off waits.
                    self.dropped += len(events)
                    self._pipeline.metrics[(tenant_id, GATEWAY_SOURCE)].dropped += len(events)
                    continue
                live = self._ids(self._live, tenant_id)
                for observed in events:
                    live.add(observed.event_id)
            moved += len(taken)
        return moved

    # -- catch-up ----------------------------------------------------------------------
    def start_cursors(self) -> None:
        """Read each tenant's cursor, or start it at the log's end (call after subscribing)."""
        for tenant in self._store.tenants():
            self._cursor(tenant.id)

    def _cursor(self, tenant_id: str) -> int:
        seq = self._cursors.get(tenant_id)
        if seq is None:
            tenant = self._store.tenant(tenant_id)
            seq = tenant.monitor_cursors.get(CONSUMER)
            if seq is None:
                last = tenant.audit.last()
                seq = 0 if last is None else last.seq
                tenant.monitor_cursors.put(CONSUMER, seq, self._clock.now())
            self._cursors[tenant_id] = seq
        return seq

    def _read(self) -> dict[str, list[tuple[int, str]]]:
        """Worker thread: (seq, id) of the rows after each tenant's cursor (bounded)."""
        rows: dict[str, list[tuple[int, str]]] = {}
        for tenant in self._store.tenants():
            after = self._cursor(tenant.id)
            page = self._store.tenant(tenant.id).monitor_cursors.audit_ids_after(
                after, self._read_limit
            )
            if page:
                rows[tenant.id] = page
        return rows

    def _fetch(self, tenant_id: str, seqs: list[int]) -> list[ObservedEvent]:
        """Worker thread: the rows ``seqs``, mapped (mapping is pure: it need not hold the
        event loop)."""
        records = self._store.tenant(tenant_id).monitor_cursors.audit_rows(seqs)
        mapped = (map_audit_record(record) for record in records)
        return [observed for observed in mapped if observed is not None]

    def _save(self, moved: dict[str, int]) -> None:
        now = self._clock.now()
        for tenant_id, seq in moved.items():
            self._store.tenant(tenant_id).monitor_cursors.put(CONSUMER, seq, now)

    async def reconcile(self) -> int:
        """One catch-up round; how many events it recovered."""
        self.pump(len(self._handoff))  # what is in the hand-off is live, not missed
        rows = await asyncio.to_thread(self._read)
        recovered = 0
        moved: dict[str, int] = {}
        self.behind = False
        for tenant_id, page in rows.items():
            self.behind = self.behind or len(page) >= self._read_limit
            live = self._ids(self._live, tenant_id)
            unseen = []
            for start in range(0, len(page), _TICK):
                unseen += [
                    seq for seq, event_id in page[start : start + _TICK] if not live.pop(event_id)
                ]
                await asyncio.sleep(0)  # a long page is ticked off between requests
            missed: list[ObservedEvent] = []
            if unseen:
                missed = await asyncio.to_thread(self._fetch, tenant_id, unseen)
            key = (tenant_id, GATEWAY_SOURCE)
            for start in range(0, len(missed), self._batch):
                chunk = missed[start : start + self._batch]
                await self._submit_waiting(key, chunk)
                done = self._ids(self._recovered, tenant_id)
                for observed in chunk:
                    done.add(observed.event_id)
                await asyncio.sleep(0)
            recovered += len(missed)
            self._cursors[tenant_id] = moved[tenant_id] = page[-1][0]
        if moved:
            await asyncio.to_thread(self._save, moved)
        self.recovered += recovered
        return recovered

    async def _submit_waiting(self, key: tuple[str, str], chunk: list[ObservedEvent]) -> None:
        for _ in range(1_000_000):  # bounded: about two days of 0.2 s waits
            if self._pipeline.submit_events(key, chunk).retry_after is None:
                return
            await asyncio.sleep(0.2)
        raise TimeoutError("the pipeline stayed full")

    async def run(self, idle: float = 0.05) -> None:
        """Pump for ever and reconcile every ``reconcile_interval`` seconds (cancel to stop)."""
        await asyncio.to_thread(self.start_cursors)
        next_round = self._clock.monotonic() + self._interval
        while True:
            self.pump()
            if self._clock.monotonic() >= next_round:
                try:
                    await self.reconcile()
                except Exception:
                    _log.exception("monitor catch-up from the audit log failed; will retry")
                # A full page means the log ran ahead of the cursor: read on soon, or the
                # remembered ids would age out and every row would be mapped twice.
                wait = idle if self.behind else self._interval
                next_round = self._clock.monotonic() + wait
            await asyncio.sleep(0 if self._handoff else idle)

    @property
    def pending(self) -> int:
        return len(self._handoff)
