"""The ingestion pipeline: admission per source, mapping, quarantine, fair hand-off to a sink.

Every source (the gateway, each HTTP source, the syslog listener, each tailed path) has its
own bounded queue and token bucket (``limits``). ``submit`` admits a whole batch or none of
it: when the source's queue is full or it is over its rate, nothing is taken and the caller
is told how long to wait (HTTP answers 429 with ``Retry-After``, the syslog listener and the
tailer stop reading), so a well-behaved sender loses nothing. Admitted records are mapped at
once (mappers are pure and cheap); a record a mapper refuses is counted by reason and kept in
a bounded quarantine buffer with an excerpt, sampled per source and minute so a flood of
garbage cannot flood the store.

``run`` drains the queues round-robin — every source with events gets a share of each
batch — so a flooding source fills only its own queue and cannot starve the others.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import secrets
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from menshen.clock import Clock
from menshen.monitor.ingest.limits import IngestLimits, TokenBucket
from menshen.monitor.ingest.mappers.registry import Mapper
from menshen.monitor.ingest.metrics import SourceMetrics
from menshen.monitor.ingest.reject import EARLIEST, MapContext, Rejected, excerpt
from menshen.monitor.ingest.sink import EventSink
from menshen.monitor.model import ObservedEvent
from menshen.store.monitor_ingest import QuarantineRecord

__all__ = ["Admission", "Pipeline", "RawRecord", "SourceKey"]

_log = logging.getLogger(__name__)

SourceKey = tuple[str, str]  # (tenant id, source name)


@dataclass(frozen=True, slots=True)
class RawRecord:
    """One record as received; ``default_id`` names it when the record carries no id."""

    text: str
    default_id: str


@dataclass(frozen=True, slots=True)
class Admission:
    """``retry_after`` is None when the batch was taken (``accepted`` queued, ``rejected``
    quarantined); otherwise nothing was taken and the sender should retry after it."""

    accepted: int = 0
    rejected: int = 0
    retry_after: float | None = None


class Pipeline:
    def __init__(
        self,
        sink: EventSink,
        clock: Clock,
        limits: IngestLimits | None = None,
        *,
        quarantine_buffer: int = 2_000,
        quarantine_per_minute: int = 60,
    ) -> None:
        self.sink = sink
        self._clock = clock
        self.limits = limits or IngestLimits()
        self._queues: dict[SourceKey, deque[ObservedEvent]] = {}
        self._buckets: dict[SourceKey, TokenBucket] = {}
        self.metrics: dict[SourceKey, SourceMetrics] = {}
        self._quarantine: deque[QuarantineRecord] = deque()
        self._quarantine_cap = quarantine_buffer
        self._per_minute = quarantine_per_minute
        self._sampled: dict[SourceKey, tuple[int, int]] = {}  # minute, count kept
        self._ids = itertools.count()
        self._prefix = secrets.token_hex(6)
        self._wake: asyncio.Event | None = None
        self._turn = 0

    # -- admission ------------------------------------------------------------------
    def _source(self, key: SourceKey) -> tuple[deque[ObservedEvent], SourceMetrics]:
        queue = self._queues.get(key)
        if queue is None:
            queue = self._queues[key] = deque()
            self.metrics[key] = SourceMetrics()
            limits = self.limits
            self._buckets[key] = TokenBucket(limits.rate, limits.burst, self._clock.monotonic())
        return queue, self.metrics[key]

    def _admit(self, key: SourceKey, count: int, *, rate_limited: bool = True) -> float | None:
        queue, metrics = self._source(key)
        metrics.received += count
        if count > self.limits.queue:
            metrics.throttled += count
            return 1.0  # a batch larger than the queue: the sender must split it
        if len(queue) + count > self.limits.queue:
            metrics.throttled += count
            return 0.5
        if not rate_limited:
            return None
        wait = self._buckets[key].take(count, self._clock.monotonic())
        if wait > 0:
            metrics.throttled += count
            return wait
        return None

    def submit(
        self,
        key: SourceKey,
        records: Sequence[RawRecord],
        mapper: Mapper,
        *,
        epoch: datetime = EARLIEST,
    ) -> Admission:
        """Map and queue ``records`` of source ``key`` (all or none; see the module doc)."""
        wait = self._admit(key, len(records))
        if wait is not None:
            return Admission(retry_after=wait)
        queue, metrics = self._source(key)
        ctx = MapContext(
            tenant_id=key[0],
            source=key[1],
            now=self._clock.now(),
            max_skew=timedelta(seconds=self.limits.max_skew),
            epoch=epoch,
        )
        accepted = rejected = 0
        for record in records:
            try:
                event = mapper(record.text, ctx, record.default_id)
            except Rejected as exc:
                self._reject(key, exc.reason, exc.detail, record.text)
                rejected += 1
                continue
            except Exception as exc:  # a mapper bug must not stop the pipeline
                _log.exception("mapper failed on a record of %s", key[1])
                self._reject(key, "mapper_error", type(exc).__name__, record.text)
                rejected += 1
                continue
            queue.append(event)
            accepted += 1
        metrics.accepted += accepted
        self._signal()
        return Admission(accepted=accepted, rejected=rejected)

    def submit_events(self, key: SourceKey, events: Sequence[ObservedEvent]) -> Admission:
        """Queue events already mapped (the gateway's); all or none. The gateway is not an
        outside sender: only the queue bound applies to it, not the per-source rate (a busy
        gateway outruns any rate meant for a flood, and every event refused here would be
        read back from the audit log and mapped again)."""
        wait = self._admit(key, len(events), rate_limited=False)
        if wait is not None:
            return Admission(retry_after=wait)
        queue, metrics = self._source(key)
        queue.extend(events)
        metrics.accepted += len(events)
        self._signal()
        return Admission(accepted=len(events))

    async def submit_waiting(
        self, key: SourceKey, records: Sequence[RawRecord], mapper: Mapper, **kw: datetime
    ) -> Admission:
        """``submit``, waiting while the source is over its limits (stream readers)."""
        while True:
            admission = self.submit(key, records, mapper, **kw)
            if admission.retry_after is None:
                return admission
            await asyncio.sleep(min(admission.retry_after, 1.0))

    def reject(self, key: SourceKey, reason: str, detail: str, raw: str | bytes) -> None:
        """Count and quarantine input refused before mapping (framing, length, auth)."""
        _, metrics = self._source(key)
        metrics.received += 1
        self._reject(key, reason, detail, raw)

    def _reject(self, key: SourceKey, reason: str, detail: str, raw: str | bytes) -> None:
        metrics = self.metrics[key]
        metrics.rejected[reason] += 1
        now = self._clock.now()
        minute = int(now.timestamp() // 60)
        seen_minute, kept = self._sampled.get(key, (minute, 0))
        if seen_minute != minute:
            kept = 0
        if kept >= self._per_minute or len(self._quarantine) >= self._quarantine_cap:
            metrics.quarantine_dropped += 1
            return
        self._sampled[key] = (minute, kept + 1)
        self._quarantine.append(
            QuarantineRecord(
                tenant_id=key[0],
                id=f"{self._prefix}{next(self._ids):010x}",
                source=key[1][:64],
                at=now.astimezone(UTC),
                reason=reason[:64],
                detail=detail[:255],
                excerpt=excerpt(raw),
            )
        )

    def take_quarantine(self) -> list[QuarantineRecord]:
        """Remove and return the quarantine entries not yet written."""
        taken = list(self._quarantine)
        self._quarantine.clear()
        return taken

    # -- hand-off to the sink ----------------------------------------------------------
    @property
    def pending(self) -> int:
        return sum(len(queue) for queue in self._queues.values())

    def room(self, key: SourceKey) -> int:
        """How many more events source ``key`` may queue now."""
        queue, _ = self._source(key)
        return self.limits.queue - len(queue)

    def next_batch(self) -> list[ObservedEvent]:
        """Up to ``limits.batch`` events, an equal share from each source that has some."""
        active = [key for key, queue in list(self._queues.items()) if queue]
        batch: list[ObservedEvent] = []
        if not active:
            return batch
        self._turn = (self._turn + 1) % len(active)
        active = active[self._turn :] + active[: self._turn]
        share = max(1, self.limits.batch // len(active))
        for key in active:
            queue = self._queues[key]
            taken = min(share, len(queue), self.limits.batch - len(batch))
            batch.extend(queue.popleft() for _ in range(taken))
            self.metrics[key].delivered += taken
        return batch

    def drain_once(self) -> int:
        """Hand one batch to the sink; how many events it held."""
        batch = self.next_batch()
        if batch:
            try:
                self.sink.accept(batch)
            except Exception:
                _log.exception("the event sink failed on a batch of %d events", len(batch))
        return len(batch)

    async def run(self, idle: float = 0.05) -> None:
        """Drain for ever (cancel to stop); the sink runs in a worker thread."""
        self._wake = asyncio.Event()
        while True:
            if self.pending:
                await asyncio.to_thread(self.drain_once)
                continue
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), idle)
            self._wake.clear()

    def _signal(self) -> None:
        if self._wake is not None:
            self._wake.set()
