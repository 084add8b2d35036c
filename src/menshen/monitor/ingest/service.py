"""The ingestion service of one gateway process: wires the pipeline to its sources.

Built by the composition root (``menshen.app``) from ``Settings.monitor``: the gateway feed
(bus subscriber + audit-log catch-up), the HTTP endpoint, the syslog listener and the file
tailers, a task that writes quarantined input and trims it to its retention, and one that
drains the pipeline into the sink. ``stop`` hands everything already admitted to the sink
before it returns.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Sequence
from datetime import timedelta
from pathlib import Path
from typing import Protocol

from menshen.clock import Clock
from menshen.events.bus import EventBus
from menshen.gateway.tls import server_context
from menshen.monitor.ingest.gateway_feed import GatewayFeed
from menshen.monitor.ingest.http_endpoint import IngestEndpoint
from menshen.monitor.ingest.limits import IngestLimits
from menshen.monitor.ingest.mappers.registry import MAPPERS
from menshen.monitor.ingest.pipeline import Pipeline
from menshen.monitor.ingest.reject import EARLIEST
from menshen.monitor.ingest.sink import EventSink
from menshen.monitor.ingest.syslog_server import SyslogListener
from menshen.monitor.ingest.tailer import FileTailer
from menshen.monitor.ingest.transfer import TransferReporter
from menshen.settings import IngestSettings
from menshen.store.api import (
    AuditRepository,
    MonitorCursorRepository,
    MonitorSourceRepository,
    QuarantineRepository,
    SessionRepository,
)
from menshen.store.monitor_ingest import QuarantineRecord
from menshen.store.records import SessionRecord, TenantRecord

__all__ = ["IngestService"]

_log = logging.getLogger(__name__)


class _Tenant(Protocol):
    @property
    def audit(self) -> AuditRepository: ...
    @property
    def monitor_cursors(self) -> MonitorCursorRepository: ...
    @property
    def monitor_sources(self) -> MonitorSourceRepository: ...
    @property
    def monitor_quarantine(self) -> QuarantineRepository: ...
    @property
    def sessions(self) -> SessionRepository: ...


class IngestStore(Protocol):
    def tenant(self, tenant_id: str) -> _Tenant: ...
    def tenants(self) -> Sequence[TenantRecord]: ...


class IngestService:
    def __init__(
        self,
        settings: IngestSettings,
        *,
        store: IngestStore,
        bus: EventBus,
        clock: Clock,
        sink: EventSink,
        data_dir: Path,
        bytes_out: Callable[[], dict[str, int]] | None = None,
        session_of: Callable[[str], SessionRecord | None] | None = None,
    ) -> None:
        self.settings = settings
        self._store = store
        self._bus = bus
        self._clock = clock
        limits = IngestLimits(
            queue=settings.queue,
            rate=settings.rate_per_second,
            burst=settings.burst,
            batch=settings.batch,
            max_line=settings.max_line_bytes,
            max_skew=settings.max_skew_seconds,
        )
        self.pipeline = Pipeline(sink, clock, limits)
        self.feed = GatewayFeed(
            self.pipeline,
            store,
            clock,
            capacity=settings.gateway_handoff,
            reconcile_interval=settings.reconcile_seconds,
        )
        self.endpoint = IngestEndpoint(
            pipeline=self.pipeline,
            lookup=lambda tenant_id, token_hash: store.tenant(
                tenant_id
            ).monitor_sources.by_token_hash(token_hash),
            publish=bus.publish,
            clock=clock,
        )
        self.transfer = None
        if bytes_out is not None and session_of is not None:
            self.transfer = TransferReporter(
                bytes_out, session_of, bus.publish, clock, find_ended=self._find_session
            )
        self.syslog: SyslogListener | None = None
        self.tailers: list[FileTailer] = []
        for index, tail in enumerate(settings.tail):
            state = data_dir / f"tail-{index}-{tail.source}.json"
            self.tailers.append(
                FileTailer(
                    self.pipeline,
                    (tail.tenant, tail.source),
                    tail.path,
                    MAPPERS[tail.format],
                    state,
                    epoch=tail.epoch or EARLIEST,
                    pattern=tail.pattern,
                )
            )
        self._tasks: list[asyncio.Task[None]] = []
        self._unsubscribe: Callable[[], None] | None = None

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        self._unsubscribe = self._bus.subscribe(self.feed)
        syslog = self.settings.syslog
        if syslog is not None:
            tls = None
            if syslog.tls_cert is not None and syslog.tls_key is not None:
                tls = server_context(syslog.tls_cert, syslog.tls_key)
            self.syslog = SyslogListener(self.pipeline, (syslog.tenant, syslog.source), tls=tls)
            await self.syslog.start(syslog.host, syslog.port)
        runs = [self.pipeline.run(), self.feed.run(), self._quarantine_loop()]
        runs += [tailer.run() for tailer in self.tailers]
        if self.transfer is not None:
            runs.append(self.transfer.run())
        self._tasks = [loop.create_task(run, name="monitor-ingest") for run in runs]

    async def stop(self) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        if self.syslog is not None:
            await self.syslog.stop()
        for task in self._tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks.clear()
        if self.transfer is not None:
            await self.transfer.flush()  # published to the audit log; caught up at next start
        self.feed.pump()
        for _ in range(10_000):  # bounded: hand the sink what was admitted
            if not await asyncio.to_thread(self.pipeline.drain_once):
                break
        await asyncio.to_thread(self._write_quarantine, self.pipeline.take_quarantine())

    def _find_session(self, session_id: str) -> SessionRecord | None:
        """A session that ended before its bytes were reported (worker thread)."""
        for tenant in self._store.tenants():
            record = self._store.tenant(tenant.id).sessions.get(session_id)
            if record is not None:
                return record
        return None

    def _write_quarantine(self, records: list[QuarantineRecord]) -> None:
        by_tenant: dict[str, list[QuarantineRecord]] = {}
        for record in records:
            by_tenant.setdefault(record.tenant_id, []).append(record)
        for tenant_id, group in by_tenant.items():
            try:
                self._store.tenant(tenant_id).monitor_quarantine.add_many(group)
            except Exception:
                _log.exception("could not keep %d quarantined records", len(group))

    def _purge(self) -> None:
        before = self._clock.now() - timedelta(days=self.settings.quarantine_days)
        for tenant in self._store.tenants():
            self._store.tenant(tenant.id).monitor_quarantine.purge(
                before=before, keep=self.settings.quarantine_keep
            )

    async def _quarantine_loop(self, interval: float = 1.0) -> None:
        rounds = 0
        while True:
            await asyncio.sleep(interval)
            taken = self.pipeline.take_quarantine()
            if taken:
                await asyncio.to_thread(self._write_quarantine, taken)
            rounds += 1
            if rounds % 3600 == 1:
                try:
                    await asyncio.to_thread(self._purge)
                except Exception:
                    _log.exception("quarantine retention round failed")

    def metrics(self) -> dict[str, dict[str, int]]:
        """Counters per ``tenant/source``, plus the gateway hand-off's drops."""
        table = {f"{t}/{s}": m.snapshot() for (t, s), m in self.pipeline.metrics.items()}
        table["gateway-handoff"] = {
            "dropped": self.feed.dropped,
            "recovered": self.feed.recovered,
            "pending": self.feed.pending,
        }
        return table
