"""What the console's monitoring pages read and change, for the one tenant it serves.

The console is built for one tenant (it verifies assertions with that tenant's gateway
keys), and every read and change here goes through ``store.tenant(tenant_id)`` or the
``IncidentBook`` with that id: an incident, score or action of another tenant is simply not
found (NIST SP 800-207 §2.1 tenet 6, per-resource authorisation; DESIGN.md §5, every query
scoped by tenant). The services are the CLI's own: ``IncidentBook`` and
``incidents.changes`` for incidents, the stored risk scores and ``RiskLedger`` for decay,
``ActionRunner.undo`` for response actions. Blocking (SQL): the pages call these from a
worker thread.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from menshen.app import Platform
from menshen.errors import InvalidInput
from menshen.events.model import AuditEvent
from menshen.monitor.incidents.book import IncidentBook
from menshen.monitor.incidents.model import FindingRef, Incident, IncidentState
from menshen.monitor.model import Entity, EntityKind, Finding, Severity
from menshen.monitor.response.actions import ActionRunner
from menshen.monitor.response.config import risk_rules_of
from menshen.monitor.risk import (
    NEGLIGIBLE,
    Contribution,
    RiskLedger,
    RiskRules,
    contribution,
    decayed,
)
from menshen.store.api import Store
from menshen.store.monitor_response import ResponseActionRecord, RiskScoreRecord

__all__ = ["Contributor", "MonitorDesk", "RiskView", "desk_for"]

Publish = Callable[[AuditEvent], None]
ACTIONS_SHOWN = 200  # the newest actions listed, and searched for an incident's actions


@dataclass(frozen=True, slots=True)
class MonitorDesk:
    """One tenant's monitoring services, wired by the composition root (``console serve``)."""

    tenant_id: str
    store: Store
    incidents: IncidentBook
    risk_rules: RiskRules
    runner: Callable[[Publish], ActionRunner]
    """An action runner publishing its audit events to the given callable (for undo)."""
    audit: Callable[[Sequence[AuditEvent]], None]
    """Writes audit events to the tenant's log at once (blocking)."""

    def list_incidents(
        self, now: datetime, *, days: int, state: IncidentState | None
    ) -> list[Incident]:
        """Incidents detected in the last ``days`` days, newest first, of ``state`` if given."""
        found = self.incidents.list(self.tenant_id, since=now - timedelta(days=days))
        return [item for item in found if state is None or item.state is state]

    def actions(self, limit: int = ACTIONS_SHOWN) -> Sequence[ResponseActionRecord]:
        return self.store.tenant(self.tenant_id).response_actions.list(limit=limit)

    def actions_of(self, incident_id: str) -> list[ResponseActionRecord]:
        """The actions taken for ``incident_id`` among the newest ``ACTIONS_SHOWN``."""
        return [record for record in self.actions() if record.incident_id == incident_id]

    def risks(self, now: datetime) -> list[RiskView]:
        """Every subject with a stored score, decayed to ``now``, highest first."""
        rules = self.risk_rules
        records = self.store.tenant(self.tenant_id).risk_scores.list()
        lookback = rules.half_life * math.log2(1.0 / NEGLIGIBLE)  # older ones no longer count
        recent = self.incidents.list(self.tenant_id, since=now - lookback)
        views = [_view(record, recent, rules, now) for record in records]
        return sorted(views, key=lambda view: (-view.score_now, view.subject))


def desk_for(platform: Platform, tenant_id: str) -> MonitorDesk:
    """The desk for ``tenant_id`` made of the platform's services (as the CLI uses them)."""
    return MonitorDesk(
        tenant_id=tenant_id,
        store=platform.store,
        incidents=platform.incident_book(),
        risk_rules=risk_rules_of(platform.settings.options(tenant_id).monitor),
        runner=platform.undo_runner,
        audit=platform.write_audit,
    )


@dataclass(frozen=True, slots=True)
class Contributor:
    """A finding behind a score: its share when made and what is left of it now (0–100)."""

    incident_id: str
    finding: FindingRef
    points_then: float
    points_now: float


@dataclass(frozen=True, slots=True)
class RiskView:
    subject: str
    stored: float
    stored_at: datetime
    score_now: float
    level_now: str
    below_low_in: timedelta | None
    """How long until the score decays under the tenant's low threshold (None: it is)."""
    contributors: tuple[Contributor, ...]


def _view(
    record: RiskScoreRecord, recent: Sequence[Incident], rules: RiskRules, now: datetime
) -> RiskView:
    subject = _entity(record.subject)
    ledger = RiskLedger(rules)
    score_now = record.score
    if subject is not None:  # the engine's own read-back: one contribution, same half-life
        ledger.restore(subject, record.score, record.updated_at)
        score_now = ledger.score(subject, now)
    below = None
    if score_now >= rules.low:
        below = rules.half_life * math.log2(score_now / rules.low)
    return RiskView(
        subject=record.subject,
        stored=record.score,
        stored_at=record.updated_at,
        score_now=score_now,
        level_now=rules.level(score_now).value,
        below_low_in=below,
        contributors=tuple(_contributors(record.subject, recent, rules, now)),
    )


def _contributors(
    subject: str, recent: Sequence[Incident], rules: RiskRules, now: datetime
) -> list[Contributor]:
    out: list[Contributor] = []
    for incident in recent:
        for ref in incident.findings:
            if (ref.subject or incident.subject) != subject:
                continue
            share = _contribution(incident, ref, rules)
            if share is None:
                continue
            left = decayed(share, now, rules.half_life)
            if left >= NEGLIGIBLE:
                out.append(Contributor(incident.id, ref, share.value * 100, left * 100))
    return sorted(out, key=lambda item: item.finding.at, reverse=True)


def _contribution(incident: Incident, ref: FindingRef, rules: RiskRules) -> Contribution | None:
    entity = _entity(ref.subject or incident.subject)
    try:
        severity = Severity[ref.severity.upper()]
        finding = Finding(
            tenant_id=incident.tenant_id,
            detector=ref.detector,
            subject=entity or Entity(EntityKind.USER, incident.subject),
            at=ref.at,
            severity=severity,
            confidence=ref.confidence,
            summary=ref.summary or ref.detector,
        )
    except (KeyError, InvalidInput):
        return None  # a finding stored by an older release the model no longer reads
    return contribution(finding, rules)


def _entity(subject: str) -> Entity | None:
    kind, _, ident = subject.partition(":")
    try:
        return Entity(EntityKind(kind), ident)
    except ValueError:
        return None
