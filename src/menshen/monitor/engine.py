"""The monitor's engine: events in, findings, risk, playbooks and incidents out.

NIST SP 800-207 §3.3.1 and §2.1 tenet 7 (the enterprise collects information about the
current state and uses it to improve its security posture), NIST SP 800-61r2 §3.2–3.3.
It is the event pipeline's sink (``menshen.monitor.ingest.sink.EventSink``): ``accept``
runs the detectors on each event, folds every finding into its subject's risk score and
writes a user's new score to the ``LiveResponse`` table the guard reads, all before it
returns, so the very next request is judged with the new score. What needs I/O — the
incident, the playbooks' actions, the notifications, the stored score — is queued for the
engine's own task and happens within milliseconds, off the pipeline's path.

The pipeline calls ``accept`` from its worker thread: the risk ledgers sit behind a lock
shared with ``tick`` and ``load``, and the engine's task is woken thread-safely.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections import OrderedDict, deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from menshen.clock import Clock
from menshen.events.model import AuditEvent, Outcome
from menshen.monitor.incidents.book import IncidentBook
from menshen.monitor.model import Entity, EntityKind, Finding, ObservedEvent
from menshen.monitor.response.actions import ActionRunner
from menshen.monitor.response.config import playbooks_of, risk_rules_of
from menshen.monitor.response.kinds import ACTOR, FINDING, INCIDENT_OPENED
from menshen.monitor.response.live import LiveResponse
from menshen.monitor.response.messages import Alert
from menshen.monitor.response.notify import Notifications
from menshen.monitor.response.plan import Fired, finding_key, plan
from menshen.monitor.risk import RiskLedger
from menshen.settings import MonitorOptions
from menshen.store.api import Store
from menshen.store.monitor_response import RiskScoreRecord

__all__ = ["Detect", "MonitorEngine", "no_detectors", "per_tenant"]

_log = logging.getLogger(__name__)

Detect = Callable[[ObservedEvent], Sequence[Finding]]
Publish = Callable[[AuditEvent], None]
MAX_PENDING = 10_000
MAX_NOTIFIED = 10_000
MAX_REMEMBERED = 50_000  # finding keys kept to ignore replays (the store dedupes beyond)


@dataclass(frozen=True, slots=True)
class _Work:
    finding: Finding
    first_event_at: datetime
    score: float
    fired: tuple[Fired, ...]


def no_detectors(event: ObservedEvent) -> Sequence[Finding]:
    return ()


def per_tenant(make: Callable[[str], Detect]) -> Detect:
    """One detector set per tenant (``make(tenant_id)``, built on its first event), e.g.
    ``per_tenant(lambda t: DetectorSet(default_detectors(options), book_of(t)).process)``."""
    sets: dict[str, Detect] = {}

    def detect(event: ObservedEvent) -> Sequence[Finding]:
        run = sets.get(event.tenant_id)
        if run is None:
            run = sets[event.tenant_id] = make(event.tenant_id)
        return run(event)

    return detect


class MonitorEngine:
    def __init__(
        self,
        *,
        store: Store,
        live: LiveResponse,
        actions: ActionRunner,
        notifications: Notifications,
        incidents: IncidentBook,
        options: Callable[[str], MonitorOptions],
        clock: Clock,
        publish: Publish,
        detect: Detect = no_detectors,
    ) -> None:
        self._store = store
        self._live = live
        self._actions = actions
        self._notifications = notifications
        self._incidents = incidents
        self._options = options
        self._clock = clock
        self._publish = publish
        self.detect = detect
        self._ledgers: dict[str, RiskLedger] = {}
        self._pending: deque[_Work] = deque()
        self._wake = asyncio.Event()
        self._idle = asyncio.Event()
        self._idle.set()
        self._task: asyncio.Task[None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._lock = threading.RLock()  # the ledgers: worker thread (accept) vs the loop (tick)
        self._notified: OrderedDict[str, None] = OrderedDict()
        self._seen: OrderedDict[str, None] = OrderedDict()
        self.repeated = 0
        self.events = 0
        self.findings = 0
        self.detector_errors = 0
        self.dropped = 0

    # -- the sink -----------------------------------------------------------------------
    def accept(self, events: Sequence[ObservedEvent]) -> None:
        """Detect, score and queue the response for each event; never raises."""
        for event in events:
            self.events += 1
            try:
                found = self.detect(event)
            except Exception:  # a broken detector must not stop the others or the pipeline
                self.detector_errors += 1
                _log.exception("detection failed on event %s", event.event_id)
                continue
            for finding in found:
                self.consider(finding, first_event_at=event.at)

    def consider(self, finding: Finding, *, first_event_at: datetime) -> float:
        """Score ``finding`` now (the guard sees it at once); queue incident and playbooks.
        A finding seen before (a replayed event) changes nothing."""
        with self._lock:
            return self._consider(finding, first_event_at)

    def _consider(self, finding: Finding, first_event_at: datetime) -> float:
        ledger = self._ledger(finding.tenant_id)
        key = f"{finding.tenant_id}|{finding_key(finding)}"
        if key in self._seen:
            self.repeated += 1
            return ledger.score(finding.subject, finding.at)
        self._seen[key] = None
        while len(self._seen) > MAX_REMEMBERED:
            self._seen.popitem(last=False)
        self.findings += 1
        before = ledger.score(finding.subject, finding.at)
        after = ledger.add(finding)
        if finding.subject.kind is EntityKind.USER:
            self._live.set_risk(finding.tenant_id, finding.subject.id, after)
        playbooks = playbooks_of(self._options(finding.tenant_id))
        fired = tuple(plan(playbooks, finding, before, after))
        if len(self._pending) >= MAX_PENDING:
            self.dropped += 1
            _log.error("monitor response queue full; finding %s not acted on", finding.detector)
            return after
        self._pending.append(_Work(finding, first_event_at, after, fired))
        self._idle.clear()
        self._signal()
        return after

    def _signal(self) -> None:
        """Wake the engine's task, from its loop or from the pipeline's worker thread."""
        loop = self._loop
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if loop is None or running is loop:
            self._wake.set()
        else:
            loop.call_soon_threadsafe(self._wake.set)

    # -- life cycle ---------------------------------------------------------------------
    def load(self, tenant_ids: Sequence[str]) -> None:
        """Read back stored scores and the blocks and step-ups still in force (blocking)."""
        now = self._clock.now()
        for tenant_id in tenant_ids:
            records = self._store.tenant(tenant_id).risk_scores.list()
            with self._lock:
                ledger = self._ledger(tenant_id)
                for record in records:
                    kind, _, ident = record.subject.partition(":")
                    subject = Entity(EntityKind(kind), ident)
                    ledger.restore(subject, record.score, record.updated_at)
                    if subject.kind is EntityKind.USER:
                        self._live.set_risk(tenant_id, ident, ledger.score(subject, now))
        self.sync_containment(tenant_ids)

    def sync_containment(self, tenant_ids: Sequence[str]) -> None:
        """Re-read the blocks and step-up demands in force (blocking; in a worker thread)."""
        now = self._clock.now()
        for tenant_id in tenant_ids:
            before = self._live.writes
            active = self._store.tenant(tenant_id).response_actions.active(now)
            self._actions.restore(tenant_id, list(active), read_after=before)

    def start(self) -> None:
        self._notifications.start()
        if self._task is None:
            self._loop = asyncio.get_running_loop()
            self._task = self._loop.create_task(self._run(), name="monitor")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        await self._notifications.stop()

    async def drain(self) -> None:
        """Wait until every queued finding has been handled (tests, shutdown)."""
        while self._pending or not self._idle.is_set():
            if self._idle.is_set():  # queued from the worker thread after the task went idle:
                await asyncio.sleep(0.001)  # its wake-up is on the way; let the task run
            else:
                await self._idle.wait()

    async def tick(self) -> None:
        """Let scores decay: recompute, publish to the guard, store, forget the negligible."""
        now = self._clock.now()
        self._live.expire_blocks(now)
        with self._lock:
            ledgers = list(self._ledgers.items())
        for tenant_id, ledger in ledgers:
            with self._lock:
                gone = ledger.prune(now)
                for subject in gone:
                    if subject.kind is EntityKind.USER:
                        self._live.set_risk(tenant_id, subject.id, 0.0)
                scores = [(s, ledger.score(s, now)) for s in ledger.subjects()]
                for subject, score in scores:
                    if subject.kind is EntityKind.USER:
                        self._live.set_risk(tenant_id, subject.id, score)
            await asyncio.to_thread(self._save_scores, tenant_id, ledger, scores, gone, now)

    # -- the work -----------------------------------------------------------------------
    async def _run(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self._pending:
                work = self._pending.popleft()
                try:
                    await self._handle(work)
                except Exception:
                    _log.exception("monitor response failed for %s", work.finding.detector)
            self._idle.set()

    async def _handle(self, work: _Work) -> None:
        finding = work.finding
        tenant_id = finding.tenant_id
        self._audit_finding(finding, work.score)
        incident, fresh = await asyncio.to_thread(
            self._incidents.record,
            finding,
            first_event_at=work.first_event_at,
            detected_at=self._clock.now(),
        )
        if fresh:
            self._publish(
                AuditEvent(
                    tenant_id=tenant_id,
                    kind=INCIDENT_OPENED,
                    outcome=Outcome.SUCCESS,
                    at=self._clock.now(),
                    actor=ACTOR,
                    subject=incident.subject,
                    reason=incident.title[:500],
                    details={"incident": incident.id, "severity": incident.severity.name.lower()},
                )
            )
        options = self._options(tenant_id)
        acted = False
        for fired in work.fired:
            taken: list[str] = []
            for planned in fired.actions:
                record = await self._actions.run(tenant_id, planned, incident.id)
                if record is not None:
                    acted = True
                    taken.append(f"{record.action} {record.target} ({record.state})")
            self._notify(fired, options, incident.id, taken)
        if acted:
            await asyncio.to_thread(
                self._incidents.responded, tenant_id, incident.id, self._clock.now()
            )
        ledger = self._ledger(tenant_id)
        await asyncio.to_thread(
            self._save_scores, tenant_id, ledger, [(finding.subject, work.score)], [], finding.at
        )

    def _notify(
        self, fired: Fired, options: MonitorOptions, incident_id: str, taken: list[str]
    ) -> None:
        key = f"{fired.playbook.name}|{finding_key(fired.finding)}"
        if key in self._notified or not fired.playbook.notify:
            return
        self._notified[key] = None
        while len(self._notified) > MAX_NOTIFIED:
            self._notified.popitem(last=False)
        finding = fired.finding
        alert = Alert(
            tenant_id=finding.tenant_id,
            playbook=fired.playbook.name,
            detector=finding.detector,
            subject=str(finding.subject),
            severity=finding.severity.name.lower(),
            confidence=finding.confidence,
            summary=finding.summary,
            at=finding.at,
            score=fired.score,
            level=self._ledger(finding.tenant_id).rules.level(fired.score).value,
            actions=tuple(taken) + fired.skipped,
            observe_only=options.observe_only,
            incident_id=incident_id,
            source_ip=finding.source_ip,
        )
        for name in fired.playbook.notify:
            notifier = options.notifiers.get(name)
            if notifier is not None:
                self._notifications.send(notifier, alert)

    def _audit_finding(self, finding: Finding, score: float) -> None:
        evidence = {key: value for key, value in list(finding.evidence.items())[:20]}
        self._publish(
            AuditEvent(
                tenant_id=finding.tenant_id,
                kind=FINDING,
                outcome=finding.severity.name.lower(),
                at=self._clock.now(),
                actor=ACTOR,
                subject=str(finding.subject),
                ip=finding.source_ip,
                session_id=finding.session_id,
                reason=finding.summary[:500],
                details={
                    "detector": finding.detector,
                    "confidence": finding.confidence,
                    "risk": score,
                    "evidence": evidence,
                    "events": list(finding.event_ids[:20]),
                },
            )
        )

    def _ledger(self, tenant_id: str) -> RiskLedger:
        ledger = self._ledgers.get(tenant_id)
        if ledger is None:
            with self._lock:
                ledger = self._ledgers.get(tenant_id)
                if ledger is None:
                    ledger = RiskLedger(risk_rules_of(self._options(tenant_id)))
                    self._ledgers[tenant_id] = ledger
        return ledger

    def _save_scores(
        self,
        tenant_id: str,
        ledger: RiskLedger,
        scores: Sequence[tuple[Entity, float]],
        gone: Sequence[Entity],
        at: datetime,
    ) -> None:
        repo = self._store.tenant(tenant_id).risk_scores
        for subject, score in scores:
            level = ledger.rules.level(score).value
            repo.put(RiskScoreRecord(tenant_id, str(subject), score, level, at))
        for subject in gone:
            repo.delete(str(subject))
