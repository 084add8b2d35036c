"""Incidents kept in the store: grouping findings as they come, and the admin's changes.

Blocking (SQL); the engine calls ``record`` and ``responded`` from a worker thread, the CLI
calls the rest directly. Each tenant's grouping window comes from its settings.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any

from menshen.errors import NotFound
from menshen.monitor.incidents.model import (
    FindingRef,
    Incident,
    IncidentState,
    Note,
    add_finding,
    matches,
    new_incident,
    responded,
)
from menshen.monitor.model import Finding, Severity
from menshen.store.api import Store
from menshen.store.monitor_response import IncidentRecord

__all__ = ["IncidentBook", "incident_of", "record_of_incident"]


class IncidentBook:
    def __init__(
        self,
        store: Store,
        window: Callable[[str], timedelta],
        new_id: Callable[[], str] = lambda: uuid.uuid4().hex[:16],
    ) -> None:
        self._store = store
        self._window = window
        self._new_id = new_id

    def record(
        self, finding: Finding, *, first_event_at: datetime, detected_at: datetime
    ) -> tuple[Incident, bool]:
        """Add ``finding`` to its open incident, or open one; the incident and if it is new."""
        repo = self._store.tenant(finding.tenant_id).incidents
        window = self._window(finding.tenant_id)
        candidates = [incident_of(r) for r in repo.open_since(finding.at - window)]
        found = [i for i in candidates if matches(i, finding, window)]
        if found:
            current = max(found, key=lambda i: i.last_finding_at)
            incident, fresh = add_finding(current, finding, first_event_at), False
        else:
            incident = new_incident(
                self._new_id(), finding, first_event_at=first_event_at, detected_at=detected_at
            )
            fresh = True
        repo.put(record_of_incident(incident))
        return incident, fresh

    def responded(self, tenant_id: str, incident_id: str, at: datetime) -> Incident:
        return self.change(tenant_id, incident_id, lambda i: responded(i, at))

    def get(self, tenant_id: str, incident_id: str) -> Incident:
        record = self._store.tenant(tenant_id).incidents.get(incident_id)
        if record is None:
            raise NotFound(f"no incident {incident_id!r}")
        return incident_of(record)

    def list(
        self, tenant_id: str, *, since: datetime | None = None, until: datetime | None = None
    ) -> Sequence[Incident]:
        repo = self._store.tenant(tenant_id).incidents
        return [incident_of(r) for r in repo.list(since=since, until=until)]

    def change(
        self, tenant_id: str, incident_id: str, edit: Callable[[Incident], Incident]
    ) -> Incident:
        """Apply ``edit`` (a pure function of ``incidents.model``) and store the result."""
        changed = edit(self.get(tenant_id, incident_id))
        self._store.tenant(tenant_id).incidents.put(record_of_incident(changed))
        return changed


def record_of_incident(incident: Incident) -> IncidentRecord:
    return IncidentRecord(
        tenant_id=incident.tenant_id,
        id=incident.id,
        subject=incident.subject,
        source_ip=incident.source_ip,
        title=incident.title[:1000],
        severity=int(incident.severity),
        state=incident.state.value,
        first_event_at=incident.first_event_at,
        detected_at=incident.detected_at,
        last_finding_at=incident.last_finding_at,
        responded_at=incident.responded_at,
        acknowledged_at=incident.acknowledged_at,
        closed_at=incident.closed_at,
        assignee=incident.assignee,
        findings=[_finding_json(f) for f in incident.findings],
        notes=[
            {"at": n.at.isoformat(), "author": n.author, "text": n.text} for n in incident.notes
        ],
    )


def incident_of(record: IncidentRecord) -> Incident:
    return Incident(
        tenant_id=record.tenant_id,
        id=record.id,
        subject=record.subject,
        source_ip=record.source_ip,
        title=record.title,
        severity=Severity(record.severity),
        state=IncidentState(record.state),
        first_event_at=record.first_event_at,
        detected_at=record.detected_at,
        last_finding_at=record.last_finding_at,
        findings=tuple(_finding_ref(item) for item in record.findings),
        responded_at=record.responded_at,
        acknowledged_at=record.acknowledged_at,
        closed_at=record.closed_at,
        assignee=record.assignee,
        notes=tuple(
            Note(datetime.fromisoformat(n["at"]), str(n["author"]), str(n["text"]))
            for n in record.notes
        ),
    )


def _finding_json(ref: FindingRef) -> dict[str, Any]:
    return {
        "detector": ref.detector,
        "severity": ref.severity,
        "confidence": ref.confidence,
        "summary": ref.summary,
        "at": ref.at.isoformat(),
        "event_ids": list(ref.event_ids),
        "subject": ref.subject,
        "evidence": [[key, value] for key, value in ref.evidence],
    }


def _finding_ref(item: dict[str, Any]) -> FindingRef:
    return FindingRef(
        detector=str(item["detector"]),
        severity=str(item["severity"]),
        confidence=float(item["confidence"]),
        summary=str(item["summary"]),
        at=datetime.fromisoformat(item["at"]),
        event_ids=tuple(str(e) for e in item.get("event_ids", ())),
        subject=str(item.get("subject", "")),
        evidence=tuple((str(pair[0]), str(pair[1])) for pair in item.get("evidence", ())),
    )
